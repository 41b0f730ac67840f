//! Projection lag: how many committed events a projection has not applied yet.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LagLabels {
    pub projection: String,
    pub tenant: String,
}

#[derive(Default)]
pub struct ProjectionMetrics {
    pub lag_events: Family<LagLabels, Gauge>,
}

impl ProjectionMetrics {
    pub fn register(registry: &mut prometheus_client::registry::Registry) -> ProjectionMetrics {
        let metrics = ProjectionMetrics::default();
        Registry::register(
            registry,
            "kokuho_projection_lag_events",
            "Committed events a projection has not applied yet",
            metrics.lag_events.clone(),
        );
        metrics
    }
}
