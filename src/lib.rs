//! The `kokuho` binary's library half: configuration, wiring of store, ledger, projector and
//! HTTP server, the batch jobs' dependencies (`jobs`), and the benchmark. `main.rs` is only the
//! command line; tests and examples use this crate to start the same application on port 0.

pub mod app;
pub mod bench;
pub mod bench_benefits;
pub mod bench_cli;
pub mod bench_http;
pub mod bench_limits;
pub mod bench_payments;
pub mod bench_scale;
pub mod bench_tax;
pub mod benefits_run;
pub mod config;
pub mod jobs;
pub mod serve;

pub use app::{load_rules, Application, Ledgerd};
pub use config::{CheckpointKeySource, Config, HttpLimits, MasterKeySource};
