//! Where the ledger keeps its data, its master key and its checkpoint key.

use std::path::PathBuf;

use anyhow::Context as _;
use kokuho_api::Limits;
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

/// The `kokuho serve` flags of the limits on what anyone may ask without signing in
/// (docs/security.md §5); their defaults are [`Limits::default`].
#[derive(clap::Args, Clone)]
pub struct LimitArgs {
    /// Staff sign-ins and enrolment steps per client network: N/s, N/min or N/h (N at once,
    /// then N per unit). Raise it for an office whose staff share one address.
    #[arg(long, env = "KOKUHO_SIGN_IN_RATE", default_value_t = Limits::default().sign_in_per_client)]
    sign_in_rate: kokuho_auth::RateLimit,
    /// Citizens' sign-in challenges per client network (N/s, N/min or N/h).
    #[arg(long, env = "KOKUHO_CHALLENGE_RATE", default_value_t = Limits::default().challenges_per_client)]
    challenge_rate: kokuho_auth::RateLimit,
    /// Failed sign-ins of one login from one client network within an hour before each further
    /// try waits (1 s, doubling with each failure).
    #[arg(long, env = "KOKUHO_SIGN_IN_FREE_FAILURES",
          default_value_t = Limits::default().sign_in_backoff.per_client.free_failures)]
    sign_in_free_failures: u32,
    /// Failed sign-ins of one login from all clients together within an hour before every
    /// client's next try waits; keep it well above what one client can reach (docs/security.md).
    #[arg(long, env = "KOKUHO_ACCOUNT_FREE_FAILURES",
          default_value_t = Limits::default().sign_in_backoff.per_account.free_failures)]
    account_free_failures: u32,
    /// The longest a sign-in waits in back-off (seconds).
    #[arg(long, env = "KOKUHO_SIGN_IN_MAX_WAIT", value_parser = clap::value_parser!(u32).range(1..=86_400),
          default_value_t = Limits::default().sign_in_backoff.per_client.max_wait.num_seconds() as u32)]
    sign_in_max_wait: u32,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        let defaults = Limits::default().sign_in_backoff;
        let max_wait = chrono::TimeDelta::seconds(self.sign_in_max_wait.into());
        Limits {
            sign_in_per_client: self.sign_in_rate,
            challenges_per_client: self.challenge_rate,
            sign_in_backoff: kokuho_auth::SignInBackoff {
                per_client: kokuho_auth::BackoffPolicy {
                    free_failures: self.sign_in_free_failures,
                    max_wait,
                    ..defaults.per_client
                },
                per_account: kokuho_auth::BackoffPolicy {
                    free_failures: self.account_free_failures,
                    max_wait,
                    ..defaults.per_account
                },
            },
        }
    }
}
