//! Where the ledger keeps its data, its master key and its checkpoint key.

use std::path::PathBuf;

use anyhow::Context as _;
use kokuho_store::CheckpointKey;
use kokuho_vault::MasterKey;

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kokuho.db";
/// The development key file used when no master key is configured.
pub const DEFAULT_MASTER_KEY_FILE: &str = "kokuho.master.key";
/// The development checkpoint key file used when no checkpoint key is configured.
pub const DEFAULT_CHECKPOINT_KEY_FILE: &str = "kokuho.checkpoint.key";
/// How often `serve` publishes a checkpoint of every ledger that grew (minutes).
pub const DEFAULT_CHECKPOINT_MINUTES: u64 = 10;

/// Where the municipality's checkpoint signing key (Ed25519) comes from: like the master key,
/// never from the database.
#[derive(Debug, Clone)]
pub enum CheckpointKeySource {
    /// 64 hex digits, the Ed25519 seed (from `KOKUHO_CHECKPOINT_KEY`).
    Hex(String),
    /// A file holding 64 hex digits; created with a fresh key when missing (development only).
    File(PathBuf),
    /// A random key that lives as long as the process (benchmarks on throwaway data).
    Ephemeral,
}

impl CheckpointKeySource {
    pub fn load(&self) -> anyhow::Result<CheckpointKey> {
        match self {
            CheckpointKeySource::Hex(text) => CheckpointKey::from_hex(text).context("KOKUHO_CHECKPOINT_KEY"),
            CheckpointKeySource::Ephemeral => Ok(CheckpointKey::ephemeral()),
            CheckpointKeySource::File(path) => {
                let (key, generated) = CheckpointKey::load_or_generate(path)?;
                if generated {
                    tracing::warn!(
                        path = %path.display(),
                        "generated a development checkpoint key; production keeps the municipality's \
                         checkpoint key outside the database host and passes it as KOKUHO_CHECKPOINT_KEY"
                    );
                }
                Ok(key)
            }
        }
    }
}

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
    /// The key that signs checkpoints (`KOKUHO_CHECKPOINT_KEY`, `--checkpoint-key-file`).
    pub checkpoint_key: CheckpointKeySource,
    /// `serve` publishes a checkpoint of each ledger that grew this often (minutes, ≥ 1).
    pub checkpoint_minutes: u64,
    /// Whether the writers maintain the Merkle tree: always, except `kokuho bench
    /// --without-merkle-tree`, the reference run that measures what the tree costs.
    pub merkle_tree: bool,
    /// The limits on sign-ins and citizens' challenges (`kokuho serve --sign-in-rate`,
    /// `--challenge-rate`, `--sign-in-free-failures`, `--account-free-failures`,
    /// `--sign-in-max-wait`); the defaults are `Limits::default()`, documented in docs/security.md.
    pub limits: kokuho_api::Limits,
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
