//! The household's account for one fiscal year: installments, what was received (payments, and
//! overpayments of other years applied here), where each yen went, the overpayment settled
//! (applied to other years' arrears, or refunded), reminders.
//!
//! Where the money went is not stored but derived, by replaying the account's entries in the
//! order they were recorded against the installments as they are now:
//!
//! - a credit (a payment, or an overpayment of another year applied here) pays the installments
//!   in order of due date (then number), each up to its amount — the oldest due first, then the
//!   ones not yet due (an early payment); what is left is the account's overpayment;
//! - a settlement (applied elsewhere, or refunded) takes its amount out of the overpayment at
//!   that point. Should a later reassessment have raised the installments so that the
//!   overpayment no longer covers it, the rest is taken back from the most recent payments of
//!   installments (the latest-due first), which become unpaid again: the money was refunded.
//!
//! So at any time Σ credits = Σ paid + overpayment + Σ settled, and a reassessment moves money
//! between installments and the overpayment without losing a yen.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FiscalYear, Yen};

use super::late_fee::{late_fee, LateFee};
use super::rules::CollectionRules;
use super::schedule::{respread, Installment, Method};
use super::CollectionRejection;

/// How a payment reached the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At a bank or post office counter with the payment slip (金融機関).
    Bank,
    /// At a convenience store with the slip's barcode (コンビニ収納).
    ConvenienceStore,
    /// At the city office's counter (窓口).
    Counter,
    /// By account transfer on the due date (口座振替).
    AccountTransfer,
    /// Withheld from the pension (特別徴収).
    PensionWithholding,
}

impl From<kokuho_events::PaymentChannel> for Channel {
    fn from(channel: kokuho_events::PaymentChannel) -> Channel {
        match channel {
            kokuho_events::PaymentChannel::Counter => Channel::Counter,
            kokuho_events::PaymentChannel::BankTransfer => Channel::Bank,
            kokuho_events::PaymentChannel::PensionWithholding => Channel::PensionWithholding,
        }
    }
}

/// A receipt's identifier from the channel that took the payment (the bank's or the
/// convenience store's record number): 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ReceiptId(String);

impl TryFrom<String> for ReceiptId {
    type Error = CollectionRejection;
    fn try_from(text: String) -> Result<ReceiptId, CollectionRejection> {
        ReceiptId::parse(&text)
    }
}

impl From<ReceiptId> for String {
    fn from(id: ReceiptId) -> String {
        id.0
    }
}

impl ReceiptId {
    pub fn parse(text: &str) -> Result<ReceiptId, CollectionRejection> {
        let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/');
        if (1..=64).contains(&text.len()) && text.bytes().all(allowed) {
            Ok(ReceiptId(text.to_owned()))
        } else {
            Err(CollectionRejection::Invalid {
                field: "receipt_id",
                accepts: "1 to 64 ASCII letters, digits, '-', '_', '.' or '/'",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A payment received for this account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub receipt_id: ReceiptId,
    /// The day the money was paid in (領収日), which decides lateness.
    pub received_on: NaiveDate,
    pub channel: Channel,
    pub amount: i64,
}

/// Where money received by the account came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum CreditSource {
    Payment {
        receipt_id: ReceiptId,
        channel: Channel,
    },
    /// An overpayment of the household's account for another fiscal year, applied here (充当).
    Offset {
        from_fiscal_year: FiscalYear,
    },
}

/// Money received by the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub source: CreditSource,
    pub on: NaiveDate,
    pub amount: i64,
}

/// Why an overpayment went where it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementReason {
    /// Applied to the household's arrears of another fiscal year, oldest due first, before any
    /// refund (地方税法 §17の2 ①: 充当).
    AppliedToArrears,
    /// Refunded: no arrears of the household were left to apply it to (地方税法 §17: 還付).
    RefundedNoArrearsLeft,
}

impl SettlementReason {
    pub fn code(self) -> &'static str {
        match self {
            SettlementReason::AppliedToArrears => "applied_to_arrears",
            SettlementReason::RefundedNoArrearsLeft => "refunded_no_arrears_left",
        }
    }
}

/// Where part of an overpayment went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettlementKind {
    Applied { to_fiscal_year: FiscalYear, installment: u32 },
    Refunded,
}

/// One decision on an overpayment, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The day of the decision.
    pub on: NaiveDate,
    /// The day it takes effect: for an amount applied to another year's installment, the later
    /// of that installment's due date and the day the overpayment arose (充当適状日, 地方税法
    /// §17の2 ④, 施行令 §6の14), never after `on`; the installment counts as paid that day (no
    /// late fee after it). A refund's is `on`.
    pub effective_on: NaiveDate,
    pub amount: i64,
    pub kind: SettlementKind,
    pub reason: SettlementReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Entry {
    Credit(Credit),
    Settled(Settlement),
}

/// Part of a credit that paid an installment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The credit's index among the account's credits, in the order received.
    pub credit: usize,
    pub on: NaiveDate,
    pub installment: u32,
    pub amount: i64,
}

/// Where a new payment goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAllocation {
    /// (installment number, amount), oldest due first.
    pub installments: Vec<(u32, i64)>,
    /// What no installment needed: Σ installments + overpayment = the payment.
    pub overpayment: i64,
}

/// An installment past its due date and not paid in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrear {
    pub fiscal_year: FiscalYear,
    pub number: u32,
    pub due: NaiveDate,
    pub amount: i64,
    pub paid: i64,
    pub unpaid: i64,
}

/// An installment in arrears that has had no reminder yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderDue {
    pub number: u32,
    pub due: NaiveDate,
    /// The last day the reminder is issued in time (due + 20 days, 地方税法 §726 ①).
    pub deadline: NaiveDate,
    /// The day asked about is after the deadline.
    pub overdue: bool,
}

/// A reminder recorded on the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderIssued {
    pub number: u32,
    pub issued_on: NaiveDate,
    /// Issued by the deadline. A late reminder is still valid (the 20 days direct the office),
    /// but is flagged.
    pub in_time: bool,
}

/// What a reassessment did to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassessment {
    pub installments: Vec<Installment>,
    pub overpayment_before: i64,
    pub overpayment_after: i64,
}

/// The replay of the entries against the installments.
#[derive(Debug, Clone, Default)]
struct Replay {
    allocations: Vec<Allocation>,
    paid: BTreeMap<u32, i64>,
    overpayment: i64,
    /// Per credit, what no installment took.
    unapplied: Vec<i64>,
}

/// A household's account for one fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub household: Uuid,
    pub fiscal_year: FiscalYear,
    installments: Vec<Installment>,
    entries: Vec<Entry>,
    reminders: Vec<ReminderIssued>,
    /// The day of the latest re-spread that lowered the total (an overpayment may arise then).
    lowered_on: Option<NaiveDate>,
}

fn check_installments(installments: &[Installment]) -> Result<(), CollectionRejection> {
    let mut numbers: Vec<u32> = installments.iter().map(|i| i.number).collect();
    numbers.sort_unstable();
    if numbers.windows(2).any(|w| w[0] == w[1]) || numbers.first() == Some(&0) {
        return Err(CollectionRejection::Invalid {
            field: "installments",
            accepts: "installments numbered from 1, each number once",
        });
    }
    let mut total = 0i64;
    for installment in installments {
        if !(0..=Yen::AMOUNT_MAX.amount()).contains(&installment.amount) {
            return Err(CollectionRejection::AmountOutOfRange { field: "installments.amount" });
        }
        total = total
            .checked_add(installment.amount)
            .filter(|total| *total <= Yen::AMOUNT_MAX.amount())
            .ok_or(CollectionRejection::AmountOutOfRange { field: "installments.amount" })?;
    }
    Ok(())
}

impl Account {
    /// An account with its installments and nothing received.
    pub fn new(
        household: Uuid,
        fiscal_year: FiscalYear,
        installments: Vec<Installment>,
    ) -> Result<Account, CollectionRejection> {
        check_installments(&installments)?;
        let mut installments = installments;
        installments.sort_by_key(|installment| (installment.due, installment.number));
        Ok(Account {
            household,
            fiscal_year,
            installments,
            entries: Vec::new(),
            reminders: Vec::new(),
            lowered_on: None,
        })
    }

    /// By due date, then number.
    pub fn installments(&self) -> &[Installment] {
        &self.installments
    }

    pub fn installment(&self, number: u32) -> Option<&Installment> {
        self.installments.iter().find(|installment| installment.number == number)
    }

    /// Σ installment amounts.
    pub fn total(&self) -> i64 {
        self.installments.iter().map(|installment| installment.amount).sum()
    }

    /// Every credit, in the order received.
    pub fn credits(&self) -> impl Iterator<Item = &Credit> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Credit(credit) => Some(credit),
            Entry::Settled(_) => None,
        })
    }

    /// Every settlement of an overpayment, in the order decided.
    pub fn settlements(&self) -> impl Iterator<Item = &Settlement> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Settled(settlement) => Some(settlement),
            Entry::Credit(_) => None,
        })
    }

    pub fn reminders(&self) -> &[ReminderIssued] {
        &self.reminders
    }

    /// The replay of every entry, or only of those dated on or before `as_of`.
    fn replay_as_of(&self, as_of: Option<NaiveDate>) -> Replay {
        let mut replay = Replay::default();
        let dated = |entry: &&Entry| {
            let on = match entry {
                Entry::Credit(credit) => credit.on,
                Entry::Settled(settlement) => settlement.on,
            };
            as_of.is_none_or(|as_of| on <= as_of)
        };
        for entry in self.entries.iter().filter(dated) {
            match entry {
                Entry::Credit(credit) => {
                    let index = replay.unapplied.len();
                    let mut left = credit.amount;
                    for installment in &self.installments {
                        if left == 0 {
                            break;
                        }
                        let paid = replay.paid.entry(installment.number).or_insert(0);
                        let take = left.min(installment.amount - *paid);
                        if take > 0 {
                            *paid += take;
                            left -= take;
                            replay.allocations.push(Allocation {
                                credit: index,
                                on: credit.on,
                                installment: installment.number,
                                amount: take,
                            });
                        }
                    }
                    replay.unapplied.push(left);
                    replay.overpayment += left;
                }
                Entry::Settled(settlement) => {
                    let from_overpayment = settlement.amount.min(replay.overpayment);
                    replay.overpayment -= from_overpayment;
                    // Taken from the latest credits' unapplied parts first.
                    let mut take = from_overpayment;
                    for unapplied in replay.unapplied.iter_mut().rev() {
                        let cut = take.min(*unapplied);
                        *unapplied -= cut;
                        take -= cut;
                    }
                    // The rest (only after a reassessment raised the installments): back from the
                    // latest allocations.
                    let mut back = settlement.amount - from_overpayment;
                    while back > 0 {
                        let Some(last) = replay.allocations.last_mut() else { break };
                        let cut = back.min(last.amount);
                        last.amount -= cut;
                        back -= cut;
                        *replay.paid.entry(last.installment).or_insert(0) -= cut;
                        if last.amount == 0 {
                            replay.allocations.pop();
                        }
                    }
                }
            }
        }
        replay
    }

    fn replay(&self) -> Replay {
        self.replay_as_of(None)
    }

    /// What has been paid on installment `number`.
    pub fn paid(&self, number: u32) -> i64 {
        self.replay().paid.get(&number).copied().unwrap_or(0)
    }

    /// What installment `number` had been paid by the credits dated on or before `on`: with
    /// [`Account::arrears`] of the same day, the account as it stood that day.
    pub fn paid_on(&self, number: u32, on: NaiveDate) -> i64 {
        self.replay_as_of(Some(on)).paid.get(&number).copied().unwrap_or(0)
    }

    /// Σ paid over every installment.
    pub fn paid_total(&self) -> i64 {
        self.replay().paid.values().sum()
    }

    /// Where every credit went, in the order received.
    pub fn allocations(&self) -> Vec<Allocation> {
        self.replay().allocations
    }

    /// Received and not needed by any installment, nor yet applied or refunded.
    pub fn overpayment(&self) -> i64 {
        self.replay().overpayment
    }

    /// The day the whole overpayment of today had arisen: the day of the latest credit not
    /// needed by an installment, or of the re-spread that lowered the total when that was later
    /// (both unneeded money and a lowered total make one). `None` without an overpayment.
    pub fn overpayment_arose_on(&self) -> Option<NaiveDate> {
        let replay = self.replay();
        if replay.overpayment == 0 {
            return None;
        }
        let latest_credit = self
            .credits()
            .zip(&replay.unapplied)
            .filter(|(_, unapplied)| **unapplied > 0)
            .map(|(credit, _)| credit.on)
            .max();
        latest_credit.max(self.lowered_on)
    }

    /// Σ settled (applied elsewhere or refunded).
    pub fn settled_total(&self) -> i64 {
        self.settlements().map(|settlement| settlement.amount).sum()
    }

    /// Σ credits received.
    pub fn received_total(&self) -> i64 {
        self.credits().map(|credit| credit.amount).sum()
    }

    /// Whether `receipt_id` has been received on this account.
    pub fn has_receipt(&self, receipt_id: &ReceiptId) -> bool {
        self.credits()
            .any(|credit| matches!(&credit.source, CreditSource::Payment { receipt_id: id, .. } if id == receipt_id))
    }

    /// Where `payment` would go: the installments oldest due first, the rest an overpayment.
    /// Refused for a receipt already received, or an amount not above 0 or too large.
    pub fn allocate(&self, payment: &Payment) -> Result<PaymentAllocation, CollectionRejection> {
        let mut after = self.clone();
        after.record_payment(payment)?;
        let replay = after.replay();
        let index = replay.unapplied.len() - 1;
        let installments = replay
            .allocations
            .iter()
            .filter(|line| line.credit == index)
            .map(|line| (line.installment, line.amount))
            .collect();
        Ok(PaymentAllocation { installments, overpayment: replay.unapplied[index] })
    }

    /// Records `payment` (after the checks of [`Account::allocate`]) and returns where it went.
    pub fn receive(&mut self, payment: Payment) -> Result<PaymentAllocation, CollectionRejection> {
        let allocation = self.allocate(&payment)?;
        self.record_payment(&payment)?;
        Ok(allocation)
    }

    fn record_payment(&mut self, payment: &Payment) -> Result<(), CollectionRejection> {
        if payment.amount <= 0 || payment.amount > Yen::AMOUNT_MAX.amount() {
            return Err(CollectionRejection::AmountOutOfRange { field: "amount" });
        }
        if self.has_receipt(&payment.receipt_id) {
            return Err(CollectionRejection::DuplicateReceipt);
        }
        self.received_total()
            .checked_add(payment.amount)
            .filter(|total| *total <= Yen::AMOUNT_MAX.amount())
            .ok_or(CollectionRejection::AmountOutOfRange { field: "amount" })?;
        self.entries.push(Entry::Credit(Credit {
            source: CreditSource::Payment { receipt_id: payment.receipt_id.clone(), channel: payment.channel },
            on: payment.received_on,
            amount: payment.amount,
        }));
        Ok(())
    }

    /// Re-spreads the installments to `new_total` on `on` ([`respread`]); the payments are
    /// allocated again against the new amounts.
    pub fn reassess(
        &mut self,
        new_total: i64,
        on: NaiveDate,
        rules: &CollectionRules,
    ) -> Result<Reassessment, CollectionRejection> {
        let overpayment_before = self.overpayment();
        let installments = respread(&self.installments, new_total, on, rules)?;
        self.restate_installments(installments, on)?;
        Ok(Reassessment {
            installments: self.installments.clone(),
            overpayment_before,
            overpayment_after: self.overpayment(),
        })
    }

    /// The ordinary installments past their due date on `on` (due before it) and not paid in
    /// full by the payments received on or before `on`. Withheld installments are never the
    /// household's arrears: the pension payer owes them.
    pub fn arrears(&self, on: NaiveDate) -> Vec<Arrear> {
        let replay = self.replay_as_of(Some(on));
        self.installments
            .iter()
            .filter(|installment| installment.method == Method::Ordinary && installment.due < on)
            .filter_map(|installment| {
                let paid = replay.paid.get(&installment.number).copied().unwrap_or(0);
                let unpaid = installment.amount - paid;
                (unpaid > 0).then_some(Arrear {
                    fiscal_year: self.fiscal_year,
                    number: installment.number,
                    due: installment.due,
                    amount: installment.amount,
                    paid,
                    unpaid,
                })
            })
            .collect()
    }

    /// The installments in arrears on `on` that have had no reminder, with the reminder's
    /// deadline.
    pub fn reminder_due(&self, on: NaiveDate, rules: &CollectionRules) -> Vec<ReminderDue> {
        self.arrears(on)
            .into_iter()
            .filter(|arrear| !self.reminders.iter().any(|issued| issued.number == arrear.number))
            .map(|arrear| {
                let deadline = rules.reminder_deadline(arrear.due);
                ReminderDue { number: arrear.number, due: arrear.due, deadline, overdue: on > deadline }
            })
            .collect()
    }

    /// Records a reminder for installment `number` issued on `on`. Refused unless the
    /// installment is in arrears that day and has had none.
    pub fn issue_reminder(
        &mut self,
        number: u32,
        on: NaiveDate,
        rules: &CollectionRules,
    ) -> Result<ReminderIssued, CollectionRejection> {
        let installment = self.installment(number).ok_or(CollectionRejection::InstallmentNotFound { number })?;
        if installment.method != Method::Ordinary || installment.due >= on {
            return Err(CollectionRejection::NotPastDue { number });
        }
        if self.reminders.iter().any(|issued| issued.number == number) {
            return Err(CollectionRejection::ReminderAlreadyIssued { number });
        }
        if self.paid(number) >= installment.amount {
            return Err(CollectionRejection::InstallmentPaid { number });
        }
        let issued = ReminderIssued { number, issued_on: on, in_time: on <= rules.reminder_deadline(installment.due) };
        self.reminders.push(issued.clone());
        Ok(issued)
    }

    /// The late fee of installment `number` charged through `paid_on` (the day it was paid in
    /// full, or the day asked about), from the payments allocated to it. A withheld installment
    /// bears none.
    pub fn late_fee(
        &self,
        number: u32,
        paid_on: NaiveDate,
        rules: &CollectionRules,
    ) -> Result<LateFee, CollectionRejection> {
        let installment = self.installment(number).ok_or(CollectionRejection::InstallmentNotFound { number })?;
        if installment.method == Method::Special {
            return Ok(LateFee { due: installment.due, through: paid_on, steps: Vec::new(), computed: 0, fee: 0 });
        }
        let payments: Vec<(NaiveDate, i64)> = self
            .replay()
            .allocations
            .iter()
            .filter(|line| line.installment == number)
            .map(|line| (line.on, line.amount))
            .collect();
        late_fee(installment.amount, installment.due, &payments, paid_on, &rules.national.late_fee)
    }

    /// Puts `installments` in force as recorded by an event (a re-spread decided on `on`); the
    /// payments are allocated again against them.
    pub fn restate_installments(
        &mut self,
        installments: Vec<Installment>,
        on: NaiveDate,
    ) -> Result<(), CollectionRejection> {
        check_installments(&installments)?;
        let total = |installments: &[Installment]| installments.iter().map(|i| i.amount).sum::<i64>();
        if total(&installments) < total(&self.installments) {
            self.lowered_on = Some(on);
        }
        self.installments = installments;
        self.installments.sort_by_key(|installment| (installment.due, installment.number));
        Ok(())
    }

    /// Records a settlement decided earlier (replaying its event).
    pub fn record_settlement(&mut self, settlement: Settlement) {
        self.entries.push(Entry::Settled(settlement));
    }

    /// Records an overpayment of the household's account for `from` applied here on `on`
    /// (replaying its event).
    pub fn record_offset(&mut self, from: FiscalYear, on: NaiveDate, amount: i64) {
        self.entries.push(Entry::Credit(Credit {
            source: CreditSource::Offset { from_fiscal_year: from },
            on,
            amount,
        }));
    }

    /// Records a reminder issued earlier (replaying its event).
    pub fn record_reminder(&mut self, issued: ReminderIssued) {
        self.reminders.push(issued);
    }

    /// Whether a 限度額適用認定証 may be issued on `on` as far as this year goes.
    pub fn may_issue_limit_certificate(&self, on: NaiveDate) -> Result<(), CollectionRejection> {
        may_issue_limit_certificate(std::slice::from_ref(self), on)
    }
}

/// Whether a 限度額適用認定証 may be issued to the household on `on`: refused, naming the oldest,
/// when any of its accounts has an installment in arrears that day (国民健康保険法施行規則
/// §27の14の2 ①: not to a household whose head is in arrears; the special circumstances of
/// 国民健康保険法施行令 §28の6 are for a person to judge).
pub fn may_issue_limit_certificate(accounts: &[Account], on: NaiveDate) -> Result<(), CollectionRejection> {
    let oldest = accounts
        .iter()
        .flat_map(|account| account.arrears(on))
        .min_by_key(|arrear| (arrear.due, arrear.fiscal_year, arrear.number));
    match oldest {
        Some(arrear) => {
            Err(CollectionRejection::InArrears { fiscal_year: arrear.fiscal_year.year(), installment: arrear.number })
        }
        None => Ok(()),
    }
}

/// Settles `source`'s overpayment on `on`: first applied to the arrears of the household's other
/// accounts (`others`: other fiscal years of the same household), the oldest due first (充当,
/// 地方税法 §17の2 ①), each application a credit on that account dated `on`; the rest refunded
/// (還付, §17). Returns every decision with its reason. Refused when there is nothing to settle
/// or an account in `others` is not another year of the same household.
pub fn settle_overpayment(
    source: &mut Account,
    others: &mut [Account],
    on: NaiveDate,
) -> Result<Vec<Settlement>, CollectionRejection> {
    let mut left = source.overpayment();
    if left == 0 {
        return Err(CollectionRejection::NoOverpayment);
    }
    let mut years: Vec<FiscalYear> = others.iter().map(|other| other.fiscal_year).collect();
    years.sort_unstable();
    let repeated = years.windows(2).any(|w| w[0] == w[1]);
    if repeated
        || others.iter().any(|other| other.household != source.household || other.fiscal_year == source.fiscal_year)
    {
        return Err(CollectionRejection::Invalid {
            field: "others",
            accepts: "accounts of the same household for other fiscal years, one per year",
        });
    }
    let mut arrears: Vec<(usize, Arrear)> = others
        .iter()
        .enumerate()
        .flat_map(|(index, other)| other.arrears(on).into_iter().map(move |arrear| (index, arrear)))
        .collect();
    arrears.sort_by_key(|(_, arrear)| (arrear.due, arrear.fiscal_year, arrear.number));
    // 充当適状日 (地方税法 §17の2 ④, 施行令 §6の14): the later of the installment's due date and the
    // day the overpayment arose; the application takes effect then, and the installment's late
    // fee stops there.
    let arose_on = source.overpayment_arose_on().unwrap_or(on).min(on);
    let mut decisions = Vec::new();
    for (index, arrear) in arrears {
        if left == 0 {
            break;
        }
        let amount = left.min(arrear.unpaid);
        left -= amount;
        let effective_on = arose_on.max(arrear.due).min(on);
        others[index].entries.push(Entry::Credit(Credit {
            source: CreditSource::Offset { from_fiscal_year: source.fiscal_year },
            on: effective_on,
            amount,
        }));
        decisions.push(Settlement {
            on,
            effective_on,
            amount,
            kind: SettlementKind::Applied { to_fiscal_year: arrear.fiscal_year, installment: arrear.number },
            reason: SettlementReason::AppliedToArrears,
        });
    }
    if left > 0 {
        decisions.push(Settlement {
            on,
            effective_on: on,
            amount: left,
            kind: SettlementKind::Refunded,
            reason: SettlementReason::RefundedNoArrearsLeft,
        });
    }
    source.entries.extend(decisions.iter().cloned().map(Entry::Settled));
    Ok(decisions)
}
