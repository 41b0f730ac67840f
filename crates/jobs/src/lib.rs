//! kokuho's batch jobs, out of the binary:
//!
//! - [`eligibility`]: `kokuho eligibility run`, the scheduled age transitions (loss of
//!   eligibility at 75, the 70–74 cost share on its start and every 1 August);
//! - [`retention`]: `kokuho retention run`, erasure at the end of retention.
//!
//! Each job is `run(deps, options, progress) -> Result<Report, JobError>`: it takes what it works
//! on (the ledger, the projector, the store, its rule set) and its options as plain structs,
//! reports how far it has got through `progress`, and returns a report whose `Display` is what
//! the command prints. The command line, the progress bar and the wiring stay in the binary.

pub mod assessment;
pub mod benefits;
pub mod eligibility;
pub mod retention;

use kokuho_ledger::LedgerError;
use kokuho_projections::ProjectionError;
use kokuho_store::StoreError;

/// How far a job has got: `done` of `total` items (persons). `total` may grow as the job finds
/// more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Why a job stopped. Shown with its sources (`{:#}` through `anyhow`), it says what the job was
/// doing and what failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The options ask for something the job does not do (say, a day after today).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// One of the job's tasks panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// What the job was doing when `source` failed.
    #[error("{what}")]
    During {
        what: String,
        #[source]
        source: Box<JobError>,
    },
}

/// Says what a job was doing when an error happened (as `anyhow::Context` does).
pub(crate) trait Context<T> {
    fn context(self, what: &str) -> Result<T, JobError>;
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, JobError>;
}

impl<T, E: Into<JobError>> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, JobError> {
        self.with_context(|| what.to_owned())
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, JobError> {
        self.map_err(|error| JobError::During { what: what(), source: Box::new(error.into()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_what_the_job_was_doing_then_what_failed() {
        let failed: Result<(), StoreError> = Err(StoreError::Corrupt("a page".into()));
        let error = failed.context("bringing the projections up to date").unwrap_err();
        assert_eq!(error.to_string(), "bringing the projections up to date");
        let source = std::error::Error::source(&error).expect("the failure");
        assert_eq!(source.to_string(), "stored data is damaged: a page");
    }
}
