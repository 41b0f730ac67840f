//! The high-cost medical expense benefit of one household-month, stream
//! `high-cost-<household>-<YYYY-MM>`: the medical-cost records (レセプト) of its members for the
//! service month, as the 国保連's batches bring them, then the decision (高額療養費), once, with
//! the payment instruction to the head of household's account.
//!
//! The ledger gathers what the decision needs ([`HighCostLookups`]: the household's members in
//! the month with their dates of birth, the income classes with their ground, the 多数回 count of
//! the eleven months before, each 70–74 member's outpatient total of the August–July year, the
//! head's 公金受取口座, the rules of the month's fiscal year); `decide` runs the pure
//! [`high_cost::decide`](super::high_cost::decide) over the records of the stream.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use kokuho_events::{
    BankAccount, BenefitPaymentInstructed, HighCostDecided, LedgerEvent, MedicalCostDetails, MedicalCostRecorded,
    PersonBenefitAmount, Personal,
};
use serde::Serialize;
use uuid::Uuid;

use super::claims::LoadedBenefitRules;
use super::high_cost::{
    decide as decide_high_cost, Care, ElderlyClass, HighCostInput, HighCostMember, MedicalRecord, Under70Class,
    Under70ClassBasis, RECORD_AMOUNT_MAX,
};
use super::{account, BenefitRejection};
use crate::Aggregate;

/// A household's service month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HighCostMonthId {
    pub household_id: Uuid,
    /// The first day of the month.
    pub month: NaiveDate,
}

impl HighCostMonthId {
    /// The household-month of any day of `month`.
    pub fn new(household_id: Uuid, month: NaiveDate) -> HighCostMonthId {
        HighCostMonthId { household_id, month: month.with_day(1).expect("every month has a 1st") }
    }
}

impl fmt::Display for HighCostMonthId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.household_id, self.month.format("%Y-%m"))
    }
}

/// The stream of a household-month.
pub fn stream_id(id: HighCostMonthId) -> String {
    format!("high-cost-{}-{}", id.household_id, id.month.format("%Y-%m"))
}

/// A record as the 国保連 sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRecord {
    pub record_id: String,
    pub person_id: Uuid,
    pub provider: String,
    pub care: Care,
    pub total_cost: i64,
    pub paid: i64,
}

/// The longest record id and provider code accepted.
pub const RECORD_ID_MAX: usize = 40;

/// Checks one record of a batch; `index` is its place in the batch, for the field named.
pub fn check_record(index: usize, record: &NewRecord) -> Result<(), BenefitRejection> {
    let code_like = |value: &str| {
        !value.is_empty()
            && value.len() <= RECORD_ID_MAX
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !code_like(&record.record_id) {
        return Err(BenefitRejection::Invalid {
            field: format!("records[{index}].record_id"),
            accepts: "1 to 40 letters, digits or hyphens",
        });
    }
    if !code_like(&record.provider) {
        return Err(BenefitRejection::Invalid {
            field: format!("records[{index}].provider"),
            accepts: "1 to 40 letters, digits or hyphens (医療機関コード)",
        });
    }
    if !(0..=RECORD_AMOUNT_MAX).contains(&record.total_cost) {
        return Err(BenefitRejection::Invalid {
            field: format!("records[{index}].total_cost_yen"),
            accepts: "an amount of yen from 0 to 10,000,000,000",
        });
    }
    if !(0..=record.total_cost).contains(&record.paid) {
        return Err(BenefitRejection::Invalid {
            field: format!("records[{index}].paid_yen"),
            accepts: "an amount of yen from 0 to the record's total cost",
        });
    }
    Ok(())
}

fn care_key(care: Care) -> &'static str {
    match care {
        Care::Inpatient => "inpatient",
        Care::Outpatient => "outpatient",
        Care::Dental => "dental",
    }
}

fn care_of(key: &str) -> Option<Care> {
    match key {
        "inpatient" => Some(Care::Inpatient),
        "outpatient" => Some(Care::Outpatient),
        "dental" => Some(Care::Dental),
        _ => None,
    }
}

/// A record in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub record_id: String,
    pub person_id: Uuid,
    pub care: String,
    pub total_cost: i64,
    pub paid: i64,
    /// `None` when not decrypted (or erased).
    pub provider: Option<String>,
}

/// What was decided, in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedMonth {
    /// The head of household the decision names: who the benefit is paid to.
    pub head_person_id: Uuid,
    pub benefit: i64,
    pub counts_toward_many_times: bool,
    /// Each 70–74 一般/低所得 member's outpatient total of the August–July year after this month.
    pub outpatient_totals: Vec<(Uuid, i64)>,
}

#[derive(Debug, Clone, Default)]
pub struct HighCostMonthState {
    pub records: Vec<StoredRecord>,
    pub record_ids: BTreeSet<String>,
    pub decided: Option<DecidedMonth>,
    /// A payment instruction (`BenefitPaymentInstructed`) is recorded for the decision.
    pub payment_instructed: bool,
}

/// The classes of the household in the month and how they were found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classes {
    pub under_70_class: Option<Under70Class>,
    pub under_70_basis: Option<Under70ClassBasis>,
    pub elderly_class: Option<ElderlyClass>,
    /// The 70–74 share decision's ground the class was read from.
    pub elderly_basis: Option<String>,
}

/// The household in the month, as the ledger found it.
#[derive(Debug, Clone)]
pub struct MonthContext {
    pub head_person_id: Uuid,
    /// Members insured by NHI some day of the month, with what the calculation needs of them.
    pub members: Vec<HighCostMember>,
    pub classes: Classes,
    /// Months of the eleven before with a household benefit.
    pub prior_benefit_months: u32,
    /// The head's 公金受取口座, when registered with consent.
    pub head_account: Option<BankAccount>,
}

#[derive(Debug, Clone, Serialize)]
pub enum HighCostCommand {
    /// Records the records not recorded yet (by `record_id`).
    Record { batch_id: String, records: Vec<NewRecord> },
    /// Decides the month, once; `account` is the account on the application, used when the head
    /// has no 公金受取口座 registered with consent. On a month decided with a benefit but no
    /// payment instruction (no account was known), it records the payment instruction alone,
    /// once, when an account is known now.
    Decide { account: Option<BankAccount>, payment_id: Uuid },
}

#[derive(Debug, Clone)]
pub struct HighCostLookups {
    pub today: NaiveDate,
    /// For `Record`: the persons who were members of the household some day of the month.
    pub members_in_month: Vec<Uuid>,
    pub household_known: bool,
    /// For `Decide`.
    pub context: Result<MonthContext, BenefitRejection>,
    pub rules: Result<LoadedBenefitRules, BenefitRejection>,
    /// For `Decide` on a month decided with a benefit and no payment instruction: the consented
    /// 公金受取口座 of the head the decision names, as registered now.
    pub decided_head_account: Option<BankAccount>,
}

/// The first service month that cannot be decided on `today`: `today`'s own month (its records
/// are still arriving), or `wait_months` earlier when the rules wait that many whole months after
/// a month has ended (`[high_cost_decision] months_after_service`, docs/domain.md §6).
pub fn first_open_month(today: NaiveDate, wait_months: u32) -> NaiveDate {
    let month = today.with_day(1).expect("every month has a 1st");
    month.checked_sub_months(chrono::Months::new(wait_months)).unwrap_or(month)
}

/// The payment instruction of a month decided without one, when an account is known now: the
/// head's consented 公金受取口座 first, else the account on the request. `None` when nothing is
/// due, it was instructed already, or there is still no account.
fn late_payment(
    id: HighCostMonthId,
    state: &HighCostMonthState,
    account: Option<BankAccount>,
    lookups: &HighCostLookups,
    payment_id: Uuid,
) -> Option<LedgerEvent> {
    let decided = state.decided.as_ref()?;
    if decided.benefit <= 0 || state.payment_instructed {
        return None;
    }
    let (account, source) = match (lookups.decided_head_account.clone(), account) {
        (Some(account), _) => (account, "public_funds_account"),
        (None, Some(account)) => (account, "claim_account"),
        (None, None) => return None,
    };
    Some(LedgerEvent::BenefitPaymentInstructed(BenefitPaymentInstructed {
        payment_id,
        payee_person_id: decided.head_person_id,
        benefit: "high_cost".to_owned(),
        reference: id.to_string(),
        amount_yen: decided.benefit,
        account_source: source.to_owned(),
        personal: Personal::Present(account),
    }))
}

pub struct HighCostMonth;

/// The records of the state as the calculation takes them.
fn medical_records(state: &HighCostMonthState) -> Vec<MedicalRecord> {
    state
        .records
        .iter()
        .map(|record| MedicalRecord {
            person_id: record.person_id,
            // A provider not readable (erased) still counts as its own provider.
            provider: record.provider.clone().unwrap_or_else(|| format!("record:{}", record.record_id)),
            care: care_of(&record.care).unwrap_or(Care::Outpatient),
            total_cost: record.total_cost,
            paid: record.paid,
        })
        .collect()
}

impl Aggregate for HighCostMonth {
    const NAME: &'static str = "high_cost_month";
    const READS_PERSONAL: bool = true;
    type Id = HighCostMonthId;
    type State = HighCostMonthState;
    type Command = HighCostCommand;
    type Lookups = HighCostLookups;
    type Rejection = BenefitRejection;

    fn stream_id(id: HighCostMonthId) -> String {
        stream_id(id)
    }

    fn decide(
        id: HighCostMonthId,
        state: &HighCostMonthState,
        command: HighCostCommand,
        lookups: &HighCostLookups,
    ) -> Result<Vec<LedgerEvent>, BenefitRejection> {
        match command {
            HighCostCommand::Record { batch_id, records } => {
                if !lookups.household_known {
                    return Err(BenefitRejection::HouseholdNotFound { household_id: id.household_id });
                }
                let mut seen = state.record_ids.clone();
                let mut events = Vec::new();
                for (index, record) in records.into_iter().enumerate() {
                    check_record(index, &record)?;
                    if !lookups.members_in_month.contains(&record.person_id) {
                        return Err(BenefitRejection::RecordPersonNotMember { index });
                    }
                    if !seen.insert(record.record_id.clone()) {
                        continue;
                    }
                    events.push(LedgerEvent::MedicalCostRecorded(MedicalCostRecorded {
                        household_id: id.household_id,
                        person_id: record.person_id,
                        month: id.month,
                        record_id: record.record_id,
                        batch_id: batch_id.clone(),
                        care: care_key(record.care).to_owned(),
                        total_cost_yen: record.total_cost,
                        paid_yen: record.paid,
                        personal: Personal::Present(MedicalCostDetails { provider: record.provider }),
                    }));
                }
                if !events.is_empty() && state.decided.is_some() {
                    return Err(BenefitRejection::MonthAlreadyDecided);
                }
                Ok(events)
            }
            HighCostCommand::Decide { account, payment_id } => {
                if let Some(account) = &account {
                    account::check("account", account)?;
                }
                if state.decided.is_some() {
                    return Ok(late_payment(id, state, account, lookups, payment_id).into_iter().collect());
                }
                let wait = lookups.rules.as_ref().map_or(0, |loaded| loaded.rules.decision_wait_months());
                let before = first_open_month(lookups.today, wait);
                if id.month >= before {
                    return Err(BenefitRejection::ServiceMonthNotClosed { before });
                }
                if state.records.is_empty() {
                    return Err(BenefitRejection::NoMedicalRecords);
                }
                let context = lookups.context.clone()?;
                let rules = lookups.rules.clone()?;
                let input = HighCostInput {
                    month: id.month,
                    under_70_class: context.classes.under_70_class,
                    elderly_class: context.classes.elderly_class,
                    prior_benefit_months: context.prior_benefit_months,
                    members: context.members.clone(),
                    records: medical_records(state),
                };
                let decision = decide_high_cost(&input, &rules.rules)?;
                let persons = decision
                    .persons
                    .iter()
                    .map(|p| PersonBenefitAmount { person_id: p.person_id, paid_yen: p.paid, benefit_yen: p.benefit })
                    .collect();
                let mut events = vec![LedgerEvent::HighCostDecided(HighCostDecided {
                    household_id: id.household_id,
                    month: id.month,
                    head_person_id: context.head_person_id,
                    records: u32::try_from(state.records.len()).unwrap_or(u32::MAX),
                    paid_yen: decision.paid,
                    counted_yen: decision.counted,
                    benefit_yen: decision.benefit,
                    limit_yen: decision.limit,
                    many_times: decision.many_times,
                    counts_toward_many_times: decision.counts_toward_many_times,
                    persons,
                    rules_file: rules.file.clone(),
                    rules_sha256: rules.sha256.clone(),
                    national_sha256: rules.national_sha256.clone(),
                    period_assumed: decision.period_assumed,
                    personal: Personal::Present(serde_json::json!({
                        "classes": context.classes,
                        "prior_benefit_months": context.prior_benefit_months,
                        "decision": decision,
                    })),
                })];
                if decision.benefit > 0 {
                    let chosen = match (context.head_account, account) {
                        (Some(account), _) => Some((account, "public_funds_account")),
                        (None, Some(account)) => Some((account, "claim_account")),
                        // No account yet: the decision stands, the payment waits for the
                        // application (高額療養費支給申請) with an account.
                        (None, None) => None,
                    };
                    if let Some((account, source)) = chosen {
                        events.push(LedgerEvent::BenefitPaymentInstructed(BenefitPaymentInstructed {
                            payment_id,
                            payee_person_id: context.head_person_id,
                            benefit: "high_cost".to_owned(),
                            reference: id.to_string(),
                            amount_yen: decision.benefit,
                            account_source: source.to_owned(),
                            personal: Personal::Present(account),
                        }));
                    }
                }
                Ok(events)
            }
        }
    }

    fn evolve(mut state: HighCostMonthState, event: &LedgerEvent) -> HighCostMonthState {
        match event {
            LedgerEvent::MedicalCostRecorded(e) => {
                state.record_ids.insert(e.record_id.clone());
                state.records.push(StoredRecord {
                    record_id: e.record_id.clone(),
                    person_id: e.person_id,
                    care: e.care.clone(),
                    total_cost: e.total_cost_yen,
                    paid: e.paid_yen,
                    provider: e.personal.as_present().map(|details| details.provider.clone()),
                });
            }
            LedgerEvent::HighCostDecided(e) => {
                let outpatient_totals = e
                    .personal
                    .as_present()
                    .and_then(|personal| personal.get("decision")?.get("persons")?.as_array().cloned())
                    .into_iter()
                    .flatten()
                    .filter_map(|person| {
                        let id = person.get("person_id")?.as_str()?.parse::<Uuid>().ok()?;
                        Some((id, person.get("outpatient_borne_this_year")?.as_i64()?))
                    })
                    .collect();
                state.decided = Some(DecidedMonth {
                    head_person_id: e.head_person_id,
                    benefit: e.benefit_yen,
                    counts_toward_many_times: e.counts_toward_many_times,
                    outpatient_totals,
                });
            }
            LedgerEvent::BenefitPaymentInstructed(_) => state.payment_instructed = true,
            _ => {}
        }
        state
    }
}
