//! The read models. Each file owns its tables, how events fill them, and the queries on them.
//! Column types are the ones both backends accept (`TEXT`, `BIGINT`); ids are hyphenated
//! UUIDs and dates ISO 8601 text, which sort as they should.

mod access_log;
mod benefits;
mod certificates;
mod collection_accounts;
mod elderly_cost_shares;
mod eligibility_periods;
mod households;
mod payment_totals;
mod person_registry;
mod provision_record;
mod retention_dates;
mod tax_assessments;

pub use access_log::{AccessFilter, AccessLog, AccessRow, ACCESS_ROWS_MAX};
pub use benefits::{BenefitRow, Benefits};
pub use certificates::{CertificateRow, Certificates};
pub use collection_accounts::{CollectionAccountRow, CollectionAccounts};
pub use elderly_cost_shares::{ElderlyCostShareRow, ElderlyCostShares};
pub use eligibility_periods::{
    EligibilityPeriodRow, EligibilityPeriods, LateNotificationRow, MoveRow, NotificationKind,
};
pub use households::Households;
pub use payment_totals::{PaymentTotalRow, PaymentTotals};
pub use person_registry::{PersonRegistry, RegistryRow};
pub use provision_record::{Disclosure, ProvisionKind, ProvisionRecord, ProvisionRecordRow, PROVISION_ROWS_MAX};
pub use retention_dates::{PersonRetentionDates, RetentionCutoffs, RetentionDates, RetentionFold};
pub use tax_assessments::{TaxAssessmentRow, TaxAssessments};
