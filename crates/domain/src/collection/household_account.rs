//! The household's account aggregate: one stream per household and fiscal year,
//! `account-<household>-<fiscal year>`, over the pure [`Account`].
//!
//! Commands: schedule the installments from the assessment (ordinary, or withheld from the
//! pension when the household qualifies by the rule file's conditions), re-spread them after a
//! reassessment, receive a payment, settle an overpayment (applied to the household's other
//! years' arrears first, then refunded), record another year's overpayment applied here, issue a
//! reminder, record the pension payer's notice before the schedule ([`super::pension_notice`]).
//! Every decision that applies the rules records the rule files' hashes.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use kokuho_events::{
    AccountChannel, AccountInstallment, AccountPaymentReceived, AccountRespread, AccountScheduled,
    CollectionReminderIssued, CollectionRulesUsed, InstallmentMethod, LedgerEvent, OverpaymentApplied,
    OverpaymentSettled, PaymentApplied, SettlementKindRecorded,
};
use serde::Serialize;
use uuid::Uuid;

use super::account::{settle_overpayment, Account, Channel, Payment, ReceiptId, ReminderIssued, Settlement};
use super::account::{SettlementKind, SettlementReason};
use super::pension_notice::{self, NoticeEntry, PensionNotice, SpecialHousehold};
use super::rules::CollectionRules;
use super::schedule::{ordinary_from, special, special_conditions, Installment, Method, SpecialInput};
use super::CollectionRejection;
use crate::{Aggregate, FiscalYear, Yen};

/// A household's account of one fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct AccountId {
    pub household_id: Uuid,
    pub fiscal_year: i32,
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.household_id, self.fiscal_year)
    }
}

/// The stream of a household's account for a fiscal year.
pub fn stream_id(id: AccountId) -> String {
    format!("account-{}-{}", id.household_id, id.fiscal_year)
}

/// The collection rules of the year as the ledger loaded them.
#[derive(Debug, Clone)]
pub struct LoadedCollectionRules {
    pub rules: Arc<CollectionRules>,
    pub file: String,
    pub sha256: String,
    pub national_sha256: String,
}

impl LoadedCollectionRules {
    fn used(&self) -> CollectionRulesUsed {
        CollectionRulesUsed {
            rules_file: self.file.clone(),
            rules_sha256: self.sha256.clone(),
            national_sha256: self.national_sha256.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AccountState {
    /// `None` until the installments are scheduled.
    pub account: Option<Account>,
    /// The annual tax in force.
    pub assessed_total: i64,
    /// The positions of the other years' settlements applied here.
    pub offsets_applied: BTreeSet<i64>,
    /// The pension payer's notice recorded before the schedule, the latest.
    pub pension_notice: Option<PensionNotice>,
}

/// Pension withholding asked for: the facts the pension payer's notice gives
/// (年金特別徴収対象者通知) and the provisional amount fixed before the assessment.
#[derive(Debug, Clone, Serialize)]
pub struct SpecialRequest {
    pub provisional_each: i64,
    pub input: SpecialInput,
}

#[derive(Debug, Clone, Serialize)]
pub enum AccountCommand {
    /// Schedules the installments of `assessed_total` as of `on`: those of the rule file not yet
    /// due on that day share the total (a late assessment drops the past ones, see
    /// [`ordinary_from`]); an account already scheduled records nothing (a different total is a
    /// re-spread).
    Schedule {
        assessed_total: i64,
        special: Option<SpecialRequest>,
        triggered_by: Option<i64>,
        /// The assessment's day: the policy gives its triggering event's day (JST), so a policy
        /// catching up later decides the same; `None` for the lookups' today. A day after today
        /// is taken as today.
        on: Option<NaiveDate>,
    },
    /// Re-spreads to `assessed_total` over the installments not yet due on `on` (or schedules an
    /// account not yet scheduled); the same total records nothing.
    Reassess {
        assessed_total: i64,
        triggered_by: Option<i64>,
        /// As for [`AccountCommand::Schedule`]: the reassessment's day.
        on: Option<NaiveDate>,
    },
    Receive {
        receipt_id: ReceiptId,
        amount: i64,
        received_on: NaiveDate,
        channel: Channel,
    },
    /// Settles the overpayment today: the household's other years' arrears first, then a refund.
    SettleOverpayment,
    /// Records another year's overpayment applied here (the collection policy issues it once
    /// per settlement, named by its position).
    ApplyOffset {
        from_fiscal_year: i32,
        amount: i64,
        on: NaiveDate,
        settled_at: i64,
    },
    /// Records the pension payer's notice (年金特別徴収対象者通知) on an account not yet
    /// scheduled; the schedule reads it.
    RecordPensionNotice(NoticeEntry),
    IssueReminder {
        installment: u32,
        /// The day of issue; `None` for the day of the decision (lookups' today), so a retry of
        /// the same request after midnight is the same command.
        on: Option<NaiveDate>,
    },
}

/// What a collection decision looks up: today, the rules of the year, (to settle an
/// overpayment) the household's accounts of the other years, and (to record a pension notice, or
/// schedule an account that has one) the household of the year.
#[derive(Debug, Clone)]
pub struct AccountLookups {
    pub today: NaiveDate,
    pub rules: Result<LoadedCollectionRules, CollectionRejection>,
    pub others: Vec<Account>,
    pub household: Option<SpecialHousehold>,
}

fn method_recorded(method: Method) -> InstallmentMethod {
    match method {
        Method::Ordinary => InstallmentMethod::Ordinary,
        Method::Special => InstallmentMethod::Special,
    }
}

fn method_of(method: InstallmentMethod) -> Method {
    match method {
        InstallmentMethod::Ordinary => Method::Ordinary,
        InstallmentMethod::Special => Method::Special,
    }
}

pub fn channel_recorded(channel: Channel) -> AccountChannel {
    match channel {
        Channel::Bank => AccountChannel::Bank,
        Channel::ConvenienceStore => AccountChannel::ConvenienceStore,
        Channel::Counter => AccountChannel::Counter,
        Channel::AccountTransfer => AccountChannel::AccountTransfer,
        Channel::PensionWithholding => AccountChannel::PensionWithholding,
    }
}

fn channel_of(channel: AccountChannel) -> Channel {
    match channel {
        AccountChannel::Bank => Channel::Bank,
        AccountChannel::ConvenienceStore => Channel::ConvenienceStore,
        AccountChannel::Counter => Channel::Counter,
        AccountChannel::AccountTransfer => Channel::AccountTransfer,
        AccountChannel::PensionWithholding => Channel::PensionWithholding,
    }
}

pub fn installments_recorded(installments: &[Installment]) -> Vec<AccountInstallment> {
    installments
        .iter()
        .map(|i| AccountInstallment {
            number: i.number,
            method: method_recorded(i.method),
            due_on: i.due,
            amount_yen: i.amount,
        })
        .collect()
}

pub fn installments_of(recorded: &[AccountInstallment]) -> Vec<Installment> {
    recorded
        .iter()
        .map(|i| Installment { number: i.number, method: method_of(i.method), due: i.due_on, amount: i.amount_yen })
        .collect()
}

fn check_total(total: i64) -> Result<(), CollectionRejection> {
    if (0..=Yen::AMOUNT_MAX.amount()).contains(&total) {
        Ok(())
    } else {
        Err(CollectionRejection::AmountOutOfRange { field: "assessed_total" })
    }
}

/// The day a schedule or re-spread is decided from: the assessment's day when given, never after
/// today.
fn decision_day(on: Option<NaiveDate>, today: NaiveDate) -> NaiveDate {
    on.map_or(today, |on| on.min(today))
}

/// What the schedule of `assessed_total` decides withholding from: the request given, else the
/// notice recorded on the account (`Err`: why it cannot be used), else none.
fn special_request(
    id: AccountId,
    state: &AccountState,
    given: Option<SpecialRequest>,
    assessed_total: i64,
    lookups: &AccountLookups,
) -> Result<Option<SpecialRequest>, &'static str> {
    match (given, &state.pension_notice) {
        (Some(request), _) => Ok(Some(request)),
        (None, Some(notice)) => {
            pension_notice::request(id.fiscal_year, notice, lookups.household.as_ref(), assessed_total).map(Some)
        }
        (None, None) => Ok(None),
    }
}

fn schedule(
    id: AccountId,
    assessed_total: i64,
    special_request: Result<Option<SpecialRequest>, &'static str>,
    triggered_by: Option<i64>,
    on: NaiveDate,
    lookups: &AccountLookups,
) -> Result<Vec<LedgerEvent>, CollectionRejection> {
    check_total(assessed_total)?;
    let rules = lookups.rules.clone()?;
    let ordinary = |codes: Vec<String>| -> Result<_, CollectionRejection> {
        Ok((Method::Ordinary, codes, ordinary_from(assessed_total, on, &rules.rules)?))
    };
    let (method, failed, installments) = match special_request {
        Ok(Some(request)) => {
            let failed = special_conditions(&request.input, &rules.rules)?;
            if failed.is_empty() {
                let schedule = special(assessed_total, request.provisional_each, &rules.rules)?;
                // The pension payer withholds what it was told before the withholding: a
                // withholding after the provisional ones (本徴収) already due on the assessment's
                // day cannot be asked for any more, and the year is paid ordinary.
                let provisional = rules.rules.national.special_collection.provisional;
                let too_late = schedule.installments.iter().any(|i| i.number > provisional && i.due < on);
                if too_late {
                    ordinary(vec!["main_withholding_already_due".to_owned()])?
                } else {
                    (Method::Special, Vec::new(), schedule.installments)
                }
            } else {
                ordinary(failed.iter().map(|condition| condition.code().to_owned()).collect())?
            }
        }
        Ok(None) => ordinary(Vec::new())?,
        Err(code) => ordinary(vec![code.to_owned()])?,
    };
    Ok(vec![LedgerEvent::AccountScheduled(AccountScheduled {
        household_id: id.household_id,
        fiscal_year: id.fiscal_year,
        assessed_total_yen: assessed_total,
        method: method_recorded(method),
        special_conditions_failed: failed,
        installments: installments_recorded(&installments),
        decided_on: on,
        triggered_by,
        rules: rules.used(),
    })])
}

fn scheduled(id: AccountId, state: &AccountState) -> Result<&Account, CollectionRejection> {
    state.account.as_ref().ok_or(CollectionRejection::NotScheduled { fiscal_year: id.fiscal_year })
}

pub struct HouseholdAccount;

impl Aggregate for HouseholdAccount {
    const NAME: &'static str = "household_account";
    /// The pension notice's figures are the head's, sealed: the schedule decrypts them.
    const READS_PERSONAL: bool = true;
    /// A day's payments to one account follow each other: keep its state between commands (the
    /// append still checks the version it was decided on).
    const CACHED: bool = true;
    type Id = AccountId;
    type State = AccountState;
    type Command = AccountCommand;
    type Lookups = AccountLookups;
    type Rejection = CollectionRejection;

    fn stream_id(id: AccountId) -> String {
        stream_id(id)
    }

    fn decide(
        id: AccountId,
        state: &AccountState,
        command: AccountCommand,
        lookups: &AccountLookups,
    ) -> Result<Vec<LedgerEvent>, CollectionRejection> {
        match command {
            AccountCommand::Schedule { assessed_total, special, triggered_by, on } => {
                if state.account.is_some() {
                    if assessed_total == state.assessed_total {
                        return Ok(vec![]);
                    }
                    let reassess = AccountCommand::Reassess { assessed_total, triggered_by, on };
                    return Self::decide(id, state, reassess, lookups);
                }
                let special = special_request(id, state, special, assessed_total, lookups);
                schedule(id, assessed_total, special, triggered_by, decision_day(on, lookups.today), lookups)
            }
            AccountCommand::Reassess { assessed_total, triggered_by, on } => {
                check_total(assessed_total)?;
                let on = decision_day(on, lookups.today);
                let Some(account) = &state.account else {
                    let special = special_request(id, state, None, assessed_total, lookups);
                    return schedule(id, assessed_total, special, triggered_by, on, lookups);
                };
                if assessed_total == state.assessed_total {
                    return Ok(vec![]);
                }
                let rules = lookups.rules.clone()?;
                let mut after = account.clone();
                let reassessment = after.reassess(assessed_total, on, &rules.rules)?;
                Ok(vec![LedgerEvent::AccountRespread(AccountRespread {
                    household_id: id.household_id,
                    fiscal_year: id.fiscal_year,
                    previous_total_yen: state.assessed_total,
                    assessed_total_yen: assessed_total,
                    installments: installments_recorded(&reassessment.installments),
                    decided_on: on,
                    overpayment_before_yen: reassessment.overpayment_before,
                    overpayment_after_yen: reassessment.overpayment_after,
                    triggered_by,
                    rules: rules.used(),
                })])
            }
            AccountCommand::Receive { receipt_id, amount, received_on, channel } => {
                if received_on > lookups.today {
                    return Err(CollectionRejection::Invalid {
                        field: "received_on",
                        accepts: "a day on or before today (the day the money was paid in)",
                    });
                }
                let account = scheduled(id, state)?;
                let payment = Payment { receipt_id: receipt_id.clone(), received_on, channel, amount };
                let allocation = account.allocate(&payment)?;
                Ok(vec![LedgerEvent::AccountPaymentReceived(AccountPaymentReceived {
                    household_id: id.household_id,
                    fiscal_year: id.fiscal_year,
                    receipt_id: receipt_id.as_str().to_owned(),
                    amount_yen: amount,
                    received_on,
                    channel: channel_recorded(channel),
                    allocations: allocation
                        .installments
                        .iter()
                        .map(|(installment, amount)| PaymentApplied { installment: *installment, amount_yen: *amount })
                        .collect(),
                    overpayment_yen: allocation.overpayment,
                })])
            }
            AccountCommand::SettleOverpayment => {
                let mut source = scheduled(id, state)?.clone();
                let mut others = lookups.others.clone();
                let decisions = settle_overpayment(&mut source, &mut others, lookups.today)?;
                Ok(decisions
                    .into_iter()
                    .map(|decision| {
                        let (settlement, to_fiscal_year, to_installment, effective_on) = match decision.kind {
                            SettlementKind::Applied { to_fiscal_year, installment } => (
                                SettlementKindRecorded::Applied,
                                Some(to_fiscal_year.year()),
                                Some(installment),
                                Some(decision.effective_on),
                            ),
                            SettlementKind::Refunded => (SettlementKindRecorded::Refunded, None, None, None),
                        };
                        LedgerEvent::OverpaymentSettled(OverpaymentSettled {
                            household_id: id.household_id,
                            fiscal_year: id.fiscal_year,
                            decided_on: decision.on,
                            amount_yen: decision.amount,
                            settlement,
                            to_fiscal_year,
                            to_installment,
                            reason: decision.reason.code().to_owned(),
                            effective_on,
                        })
                    })
                    .collect())
            }
            AccountCommand::ApplyOffset { from_fiscal_year, amount, on, settled_at } => {
                if state.offsets_applied.contains(&settled_at) {
                    return Ok(vec![]);
                }
                scheduled(id, state)?;
                if amount <= 0 || amount > Yen::AMOUNT_MAX.amount() {
                    return Err(CollectionRejection::AmountOutOfRange { field: "amount" });
                }
                Ok(vec![LedgerEvent::OverpaymentApplied(OverpaymentApplied {
                    household_id: id.household_id,
                    fiscal_year: id.fiscal_year,
                    from_fiscal_year,
                    applied_on: on,
                    amount_yen: amount,
                    settled_at,
                })])
            }
            AccountCommand::RecordPensionNotice(entry) => {
                pension_notice::record(id, state, entry, lookups.household.as_ref(), lookups.today)
            }
            AccountCommand::IssueReminder { installment, on } => {
                let on = on.unwrap_or(lookups.today);
                if on > lookups.today {
                    return Err(CollectionRejection::Invalid {
                        field: "issued_on",
                        accepts: "a day on or before today",
                    });
                }
                let rules = lookups.rules.clone()?;
                let mut account = scheduled(id, state)?.clone();
                let unpaid = account
                    .installment(installment)
                    .map(|i| i.amount - account.paid(installment))
                    .ok_or(CollectionRejection::InstallmentNotFound { number: installment })?;
                let issued = account.issue_reminder(installment, on, &rules.rules)?;
                let due = account.installment(installment).map(|i| i.due).unwrap_or(on);
                Ok(vec![LedgerEvent::CollectionReminderIssued(CollectionReminderIssued {
                    household_id: id.household_id,
                    fiscal_year: id.fiscal_year,
                    installment,
                    due_on: due,
                    issued_on: issued.issued_on,
                    deadline: rules.rules.reminder_deadline(due),
                    in_time: issued.in_time,
                    unpaid_yen: unpaid,
                })])
            }
        }
    }

    fn evolve(mut state: AccountState, event: &LedgerEvent) -> AccountState {
        match event {
            LedgerEvent::AccountScheduled(e) => {
                let installments = installments_of(&e.installments);
                // The decision checked them; a stored event that does not check is not replayed.
                if let Ok(account) = Account::new(e.household_id, FiscalYear::new(e.fiscal_year), installments) {
                    state.account = Some(account);
                    state.assessed_total = e.assessed_total_yen;
                }
            }
            LedgerEvent::AccountRespread(e) => {
                if let Some(account) = &mut state.account {
                    if account.restate_installments(installments_of(&e.installments), e.decided_on).is_ok() {
                        state.assessed_total = e.assessed_total_yen;
                    }
                }
            }
            LedgerEvent::AccountPaymentReceived(e) => {
                if let (Some(account), Ok(receipt_id)) = (&mut state.account, ReceiptId::parse(&e.receipt_id)) {
                    let payment = Payment {
                        receipt_id,
                        received_on: e.received_on,
                        channel: channel_of(e.channel),
                        amount: e.amount_yen,
                    };
                    let _ = account.receive(payment);
                }
            }
            LedgerEvent::OverpaymentSettled(e) => {
                if let Some(account) = &mut state.account {
                    let (kind, reason) = match (e.settlement, e.to_fiscal_year, e.to_installment) {
                        (SettlementKindRecorded::Applied, Some(year), Some(installment)) => (
                            SettlementKind::Applied { to_fiscal_year: FiscalYear::new(year), installment },
                            SettlementReason::AppliedToArrears,
                        ),
                        _ => (SettlementKind::Refunded, SettlementReason::RefundedNoArrearsLeft),
                    };
                    account.record_settlement(Settlement {
                        on: e.decided_on,
                        effective_on: e.effective_on.unwrap_or(e.decided_on),
                        amount: e.amount_yen,
                        kind,
                        reason,
                    });
                }
            }
            LedgerEvent::OverpaymentApplied(e) => {
                if let Some(account) = &mut state.account {
                    account.record_offset(FiscalYear::new(e.from_fiscal_year), e.applied_on, e.amount_yen);
                    state.offsets_applied.insert(e.settled_at);
                }
            }
            LedgerEvent::PensionNoticeRecorded(e) => {
                state.pension_notice = Some(PensionNotice::of(e));
            }
            LedgerEvent::CollectionReminderIssued(e) => {
                if let Some(account) = &mut state.account {
                    account.record_reminder(ReminderIssued {
                        number: e.installment,
                        issued_on: e.issued_on,
                        in_time: e.in_time,
                    });
                }
            }
            _ => {}
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::super::examples::{date, kumagaya};
    use super::*;
    use crate::Refusal;

    fn lookups(today: NaiveDate) -> AccountLookups {
        let rules = LoadedCollectionRules {
            rules: Arc::new(kumagaya(2025)),
            file: "112020/2025/collection.toml".into(),
            sha256: "a".repeat(64),
            national_sha256: "b".repeat(64),
        };
        AccountLookups { today, rules: Ok(rules), others: Vec::new(), household: None }
    }

    fn id() -> AccountId {
        AccountId { household_id: Uuid::from_u128(7), fiscal_year: 2025 }
    }

    fn run(state: AccountState, command: AccountCommand, today: NaiveDate) -> (AccountState, Vec<LedgerEvent>) {
        let events = HouseholdAccount::decide(id(), &state, command, &lookups(today)).unwrap();
        (events.iter().fold(state, HouseholdAccount::evolve), events)
    }

    /// 新宮市's withheld example (city.shingu.lg.jp/Info/615, as in examples.rs): 年税額 140,000,
    /// 仮徴収 20,000 × 3, the rest 26,800, 26,600, 26,600; a household of two aged 66 and 68 with a
    /// pension of 1,200,000 qualifies (地方税法 §706 ②); one with a member aged 60 does not and is
    /// scheduled ordinary, the failed condition recorded.
    #[test]
    fn pension_withholding_is_scheduled_when_the_household_qualifies_by_the_rule_file() {
        let input = |born: Vec<NaiveDate>| SpecialInput {
            fiscal_year: FiscalYear::new(2025),
            head_insured: true,
            insured_dates_of_birth: born,
            head_annual_pension: 1_200_000,
            annual_tax: 140_000,
            care_premium: 80_000,
            care_premium_withheld: true,
        };
        let request =
            SpecialRequest { provisional_each: 20_000, input: input(vec![date(1959, 5, 1), date(1957, 5, 1)]) };
        let command =
            AccountCommand::Schedule { assessed_total: 140_000, special: Some(request), triggered_by: None, on: None };
        let (state, events) = run(AccountState::default(), command, date(2025, 4, 1));
        let LedgerEvent::AccountScheduled(scheduled) = &events[0] else { panic!("{events:?}") };
        assert_eq!(scheduled.method, InstallmentMethod::Special);
        let amounts: Vec<i64> = scheduled.installments.iter().map(|i| i.amount_yen).collect();
        assert_eq!(amounts, [20_000, 20_000, 20_000, 26_800, 26_600, 26_600]);
        assert_eq!(state.account.as_ref().unwrap().total(), 140_000);
        // The same total again records nothing.
        let again = AccountCommand::Schedule { assessed_total: 140_000, special: None, triggered_by: None, on: None };
        assert!(HouseholdAccount::decide(id(), &state, again, &lookups(date(2025, 4, 1))).unwrap().is_empty());

        let request =
            SpecialRequest { provisional_each: 20_000, input: input(vec![date(1959, 5, 1), date(1965, 5, 1)]) };
        let command =
            AccountCommand::Schedule { assessed_total: 140_000, special: Some(request), triggered_by: None, on: None };
        let (_, events) = run(AccountState::default(), command, date(2025, 4, 1));
        let LedgerEvent::AccountScheduled(scheduled) = &events[0] else { panic!("{events:?}") };
        assert_eq!(
            (scheduled.method, scheduled.special_conditions_failed.clone()),
            (InstallmentMethod::Ordinary, vec!["member_age".to_owned()])
        );
        assert_eq!(scheduled.installments.len(), 8);
    }

    /// A payment before the schedule is refused; another year's overpayment is credited once per
    /// settlement; a duplicate receipt is refused.
    #[test]
    fn payments_need_a_schedule_offsets_apply_once_and_receipts_count_once() {
        let receive = |receipt: &str| AccountCommand::Receive {
            receipt_id: ReceiptId::parse(receipt).unwrap(),
            amount: 10_000,
            received_on: date(2025, 7, 30),
            channel: Channel::Counter,
        };
        let refused =
            HouseholdAccount::decide(id(), &AccountState::default(), receive("R-1"), &lookups(date(2025, 8, 1)));
        assert_eq!(refused.unwrap_err().code(), "account_not_scheduled");
        let schedule =
            AccountCommand::Schedule { assessed_total: 80_000, special: None, triggered_by: Some(3), on: None };
        let (state, _) = run(AccountState::default(), schedule, date(2025, 7, 1));
        let (state, events) = run(state, receive("R-1"), date(2025, 8, 1));
        let LedgerEvent::AccountPaymentReceived(paid) = &events[0] else { panic!("{events:?}") };
        assert_eq!(paid.allocations, [PaymentApplied { installment: 1, amount_yen: 10_000 }]);
        let duplicate = HouseholdAccount::decide(id(), &state, receive("R-1"), &lookups(date(2025, 8, 1)));
        assert_eq!(duplicate.unwrap_err().code(), "duplicate_receipt");
        let future = AccountCommand::Receive {
            receipt_id: ReceiptId::parse("R-2").unwrap(),
            amount: 1,
            received_on: date(2025, 8, 2),
            channel: Channel::Bank,
        };
        assert_eq!(
            HouseholdAccount::decide(id(), &state, future, &lookups(date(2025, 8, 1))).unwrap_err().code(),
            "invalid_field"
        );
        let offset =
            AccountCommand::ApplyOffset { from_fiscal_year: 2024, amount: 5_000, on: date(2025, 8, 1), settled_at: 99 };
        let (state, events) = run(state, offset.clone(), date(2025, 8, 1));
        assert_eq!(events.len(), 1);
        assert!(HouseholdAccount::decide(id(), &state, offset, &lookups(date(2025, 8, 1))).unwrap().is_empty());
        assert_eq!(state.account.unwrap().paid_total(), 15_000);
    }

    fn scheduled_installments(events: &[LedgerEvent]) -> Vec<(u32, NaiveDate, i64)> {
        let LedgerEvent::AccountScheduled(scheduled) = &events[0] else { panic!("{events:?}") };
        scheduled.installments.iter().map(|i| (i.number, i.due_on, i.amount_yen)).collect()
    }

    /// An assessment made after some due dates charges only the installments left (加茂市,
    /// city.kamo.niigata.jp/docs/37650.html: joined in October, five installments from November):
    /// Kumagaya's FY2025 assessed on 10 November 2025 is installments 5–8 (30 November a Sunday,
    /// 31 December–4 January closed, 31 January and 28 February 2026 Saturdays), 80,001 split by
    /// the 100-yen unit with the remainder in the first; nothing is in arrears that day or owes a
    /// late fee. Assessed after the last due date, it is one installment due at the end of the
    /// next month. The assessment's day counts, not the day the decision is made.
    #[test]
    fn a_late_assessment_is_spread_over_the_installments_left_never_in_arrears_at_once() {
        let command =
            |on| AccountCommand::Schedule { assessed_total: 80_001, special: None, triggered_by: Some(9), on };
        let (state, events) = run(AccountState::default(), command(Some(date(2025, 11, 10))), date(2025, 11, 20));
        assert_eq!(
            scheduled_installments(&events),
            [
                (5, date(2025, 12, 1), 20_001),
                (6, date(2026, 1, 5), 20_000),
                (7, date(2026, 2, 2), 20_000),
                (8, date(2026, 3, 2), 20_000),
            ]
        );
        let LedgerEvent::AccountScheduled(scheduled) = &events[0] else { panic!("{events:?}") };
        assert_eq!(scheduled.decided_on, date(2025, 11, 10));
        let account = state.account.unwrap();
        assert_eq!((account.total(), account.arrears(date(2025, 11, 20)).len()), (80_001, 0));

        // None given: today. A day after today (a clock behind the store's) is today.
        let (_, events) = run(AccountState::default(), command(None), date(2025, 11, 10));
        assert_eq!(scheduled_installments(&events).len(), 4);
        let (_, events) = run(AccountState::default(), command(Some(date(2026, 1, 1))), date(2025, 11, 10));
        assert_eq!(scheduled_installments(&events).len(), 4);

        // Assessed on 10 March 2026, after the last due date: one installment, end of April.
        let (state, events) = run(AccountState::default(), command(Some(date(2026, 3, 10))), date(2026, 3, 10));
        assert_eq!(scheduled_installments(&events), [(9, date(2026, 4, 30), 80_001)]);
        assert!(state.account.unwrap().arrears(date(2026, 4, 30)).is_empty());

        // Assessed before the first due date: all eight, as before.
        let (_, events) = run(AccountState::default(), command(Some(date(2025, 7, 1))), date(2025, 7, 1));
        assert_eq!(scheduled_installments(&events).len(), 8);
        // A zero tax keeps its eight zero installments (nobody owes anything).
        let zero = AccountCommand::Schedule { assessed_total: 0, special: None, triggered_by: None, on: None };
        let (_, events) = run(AccountState::default(), zero, date(2025, 12, 10));
        assert_eq!(scheduled_installments(&events).iter().map(|i| i.2).sum::<i64>(), 0);
    }

    /// A reassessment re-spreads as of its own day: a policy that reaches it a week later keeps
    /// the installments due in between.
    #[test]
    fn a_reassessment_respreads_as_of_its_own_day() {
        let schedule = AccountCommand::Schedule { assessed_total: 80_000, special: None, triggered_by: None, on: None };
        let (state, _) = run(AccountState::default(), schedule, date(2025, 7, 1));
        // Reassessed on 25 September (installments 1–2 due), decided on 3 October (3 due too).
        let reassess =
            AccountCommand::Reassess { assessed_total: 100_000, triggered_by: Some(5), on: Some(date(2025, 9, 25)) };
        let (_, events) = run(state, reassess, date(2025, 10, 3));
        let LedgerEvent::AccountRespread(respread) = &events[0] else { panic!("{events:?}") };
        let amounts: Vec<i64> = respread.installments.iter().map(|i| i.amount_yen).collect();
        // 10,000 × 2 kept; 80,000 over installments 3–8: 13,500 + 5 × 13,300.
        assert_eq!(amounts, [10_000, 10_000, 13_500, 13_300, 13_300, 13_300, 13_300, 13_300]);
        assert_eq!(respread.decided_on, date(2025, 9, 25));
    }
}
