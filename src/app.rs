//! Wiring: open the database, migrate, start the store, ledger and projector, serve HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use kokuho_api::AppState;
use kokuho_auth::{PasswordHasher, SessionPolicy};
use kokuho_ledger::policies::{Policies, PolicyMetrics};
use kokuho_ledger::{Clock, EligibilityRuleSet, Ledger};
use kokuho_projections::{ProjectionMetrics, Projector};
use kokuho_rules::Rules;
use kokuho_staff::Staff;
use kokuho_store::{Db, EventStore, StoreMetrics};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Config;

/// The running ledger without HTTP: what `serve`, `bench` and the tests share.
pub struct Ledgerd {
    pub store: EventStore,
    pub staff: Arc<Staff>,
    pub ledger: Arc<Ledger>,
    pub projector: Arc<Projector>,
    /// The reactions that follow the ledger; their follower also drives the projector.
    pub policies: Arc<Policies>,
    pub registry: Arc<Registry>,
    /// The rule files in force (`rules/`, replaced by an operator's override folder).
    pub rules: Arc<Rules>,
    /// The provision allow-list and the citizen view's names (`rules/provision/`).
    pub provision: Arc<kokuho_api::ProvisionSettings>,
    /// The municipality's checkpoint signing key.
    pub checkpoint_key: Arc<kokuho_store::CheckpointKey>,
    /// SHA-256 of the operator's `/metrics` token, when one is configured.
    metrics_token: Option<[u8; 32]>,
    /// The per-client rate limits of sign-ins and citizens' challenges, shared by every
    /// [`Ledgerd::state`].
    pub limiters: Arc<kokuho_api::ClientLimiters>,
    checkpoint_every: std::time::Duration,
    follower: Option<(watch::Sender<bool>, JoinHandle<()>)>,
    publisher: Option<JoinHandle<()>>,
}

/// The rule files in force: those shipped with this build, each replaced by the file of the same
/// path in `dir` (`--rules-dir`, `KOKUHO_RULES_DIR`; see `rules/README.md`), and the provision
/// files by those of `KOKUHO_PROVISION_RULES_DIR` (the older way to replace them) when it is set.
pub fn load_rules(dir: Option<&Path>) -> anyhow::Result<Rules> {
    let mut rules = Rules::load(dir).context("loading the rule files")?;
    if let Some(provision_dir) = std::env::var_os("KOKUHO_PROVISION_RULES_DIR") {
        kokuho_api::ProvisionSettings::overlay_folder(&mut rules, Path::new(&provision_dir))
            .context("loading the provision rules")?;
    }
    Ok(rules)
}

/// The override folder named by `KOKUHO_RULES_DIR`, if any.
pub fn rules_dir_from_env() -> Option<PathBuf> {
    std::env::var_os("KOKUHO_RULES_DIR").filter(|dir| !dir.is_empty()).map(PathBuf::from)
}

impl Ledgerd {
    /// Opens (and migrates) the database with the rule files of `KOKUHO_RULES_DIR` (see
    /// [`load_rules`]); does not start following yet. The store stamps `recorded_at` with
    /// `clock` and the ledger decides with it.
    pub async fn open(config: &Config, clock: Clock) -> anyhow::Result<Ledgerd> {
        let rules = load_rules(rules_dir_from_env().as_deref())?;
        Ledgerd::open_with_rules(config, clock, rules).await
    }

    /// Opens (and migrates) the database, deciding under `rules`; does not start following yet.
    pub async fn open_with_rules(config: &Config, clock: Clock, rules: Rules) -> anyhow::Result<Ledgerd> {
        // Rules are data: a broken rule file stops startup here rather than failing a request.
        let eligibility = EligibilityRuleSet::from_rules(&rules).context("loading the eligibility rules")?;
        let provision =
            Arc::new(kokuho_api::ProvisionSettings::from_rules(&rules).context("loading the provision rules")?);
        rules.check_tax().context("loading the tax rules")?;
        rules.check_benefits().context("loading the benefit rules")?;
        rules.check_collection().context("loading the collection rules")?;
        let db = Db::connect(&config.database_url).await.context("opening the database")?;
        db.migrate().await.context("applying migrations")?;
        let master_key = Arc::new(config.master_key.load()?);
        let checkpoint_key = Arc::new(config.checkpoint_key.load()?);
        let mut registry = Registry::default();
        // One clock for the store's `recorded_at` and the ledger's decisions.
        let mut store =
            EventStore::new(db, master_key.clone(), StoreMetrics::register(&mut registry)).with_clock(clock.clone());
        if !config.merkle_tree {
            store = store.without_merkle_tree();
        }
        let projector = Arc::new(Projector::new(
            store.clone(),
            kokuho_projections::all(),
            ProjectionMetrics::register(&mut registry),
        ));
        projector.prepare().await.context("preparing projection tables")?;
        // A ledger written before the Merkle tree existed gets its tree now (once).
        for tenant in store.tenants().await? {
            store.catch_up_tree(tenant).await.with_context(|| format!("building the Merkle tree of {tenant}"))?;
        }
        let ledger = Arc::new(
            Ledger::new(store.clone(), clock)
                .with_rules(eligibility)
                .with_allow_list(Arc::new(provision.allow_list.clone()))
                .with_tax_rules(rules.clone())
                .with_projector(projector.clone()),
        );
        let policies = Arc::new(Policies::new(
            ledger.clone(),
            projector.clone(),
            kokuho_ledger::policies::all(),
            PolicyMetrics::register(&mut registry),
        ));
        let staff = Arc::new(
            Staff::new(ledger.clone(), master_key, PasswordHasher::new())
                .with_policies(SessionPolicy::default(), config.limits.sign_in_backoff),
        );
        Ok(Ledgerd {
            store,
            staff,
            ledger,
            projector,
            policies,
            registry: Arc::new(registry),
            rules: Arc::new(rules),
            provision,
            checkpoint_key,
            metrics_token: config.metrics_token.as_deref().map(kokuho_api::metrics_token_digest),
            limiters: Arc::new(kokuho_api::ClientLimiters::new(&config.limits)),
            checkpoint_every: std::time::Duration::from_secs(60 * config.checkpoint_minutes.max(1)),
            follower: None,
            publisher: None,
        })
    }

    /// Whether any staff account exists (if not, `serve` says how to create the first one).
    pub async fn has_staff(&self) -> anyhow::Result<bool> {
        let count: i64 = kokuho_store::on_db!(self.store.db(), pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM staff_users").fetch_one(pool).await?
        });
        Ok(count > 0)
    }

    /// Keeps projections, then policies, caught up in the background until
    /// [`Ledgerd::shutdown`]: the one task of the process that writes projection tables.
    pub fn start_following(&mut self) {
        if self.follower.is_none() {
            let (stop, stopped) = watch::channel(false);
            // From now on only the follower writes projections; readers wait for it.
            self.projector.set_followed();
            let task = tokio::spawn(self.policies.clone().follow(stopped));
            self.follower = Some((stop, task));
        }
    }

    /// Publishes a signed checkpoint of every ledger that grew, now and then every
    /// `checkpoint_minutes`, until [`Ledgerd::shutdown`] (published checkpoints are kept).
    pub fn start_publishing(&mut self) {
        if self.publisher.is_none() {
            let store = self.store.clone();
            let key = self.checkpoint_key.clone();
            let every = self.checkpoint_every;
            self.publisher = Some(tokio::spawn(async move {
                loop {
                    if let Err(error) = publish_all(&store, &key).await {
                        tracing::error!(%error, "publishing checkpoints failed; trying again at the next period");
                    }
                    tokio::time::sleep(every).await;
                }
            }));
        }
    }

    pub fn state(&self) -> AppState {
        AppState {
            store: self.store.clone(),
            ledger: self.ledger.clone(),
            projector: self.projector.clone(),
            policies: self.policies.clone(),
            registry: self.registry.clone(),
            staff: self.staff.clone(),
            provision: self.provision.clone(),
            checkpoint_key: self.checkpoint_key.clone(),
            metrics_token: self.metrics_token,
            limiters: self.limiters.clone(),
        }
    }

    /// Lets queued commands commit, stops following, closes the database.
    pub async fn shutdown(mut self) {
        if let Some(publisher) = self.publisher.take() {
            publisher.abort();
        }
        self.store.shutdown().await;
        if let Some((stop, task)) = self.follower.take() {
            let _ = stop.send(true);
            let _ = task.await;
        }
        self.store.db().close().await;
    }
}

/// Publishes a checkpoint of every tenant's ledger whose tree grew since its latest one.
pub async fn publish_all(
    store: &EventStore,
    key: &kokuho_store::CheckpointKey,
) -> anyhow::Result<Vec<kokuho_store::PublishedCheckpoint>> {
    let mut published = Vec::new();
    for tenant in store.tenants().await? {
        published.push(store.publish_checkpoint(tenant, key).await?);
    }
    Ok(published)
}

/// The HTTP server on a bound listener (port 0 in tests).
pub struct Application {
    ledgerd: Ledgerd,
    listener: TcpListener,
    limits: crate::config::HttpLimits,
}

impl Application {
    /// With the rule files of `KOKUHO_RULES_DIR` (see [`load_rules`]).
    pub async fn build(config: &Config, bind: SocketAddr, clock: Clock) -> anyhow::Result<Application> {
        let rules = load_rules(rules_dir_from_env().as_deref())?;
        Application::build_with_rules(config, bind, clock, rules).await
    }

    pub async fn build_with_rules(
        config: &Config,
        bind: SocketAddr,
        clock: Clock,
        rules: Rules,
    ) -> anyhow::Result<Application> {
        let mut ledgerd = Ledgerd::open_with_rules(config, clock, rules).await?;
        ledgerd.start_following();
        ledgerd.start_publishing();
        let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        Ok(Application { ledgerd, listener, limits: config.http.clone() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn ledgerd(&self) -> &Ledgerd {
        &self.ledgerd
    }

    /// Serves until `stop` resolves, then finishes in-flight requests and commits; slow clients
    /// are bounded by the configuration's [`HttpLimits`](crate::config::HttpLimits).
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let router = kokuho_api::router(self.ledgerd.state());
        crate::serve::serve(self.listener, router, &self.limits, stop).await?;
        self.ledgerd.shutdown().await;
        Ok(())
    }
}
