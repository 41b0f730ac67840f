//! Pure decisions of the kokuho ledger: newtypes, commands, `decide`/`evolve` per aggregate.
//!
//! Nothing here does I/O or reads a clock: time, rules and lookups arrive through a
//! [`Context`]. Every refusal is a [`Rejection`] with data and a stable snake_case code that the
//! HTTP layer passes on unchanged.

pub mod aggregate;
pub mod benefits;
pub mod calendar;
pub mod checks;
pub mod collection;
pub mod eligibility;
pub mod household;
pub mod ids;
pub mod money;
pub mod my_number;
pub mod my_number_link;
pub mod person;
pub mod provision;
mod rejection;
pub mod rule_check;
pub mod sensitivity;
pub mod share;
pub mod tax;

pub use aggregate::{Aggregate, Refusal, RejectionKind};
pub use calendar::FiscalYear;
pub use ids::{PersonId, TenantCode, TenantCodeError};
pub use money::Yen;
pub use rejection::Rejection;

use std::sync::Arc;

use chrono::NaiveDate;
use eligibility::EligibilityRules;

/// What a decision may know besides the aggregate's state and the command.
#[derive(Debug, Clone)]
pub struct Context {
    /// Today in Japan (the ledger's civil date), from the caller's clock.
    pub today: NaiveDate,
    /// The eligibility rule settings in force.
    pub rules: Arc<EligibilityRules>,
    /// For a registration: the person already registered with the same 宛名番号, if any (the
    /// ledger looks it up in the person registry once it shows everything committed).
    pub atena_no_registered_to: Option<PersonId>,
}

impl Context {
    /// A context with the national rule figures (tests, tools).
    pub fn national(today: NaiveDate) -> Context {
        Context { today, rules: Arc::new(EligibilityRules::national_defaults()), atena_no_registered_to: None }
    }
}
