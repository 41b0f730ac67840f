//! Where the ledger keeps its data and its master key.

use std::path::PathBuf;

use anyhow::Context as _;
use kokuho_vault::MasterKey;

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kokuho.db";
/// The development key file used when no master key is configured.
pub const DEFAULT_MASTER_KEY_FILE: &str = "kokuho.master.key";

#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// 64 hex digits (from `KOKUHO_MASTER_KEY`).
    Hex(String),
    /// A file holding 64 hex digits; created with a fresh key when missing (development only).
    File(PathBuf),
    /// A random key that lives as long as the process (tests, benchmarks on throwaway data).
    Ephemeral,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub master_key: MasterKeySource,
}

impl MasterKeySource {
    pub fn load(&self) -> anyhow::Result<MasterKey> {
        match self {
            MasterKeySource::Hex(text) => MasterKey::from_hex(text).context("KOKUHO_MASTER_KEY"),
            MasterKeySource::Ephemeral => Ok(MasterKey::ephemeral()),
            MasterKeySource::File(path) => {
                let (key, generated) = MasterKey::load_or_generate(path)?;
                if generated {
                    tracing::warn!(
                        path = %path.display(),
                        fingerprint = key.fingerprint(),
                        "generated a development master key; production keeps its master key outside \
                         the database host and passes it as KOKUHO_MASTER_KEY"
                    );
                }
                Ok(key)
            }
        }
    }
}
