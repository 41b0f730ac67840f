//! The tax assessment aggregate: one stream per household and fiscal year,
//! `tax-<household>-<fiscal year>`, holding the assessment (賦課), its corrections (更正) and the
//! corrections held because the year is past the correction period.
//!
//! The ledger gathers what the calculation needs ([`TaxLookups`]: the household as the year
//! saw it, its members' incomes and facts, the rules of the year); `decide` runs the pure
//! [`assess`] and compares it with what was issued.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use kokuho_events::{
    LedgerEvent, Personal, TaxAssessed, TaxFigures, TaxInstallment, TaxPartAmount, TaxReassessed, TaxReassessmentHeld,
};
use serde::Serialize;
use uuid::Uuid;

use super::calc::{assess, Assessment, AssessmentError, HouseholdInput};
use super::rules::TaxRules;
use crate::{Aggregate, FiscalYear, Refusal, RejectionKind};

/// A household's tax of one fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssessmentId {
    pub household_id: Uuid,
    pub fiscal_year: i32,
}

impl fmt::Display for AssessmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.household_id, self.fiscal_year)
    }
}

/// The stream of a household's tax for a fiscal year.
pub fn stream_id(id: AssessmentId) -> String {
    format!("tax-{}-{}", id.household_id, id.fiscal_year)
}

/// One entry of the history: what was recorded, when it applies and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxRecord {
    /// `assessed`, `reassessed` or `held`.
    pub kind: &'static str,
    pub total_yen: i64,
    pub difference_yen: i64,
    pub reason: Option<String>,
    pub figures: TaxFigures,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaxState {
    /// The figures in force: the assessment or its latest correction.
    pub current: Option<TaxFigures>,
    pub taxpayer: Option<Uuid>,
    /// The latest correction held for a person to decide (past the correction period).
    pub held: Option<TaxFigures>,
    pub history: Vec<TaxRecord>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub enum TaxCommand {
    /// 本算定: assess the year, once; a household already assessed records nothing.
    Assess,
    /// 更正: compute again and record the difference, if any.
    Reassess { reason: String, triggered_by: Option<i64> },
}

/// The rules of the year as the ledger loaded them.
#[derive(Debug, Clone)]
pub struct LoadedTaxRules {
    pub rules: Arc<TaxRules>,
    pub file: String,
    pub sha256: String,
    pub national_sha256: String,
}

/// What a tax decision looks up: today, the household of the year, and the rules.
#[derive(Debug, Clone)]
pub struct TaxLookups {
    pub today: NaiveDate,
    pub input: Result<HouseholdInput, TaxRejection>,
    pub rules: Result<LoadedTaxRules, TaxRejection>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxRejection {
    #[error("household {household_id} is not recorded")]
    HouseholdNotFound { household_id: Uuid },
    #[error("no member of the household is insured in fiscal year {fiscal_year}")]
    NobodyInsured { fiscal_year: i32 },
    #[error("the tax rules cannot be used: {reason}")]
    RulesUnavailable { reason: String },
    #[error("fiscal_year must be from {earliest} to {latest}")]
    FiscalYearOutOfRange { earliest: i32, latest: i32 },
    #[error("the household's tax for fiscal year {fiscal_year} has not been assessed: assess it first")]
    NotAssessed { fiscal_year: i32 },
    #[error("a member's date of birth is not available")]
    DateOfBirthUnknown { person_id: Uuid },
    #[error("the asset levy (資産割) needs each member's 固定資産税額, which the ledger does not record")]
    AssetLevyUnsupported,
    #[error("an income figure is out of range")]
    AmountOutOfRange,
    #[error("the head of household is not among its members in the year")]
    HeadNotMember,
}

impl Refusal for TaxRejection {
    fn code(&self) -> &'static str {
        match self {
            TaxRejection::HouseholdNotFound { .. } => "household_not_found",
            TaxRejection::NobodyInsured { .. } => "nobody_insured",
            TaxRejection::RulesUnavailable { .. } => "tax_rules_unavailable",
            TaxRejection::FiscalYearOutOfRange { .. } => "fiscal_year_out_of_range",
            TaxRejection::NotAssessed { .. } => "not_assessed",
            TaxRejection::DateOfBirthUnknown { .. } => "date_of_birth_unknown",
            TaxRejection::AssetLevyUnsupported => "asset_levy_unsupported",
            TaxRejection::AmountOutOfRange => "amount_out_of_range",
            TaxRejection::HeadNotMember => "head_not_member",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            TaxRejection::HouseholdNotFound { .. } => RejectionKind::NotFound,
            TaxRejection::NobodyInsured { .. }
            | TaxRejection::NotAssessed { .. }
            | TaxRejection::RulesUnavailable { .. }
            | TaxRejection::AssetLevyUnsupported
            | TaxRejection::DateOfBirthUnknown { .. }
            | TaxRejection::HeadNotMember => RejectionKind::Conflict,
            TaxRejection::FiscalYearOutOfRange { .. } | TaxRejection::AmountOutOfRange => RejectionKind::Invalid,
        }
    }
}

impl From<AssessmentError> for TaxRejection {
    fn from(error: AssessmentError) -> TaxRejection {
        match error {
            AssessmentError::NobodyInsured(fiscal_year) => TaxRejection::NobodyInsured { fiscal_year },
            AssessmentError::HeadNotMember => TaxRejection::HeadNotMember,
            AssessmentError::AmountOutOfRange => TaxRejection::AmountOutOfRange,
        }
    }
}

/// The earliest fiscal year the ledger assesses.
pub const EARLIEST_FISCAL_YEAR: i32 = 2000;

/// Checks `fiscal_year` against today: from 2000 to the current one (a later year's incomes are
/// not known yet: every household would count as undeclared).
pub fn check_fiscal_year(fiscal_year: i32, today: NaiveDate) -> Result<(), TaxRejection> {
    let latest = FiscalYear::containing(today).year();
    if !(EARLIEST_FISCAL_YEAR..=latest).contains(&fiscal_year) {
        return Err(TaxRejection::FiscalYearOutOfRange { earliest: EARLIEST_FISCAL_YEAR, latest });
    }
    Ok(())
}

/// Computes the assessment the lookups give, with the clear figures an event records.
pub fn compute(lookups: &TaxLookups) -> Result<(Assessment, TaxFigures), TaxRejection> {
    let input = lookups.input.clone()?;
    let rules = lookups.rules.clone()?;
    refuse_asset_levy(&rules.rules)?;
    let assessment = assess(&input, &rules.rules)?;
    let figures = figures_of(&assessment, &rules);
    Ok((assessment, figures))
}

/// The assessment a correction of `state` would record, or `None` when nothing differs (the
/// amounts, the reduction and the taxpayer as issued). What `rules diff` lists is exactly this.
pub fn correction(
    id: AssessmentId,
    state: &TaxState,
    lookups: &TaxLookups,
) -> Result<Option<(Assessment, TaxFigures)>, TaxRejection> {
    let Some(current) = &state.current else {
        return Err(TaxRejection::NotAssessed { fiscal_year: id.fiscal_year });
    };
    let (assessment, figures) = match compute(lookups) {
        // Nobody is insured in the year any more (a retroactive loss): the tax is 0.
        Err(TaxRejection::NobodyInsured { .. }) => {
            let taxpayer = state.taxpayer.unwrap_or(id.household_id);
            nothing_due(id.fiscal_year, taxpayer, lookups)?
        }
        other => other?,
    };
    // A new taxpayer (a change of head) is a correction even with the same amounts.
    if same_amounts(current, &figures) && state.taxpayer == Some(assessment.taxpayer) {
        return Ok(None);
    }
    Ok(Some((assessment, figures)))
}

/// The ledger records no 固定資産税額: a city levying on assets (4方式) cannot be assessed.
pub fn refuse_asset_levy(rules: &TaxRules) -> Result<(), TaxRejection> {
    if rules.parts().any(|(_, rates)| rates.asset_rate.is_some_and(|rate| !rate.is_zero())) {
        return Err(TaxRejection::AssetLevyUnsupported);
    }
    Ok(())
}

/// The assessment of a year in which nobody is insured: every part 0, no installments.
fn nothing_due(
    fiscal_year: i32,
    taxpayer: Uuid,
    lookups: &TaxLookups,
) -> Result<(Assessment, TaxFigures), TaxRejection> {
    let rules = lookups.rules.clone()?;
    let assessment = Assessment {
        fiscal_year,
        taxpayer,
        method: rules.rules.city.method().to_owned(),
        parts: rules
            .rules
            .parts()
            .map(|(part, rates)| super::calc::PartAssessment {
                part,
                income_levy: 0,
                asset_levy: 0,
                per_capita: 0,
                per_household: 0,
                before_limit: 0,
                limit: rates.limit,
                capped: false,
                months: 0,
                by_month: vec![0; 12],
                amount: 0,
            })
            .collect(),
        total: 0,
        test: None,
        reductions: Vec::new(),
        members: Vec::new(),
        installments: Vec::new(),
    };
    let figures = figures_of(&assessment, &rules);
    Ok((assessment, figures))
}

/// The clear figures of an assessment.
pub fn figures_of(assessment: &Assessment, rules: &LoadedTaxRules) -> TaxFigures {
    TaxFigures {
        total_yen: assessment.total,
        parts: assessment
            .parts
            .iter()
            .map(|part| TaxPartAmount {
                part: part.part.key().to_owned(),
                amount_yen: part.amount,
                months: part.months,
                capped: part.capped,
            })
            .collect(),
        installments: assessment
            .installments
            .iter()
            .map(|i| TaxInstallment { number: i.number, month: i.month, amount_yen: i.amount })
            .collect(),
        statutory_reduction: assessment.test.as_ref().and_then(|test| test.level).map(|level| level.code().to_owned()),
        rules_file: rules.file.clone(),
        rules_sha256: rules.sha256.clone(),
        national_sha256: rules.national_sha256.clone(),
    }
}

/// Whether two sets of figures charge the same: the rule files' hashes aside.
pub fn same_amounts(a: &TaxFigures, b: &TaxFigures) -> bool {
    a.total_yen == b.total_yen
        && a.parts == b.parts
        && a.installments == b.installments
        && a.statutory_reduction == b.statutory_reduction
}

fn breakdown(assessment: &Assessment) -> Personal<serde_json::Value> {
    Personal::Present(serde_json::to_value(assessment).expect("an assessment serializes"))
}

pub struct TaxAssessment;

impl Aggregate for TaxAssessment {
    const NAME: &'static str = "tax_assessment";
    const READS_PERSONAL: bool = false;
    type Id = AssessmentId;
    type State = TaxState;
    type Command = TaxCommand;
    type Lookups = TaxLookups;
    type Rejection = TaxRejection;

    fn stream_id(id: AssessmentId) -> String {
        stream_id(id)
    }

    fn decide(
        id: AssessmentId,
        state: &TaxState,
        command: TaxCommand,
        lookups: &TaxLookups,
    ) -> Result<Vec<LedgerEvent>, TaxRejection> {
        check_fiscal_year(id.fiscal_year, lookups.today)?;
        match command {
            TaxCommand::Assess => {
                if state.current.is_some() {
                    return Ok(vec![]);
                }
                let (assessment, figures) = compute(lookups)?;
                Ok(vec![LedgerEvent::TaxAssessed(TaxAssessed {
                    household_id: id.household_id,
                    fiscal_year: id.fiscal_year,
                    taxpayer_person_id: assessment.taxpayer,
                    figures,
                    personal: breakdown(&assessment),
                })])
            }
            TaxCommand::Reassess { reason, triggered_by } => {
                let Some(current) = &state.current else {
                    return Err(TaxRejection::NotAssessed { fiscal_year: id.fiscal_year });
                };
                let Some((assessment, figures)) = correction(id, state, lookups)? else { return Ok(vec![]) };
                let difference_yen = figures.total_yen - current.total_yen;
                let years_back = lookups.rules.as_ref().map_or(3, |rules| rules.rules.national.reassessment_years_back);
                let oldest = FiscalYear::containing(lookups.today).year() - years_back;
                if id.fiscal_year < oldest {
                    if state.held.as_ref().is_some_and(|held| same_amounts(held, &figures)) {
                        return Ok(vec![]);
                    }
                    return Ok(vec![LedgerEvent::TaxReassessmentHeld(TaxReassessmentHeld {
                        household_id: id.household_id,
                        fiscal_year: id.fiscal_year,
                        taxpayer_person_id: assessment.taxpayer,
                        previous_total_yen: current.total_yen,
                        difference_yen,
                        figures,
                        reason,
                        triggered_by,
                        personal: breakdown(&assessment),
                    })]);
                }
                Ok(vec![LedgerEvent::TaxReassessed(TaxReassessed {
                    household_id: id.household_id,
                    fiscal_year: id.fiscal_year,
                    taxpayer_person_id: assessment.taxpayer,
                    previous_total_yen: current.total_yen,
                    difference_yen,
                    figures,
                    reason,
                    triggered_by,
                    personal: breakdown(&assessment),
                })])
            }
        }
    }

    fn evolve(mut state: TaxState, event: &LedgerEvent) -> TaxState {
        match event {
            LedgerEvent::TaxAssessed(e) => {
                state.current = Some(e.figures.clone());
                state.taxpayer = Some(e.taxpayer_person_id);
                state.history.push(TaxRecord {
                    kind: "assessed",
                    total_yen: e.figures.total_yen,
                    difference_yen: 0,
                    reason: None,
                    figures: e.figures.clone(),
                });
            }
            LedgerEvent::TaxReassessed(e) => {
                state.current = Some(e.figures.clone());
                state.taxpayer = Some(e.taxpayer_person_id);
                state.held = None;
                state.history.push(TaxRecord {
                    kind: "reassessed",
                    total_yen: e.figures.total_yen,
                    difference_yen: e.difference_yen,
                    reason: Some(e.reason.clone()),
                    figures: e.figures.clone(),
                });
            }
            LedgerEvent::TaxReassessmentHeld(e) => {
                state.held = Some(e.figures.clone());
                state.history.push(TaxRecord {
                    kind: "held",
                    total_yen: e.figures.total_yen,
                    difference_yen: e.difference_yen,
                    reason: Some(e.reason.clone()),
                    figures: e.figures.clone(),
                });
            }
            _ => {}
        }
        state
    }
}
