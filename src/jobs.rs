//! The batch jobs of `kokuho-jobs` on a [`Ledgerd`]: what each job works on, taken from the
//! running ledger. `main.rs` draws the progress bar and prints the report; tests and tools run the
//! jobs in process through [`eligibility_run::run`] and [`retention::run`].

use std::path::Path;

use kokuho_jobs::retention::RetentionRules;
use kokuho_rules::RuleError;

use crate::Ledgerd;

impl Ledgerd {
    /// What `kokuho eligibility run` works on (the eligibility rules are the ledger's).
    pub fn eligibility_deps(&self) -> kokuho_jobs::eligibility::Deps {
        kokuho_jobs::eligibility::Deps {
            ledger: self.ledger.clone(),
            projector: self.projector.clone(),
            store: self.store.clone(),
        }
    }

    /// What `kokuho assessment run` and `kokuho rules diff` work on (the tax rules are the
    /// ledger's).
    pub fn assessment_deps(&self) -> kokuho_jobs::assessment::Deps {
        kokuho_jobs::assessment::Deps {
            ledger: self.ledger.clone(),
            projector: self.projector.clone(),
            store: self.store.clone(),
        }
    }

    /// What `kokuho retention run` works on, erasing under `rules`.
    pub fn retention_deps(&self, rules: RetentionRules) -> kokuho_jobs::retention::Deps {
        kokuho_jobs::retention::Deps {
            ledger: self.ledger.clone(),
            projector: self.projector.clone(),
            store: self.store.clone(),
            rules,
        }
    }

    /// The retention rules of a run: the file `path` (`--rules FILE`) when named, else the
    /// `retention.toml` of the rules in force (an override's, or the one built in).
    pub fn retention_rules(&self, path: Option<&Path>) -> Result<RetentionRules, RuleError> {
        match path {
            Some(path) => RetentionRules::load(Some(path)),
            None => RetentionRules::from_rules(&self.rules),
        }
    }
}

/// `kokuho eligibility run` in process.
pub mod eligibility_run {
    pub use kokuho_jobs::eligibility::{
        elderly_share_decision_days, EligibilityRunReport, Refusal, RunOptions, ACTOR, LOSS_LEGAL_BASIS, LOSS_SOURCE,
    };
    pub use kokuho_jobs::{JobError, Progress};

    use crate::Ledgerd;

    /// [`kokuho_jobs::eligibility::run`] on `ledgerd`, reporting progress as (done, total).
    pub async fn run(
        ledgerd: &Ledgerd,
        options: &RunOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<EligibilityRunReport, JobError> {
        let deps = ledgerd.eligibility_deps();
        kokuho_jobs::eligibility::run(&deps, options, &mut |at: Progress| progress(at.done, at.total)).await
    }
}

/// `kokuho retention run` in process.
pub mod retention {
    pub use kokuho_jobs::retention::{
        Erasure, RetentionEnd, RetentionPeriod, RetentionReport, RetentionRules, RunOptions, BUILT_IN_RULES,
    };
    pub use kokuho_jobs::{JobError, Progress};

    use crate::Ledgerd;

    /// [`kokuho_jobs::retention::run`] on `ledgerd` under `rules`, reporting progress as
    /// (done, total).
    pub async fn run(
        ledgerd: &Ledgerd,
        rules: &RetentionRules,
        options: &RunOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RetentionReport, JobError> {
        let deps = ledgerd.retention_deps(rules.clone());
        kokuho_jobs::retention::run(&deps, options, &mut |at: Progress| progress(at.done, at.total)).await
    }
}
