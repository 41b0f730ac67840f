//! NHI tax (国民健康保険税): the rules of a fiscal year, the assessment of a household, and the
//! aggregate that records assessments and reassessments (docs/domain.md §5).

pub mod assessment;
pub mod calc;
pub mod input;
pub mod rate;
pub mod rules;

#[cfg(test)]
mod examples;

pub use assessment::{AssessmentId, LoadedTaxRules, TaxAssessment, TaxCommand, TaxLookups, TaxRejection, TaxState};
pub use calc::{assess, Assessment, AssessmentError, HouseholdInput, MemberInput, Months};
pub use rate::{Fraction, Rate};
pub use rules::{CityRates, NationalTax, Part, TaxRules, TaxRulesError};
