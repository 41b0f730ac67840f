//! The pension payer's notice (年金特別徴収対象者通知) on a household's account, and what the
//! schedule makes of it.
//!
//! The notice reaches the collection section before the year's assessment: it says the head's
//! annual pension the tax may be withheld from, the head's care premium (介護保険料) and whether it
//! is itself withheld, and the provisional amount (仮徴収額) withheld in April, June and August
//! (fixed from the previous year). A clerk records it on the account of the fiscal year
//! (`RecordPensionNotice`); a later notice replaces it; an account already scheduled refuses it
//! (withholding then starts from a later year's notice). When the collection policy schedules the
//! account after the assessment, the notice, the household of the year (head insured, the
//! insured members' dates of birth) and the assessed total are the input of the rule file's
//! conditions ([`super::special_conditions`], 地方税法 §706 ②, §706の2): met, the six withholdings;
//! failed, ordinary installments with the failed conditions recorded.

use chrono::NaiveDate;
use kokuho_events::{LedgerEvent, PensionNoticeFacts, PensionNoticeRecorded, Personal};
use serde::Serialize;
use uuid::Uuid;

use super::household_account::{AccountId, AccountState, SpecialRequest};
use super::schedule::SpecialInput;
use super::CollectionRejection;
use crate::{FiscalYear, Yen};

/// The notice as the account keeps it. `facts` is `None` when the reader did not decrypt it or
/// the head's key was destroyed (erasure): the schedule then cannot use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PensionNotice {
    pub head_person_id: Uuid,
    pub notified_on: NaiveDate,
    pub provisional_each: i64,
    pub facts: Option<PensionNoticeFacts>,
}

impl PensionNotice {
    pub fn of(event: &PensionNoticeRecorded) -> PensionNotice {
        PensionNotice {
            head_person_id: event.head_person_id,
            notified_on: event.notified_on,
            provisional_each: event.provisional_each_yen,
            facts: event.personal.as_present().cloned(),
        }
    }
}

/// The household of the fiscal year as pension withholding looks at it (from the ledger's
/// household and persons, by the lookups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecialHousehold {
    /// The head of household (世帯主), insured or not.
    pub head_person_id: Uuid,
    /// The head is insured in the year (not a 擬制世帯主).
    pub head_insured: bool,
    /// The dates of birth of the members insured in the year, the head among them when insured.
    pub insured_dates_of_birth: Vec<NaiveDate>,
}

/// What the clerk enters from the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeEntry {
    /// The day the notice was received; `None` for the day of the decision (a retry after
    /// midnight is the same command).
    pub notified_on: Option<NaiveDate>,
    pub provisional_each: i64,
    pub head_annual_pension: i64,
    pub care_premium: i64,
    pub care_premium_withheld: bool,
}

fn amount(field: &'static str, value: i64) -> Result<i64, CollectionRejection> {
    if (0..=Yen::AMOUNT_MAX.amount()).contains(&value) {
        Ok(value)
    } else {
        Err(CollectionRejection::AmountOutOfRange { field })
    }
}

/// Records the notice on an account not yet scheduled.
pub fn record(
    id: AccountId,
    state: &AccountState,
    entry: NoticeEntry,
    household: Option<&SpecialHousehold>,
    today: NaiveDate,
) -> Result<Vec<LedgerEvent>, CollectionRejection> {
    let notified_on = entry.notified_on.unwrap_or(today);
    if notified_on > today {
        return Err(CollectionRejection::Invalid { field: "notified_on", accepts: "a day on or before today" });
    }
    let facts = PensionNoticeFacts {
        head_annual_pension_yen: amount("head_annual_pension_yen", entry.head_annual_pension)?,
        care_premium_yen: amount("care_premium_yen", entry.care_premium)?,
        care_premium_withheld: entry.care_premium_withheld,
    };
    let provisional_each = amount("provisional_each_yen", entry.provisional_each)?;
    let household = household.ok_or(CollectionRejection::HouseholdNotFound { household_id: id.household_id })?;
    if state.account.is_some() {
        return Err(CollectionRejection::AlreadyScheduled { fiscal_year: id.fiscal_year });
    }
    Ok(vec![LedgerEvent::PensionNoticeRecorded(PensionNoticeRecorded {
        household_id: id.household_id,
        fiscal_year: id.fiscal_year,
        head_person_id: household.head_person_id,
        notified_on,
        provisional_each_yen: provisional_each,
        personal: Personal::Present(facts),
    })])
}

/// The special request the schedule of `assessed_total` decides from, or the reason there is
/// none to decide from (recorded with the ordinary installments as a failed condition):
/// `pension_notice_unavailable` when the notice's figures cannot be read (the head erased),
/// `household_not_found` when the household of the year is not known, `no_insured_member`,
/// `head_changed` when the head is no longer the person the notice is about.
pub fn request(
    fiscal_year: i32,
    notice: &PensionNotice,
    household: Option<&SpecialHousehold>,
    assessed_total: i64,
) -> Result<SpecialRequest, &'static str> {
    let facts = notice.facts.as_ref().ok_or("pension_notice_unavailable")?;
    let household = household.ok_or("household_not_found")?;
    if household.head_person_id != notice.head_person_id {
        return Err("head_changed");
    }
    if household.insured_dates_of_birth.is_empty() {
        return Err("no_insured_member");
    }
    Ok(SpecialRequest {
        provisional_each: notice.provisional_each,
        input: SpecialInput {
            fiscal_year: FiscalYear::new(fiscal_year),
            head_insured: household.head_insured,
            insured_dates_of_birth: household.insured_dates_of_birth.clone(),
            head_annual_pension: facts.head_annual_pension_yen,
            annual_tax: assessed_total,
            care_premium: facts.care_premium_yen,
            care_premium_withheld: facts.care_premium_withheld,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kokuho_events::InstallmentMethod;

    use super::super::examples::{date, kumagaya};
    use super::super::household_account::{AccountCommand, AccountLookups, HouseholdAccount, LoadedCollectionRules};
    use super::*;
    use crate::{Aggregate, Refusal};

    const HEAD: Uuid = Uuid::from_u128(41);

    fn household() -> SpecialHousehold {
        // A head of 66 and a spouse of 68 on 1 April 2025, both insured.
        SpecialHousehold {
            head_person_id: HEAD,
            head_insured: true,
            insured_dates_of_birth: vec![date(1959, 5, 1), date(1957, 5, 1)],
        }
    }

    fn lookups(today: NaiveDate, household: Option<SpecialHousehold>) -> AccountLookups {
        let rules = LoadedCollectionRules {
            rules: Arc::new(kumagaya(2025)),
            file: "112020/2025/collection.toml".into(),
            sha256: "a".repeat(64),
            national_sha256: "b".repeat(64),
        };
        AccountLookups { today, rules: Ok(rules), others: Vec::new(), household }
    }

    fn id() -> AccountId {
        AccountId { household_id: Uuid::from_u128(7), fiscal_year: 2025 }
    }

    fn entry(pension: i64) -> NoticeEntry {
        NoticeEntry {
            notified_on: None,
            provisional_each: 20_000,
            head_annual_pension: pension,
            care_premium: 80_000,
            care_premium_withheld: true,
        }
    }

    fn decide(state: &AccountState, command: AccountCommand, lookups: &AccountLookups) -> Vec<LedgerEvent> {
        HouseholdAccount::decide(id(), state, command, lookups).unwrap()
    }

    fn fold(state: AccountState, events: &[LedgerEvent]) -> AccountState {
        events.iter().fold(state, HouseholdAccount::evolve)
    }

    fn schedule_on(on: NaiveDate) -> AccountCommand {
        AccountCommand::Schedule { assessed_total: 140_000, special: None, triggered_by: Some(3), on: Some(on) }
    }

    /// (method, failed conditions, amounts) of the schedule decided.
    fn scheduled(events: &[LedgerEvent]) -> (InstallmentMethod, Vec<String>, Vec<i64>) {
        let LedgerEvent::AccountScheduled(e) = &events[0] else { panic!("{events:?}") };
        (e.method, e.special_conditions_failed.clone(), e.installments.iter().map(|i| i.amount_yen).collect())
    }

    /// 新宮市's withheld example (city.shingu.lg.jp/Info/615, as in examples.rs), reached the way a
    /// clerk reaches it: the notice recorded in May (pension 1,200,000; care premium 80,000
    /// withheld; 仮徴収 20,000), the assessment of 140,000 in July → 20,000 × 3 then 26,800, 26,600,
    /// 26,600. The notice's figures are sealed with the head's key; the provisional amount is clear.
    #[test]
    fn a_recorded_notice_makes_the_schedule_withhold_from_the_pension() {
        let today = date(2025, 5, 20);
        let events = decide(
            &AccountState::default(),
            AccountCommand::RecordPensionNotice(entry(1_200_000)),
            &lookups(today, Some(household())),
        );
        let LedgerEvent::PensionNoticeRecorded(recorded) = &events[0] else { panic!("{events:?}") };
        assert_eq!((recorded.head_person_id, recorded.notified_on), (HEAD, today));
        assert_eq!(events[0].subject(), Some(HEAD), "sealed with the head's key");
        assert!(!String::from_utf8_lossy(&events[0].encode().payload).contains("1200000"));
        let state = fold(AccountState::default(), &events);

        let events = decide(&state, schedule_on(date(2025, 7, 1)), &lookups(date(2025, 7, 1), Some(household())));
        assert_eq!(
            scheduled(&events),
            (InstallmentMethod::Special, vec![], vec![20_000, 20_000, 20_000, 26_800, 26_600, 26_600])
        );
        // A pension below 180,000 fails a condition: ordinary, the condition recorded.
        let low = fold(
            AccountState::default(),
            &decide(
                &AccountState::default(),
                AccountCommand::RecordPensionNotice(entry(170_000)),
                &lookups(today, Some(household())),
            ),
        );
        let events = decide(&low, schedule_on(date(2025, 7, 1)), &lookups(date(2025, 7, 1), Some(household())));
        let (method, failed, amounts) = scheduled(&events);
        assert_eq!(
            (method, failed, amounts.len()),
            (InstallmentMethod::Ordinary, vec!["pension_below_minimum".into(), "above_share_of_pension".into()], 8)
        );
    }

    /// What the notice cannot do: change an account already scheduled, name a day after today,
    /// carry a negative amount, or be recorded for a household the ledger does not know. Each
    /// refusal names the field, never the value.
    #[test]
    fn a_notice_is_refused_on_a_scheduled_account_and_for_bad_figures() {
        let today = date(2025, 7, 10);
        let known = lookups(today, Some(household()));
        let plain = AccountCommand::Schedule { assessed_total: 140_000, special: None, triggered_by: None, on: None };
        let state = fold(AccountState::default(), &decide(&AccountState::default(), plain, &known));
        let refused = |state: &AccountState, entry: NoticeEntry, lookups: &AccountLookups| {
            HouseholdAccount::decide(id(), state, AccountCommand::RecordPensionNotice(entry), lookups).unwrap_err()
        };
        assert_eq!(refused(&state, entry(1_200_000), &known).code(), "account_already_scheduled");
        let blank = AccountState::default();
        let future = NoticeEntry { notified_on: Some(date(2025, 7, 11)), ..entry(1_200_000) };
        let error = refused(&blank, future, &known);
        assert_eq!(error.code(), "invalid_field");
        assert!(error.to_string().contains("notified_on") && !error.to_string().contains("2025"), "{error}");
        let error = refused(&blank, entry(-1), &known);
        assert_eq!(error.code(), "amount_out_of_range");
        assert!(error.to_string().contains("head_annual_pension_yen"), "{error}");
        assert_eq!(refused(&blank, entry(1_200_000), &lookups(today, None)).code(), "household_not_found");
    }

    /// A notice the schedule cannot use leaves the year ordinary and says why: the head erased
    /// (the figures are gone with the key), another head since, or the assessment made after
    /// the first withholding after the provisional ones (15 October) — the pension payer can no
    /// longer be asked, and only the ordinary installments left are charged.
    #[test]
    fn a_notice_the_schedule_cannot_use_leaves_the_year_ordinary_with_the_reason() {
        let recorded = decide(
            &AccountState::default(),
            AccountCommand::RecordPensionNotice(entry(1_200_000)),
            &lookups(date(2025, 5, 20), Some(household())),
        );
        let state = fold(AccountState::default(), &recorded);
        let july = date(2025, 7, 1);

        let mut erased = state.clone();
        erased.pension_notice.as_mut().unwrap().facts = None;
        let events = decide(&erased, schedule_on(july), &lookups(july, Some(household())));
        assert_eq!(scheduled(&events).1, ["pension_notice_unavailable"]);

        let other_head = SpecialHousehold { head_person_id: Uuid::from_u128(42), ..household() };
        let events = decide(&state, schedule_on(july), &lookups(july, Some(other_head)));
        assert_eq!(scheduled(&events).1, ["head_changed"]);

        let november = date(2025, 11, 10);
        let events = decide(&state, schedule_on(november), &lookups(november, Some(household())));
        let (method, failed, amounts) = scheduled(&events);
        assert_eq!((method, failed), (InstallmentMethod::Ordinary, vec!["main_withholding_already_due".to_owned()]));
        assert_eq!(amounts, [35_000, 35_000, 35_000, 35_000], "installments 5–8 only");
    }
}
