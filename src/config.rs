//! Where the ledger keeps its data, its master key and its checkpoint key.

use std::path::PathBuf;
use std::time::Duration;

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

/// How long a client has to send a request's headers, and how long a kept-alive connection
/// may wait for its next request (seconds).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// How long a request's body may stop arriving (seconds).
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
/// How long a request may take from its headers to its response (seconds); then 408.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;
/// How long a connection's socket may stall — a read or a write waiting on the peer — before
/// the connection is closed (seconds).
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 120;
/// How many connections `serve` holds open at once; further clients wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The bounds `serve` puts on its clients, so that slow or stalled connections cannot hold
/// the server (src/serve.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// A client that has not sent a request's full headers this long after the connection
    /// opened (or after the previous response) is disconnected.
    pub header_read_timeout: Duration,
    /// A request whose body stops arriving (no data) for this long is answered 408.
    pub body_timeout: Duration,
    /// A request not answered this long after its headers is answered 408.
    pub request_timeout: Duration,
    /// A connection whose socket read or write has waited this long on the peer is closed.
    /// hyper keeps a read pending while a handler runs (to notice a client that leaves), so
    /// this stays above `request_timeout`.
    pub idle_timeout: Duration,
    /// At most this many connections are open at once; the next client waits in the listen
    /// backlog until one closes.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

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
    /// The operator's token `/metrics` asks for (`KOKUHO_METRICS_TOKEN`, as a bearer token);
    /// without one `/metrics` is not served: it names every municipality the ledger keeps.
    pub metrics_token: Option<String>,
    /// The bounds `serve` puts on its HTTP clients (`--header-read-timeout`, …).
    pub http: HttpLimits,
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
