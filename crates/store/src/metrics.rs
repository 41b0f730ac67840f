//! The store's Prometheus metrics: appends, batch sizes, commit latency, conflicts.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub struct StoreMetrics {
    pub events_appended: Counter,
    pub commands_committed: Counter,
    /// Group commits: one per writer transaction.
    pub commits: Counter,
    pub conflicts: Counter,
    pub batch_commands: Histogram,
    pub commit_seconds: Histogram,
}

impl StoreMetrics {
    /// Metrics that nobody scrapes (tools and tests).
    pub fn unregistered() -> StoreMetrics {
        StoreMetrics {
            events_appended: Counter::default(),
            commands_committed: Counter::default(),
            commits: Counter::default(),
            conflicts: Counter::default(),
            batch_commands: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            commit_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
        }
    }

    pub fn register(registry: &mut Registry) -> StoreMetrics {
        let metrics = StoreMetrics::unregistered();
        registry.register("kokuho_events_appended", "Events appended to the ledger", metrics.events_appended.clone());
        registry.register(
            "kokuho_commands_committed",
            "Commands answered by a commit",
            metrics.commands_committed.clone(),
        );
        registry.register("kokuho_commits", "Group commits (writer transactions)", metrics.commits.clone());
        registry.register(
            "kokuho_append_conflicts",
            "Appends refused for a stale stream version",
            metrics.conflicts.clone(),
        );
        registry.register("kokuho_append_batch_commands", "Commands per group commit", metrics.batch_commands.clone());
        registry.register(
            "kokuho_commit_seconds",
            "Time to write and commit one batch",
            metrics.commit_seconds.clone(),
        );
        metrics
    }

    pub(crate) fn observe_commit(&self, commands: usize, events: i64, elapsed: Duration) {
        self.events_appended.inc_by(events.max(0) as u64);
        self.commands_committed.inc_by(commands as u64);
        self.commits.inc();
        self.batch_commands.observe(commands as f64);
        self.commit_seconds.observe(elapsed.as_secs_f64());
    }
}
