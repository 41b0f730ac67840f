//! Properties of collection that must hold for any amounts and dates: installments sum to the
//! annual amount, a payment is never left unapplied, and money balances through reassessments,
//! applications and refunds.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use uuid::Uuid;

use super::examples::{date, kumagaya, pay};
use super::*;
use crate::FiscalYear;

/// A day of FY2025 (2025-04-01 + 0..365).
fn day_of_2025() -> impl Strategy<Value = NaiveDate> {
    (0u64..365).prop_map(|offset| date(2025, 4, 1).checked_add_days(Days::new(offset)).unwrap())
}

/// What can happen to an account.
#[derive(Debug, Clone)]
enum Step {
    Pay(i64, NaiveDate),
    Reassess(i64, NaiveDate),
    Settle(NaiveDate),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1i64..200_000, day_of_2025()).prop_map(|(amount, on)| Step::Pay(amount, on)),
        2 => (0i64..400_000, day_of_2025()).prop_map(|(total, on)| Step::Reassess(total, on)),
        1 => day_of_2025().prop_map(Step::Settle),
    ]
}

proptest! {
    #[test]
    fn installments_always_sum_to_the_annual_amount(
        total in 0i64..=1_000_000_000_000,
        count in 1usize..=12,
        unit in prop::sample::select(vec![1i64, 10, 100, 1000]),
    ) {
        let amounts = split(total, count, unit).unwrap();
        prop_assert_eq!(amounts.len(), count);
        prop_assert_eq!(amounts.iter().sum::<i64>(), total);
        let later = amounts[1..].to_vec();
        prop_assert!(later.iter().all(|amount| *amount == amounts.last().copied().unwrap() && amount % unit == 0));
        // The first takes less than one unit per installment beyond the others.
        if let Some(&other) = later.first() {
            prop_assert!(amounts[0] >= other && amounts[0] - other < unit * count as i64);
        }
    }

    /// Assessed on any day of the year, the installments sum to the total and none is already
    /// due with an amount: nobody is in arrears the day the tax is assessed.
    #[test]
    fn a_schedule_made_on_any_day_sums_to_the_total_and_charges_nothing_already_due(
        total in 0i64..10_000_000,
        on in day_of_2025(),
    ) {
        let rules = kumagaya(2025);
        let installments = ordinary_from(total, on, &rules).unwrap();
        prop_assert_eq!(installments.iter().map(|i| i.amount).sum::<i64>(), total);
        prop_assert!(installments.iter().all(|i| i.due >= on || i.amount == 0));
        let account = Account::new(Uuid::nil(), FiscalYear::new(2025), installments).unwrap();
        prop_assert!(account.arrears(on).is_empty());
    }

    #[test]
    fn ordinary_and_withheld_schedules_sum_to_the_annual_amount(total in 0i64..10_000_000, provisional in 0i64..1_000_000) {
        let rules = kumagaya(2025);
        let ordinary = ordinary(total, &rules).unwrap();
        prop_assert_eq!(ordinary.iter().map(|i| i.amount).sum::<i64>(), total);
        prop_assert!(ordinary.windows(2).all(|w| w[0].due < w[1].due));
        let withheld = special(total, provisional, &rules).unwrap();
        let sum: i64 = withheld.installments.iter().map(|i| i.amount).sum();
        prop_assert_eq!(sum - withheld.overpayment, total);
        prop_assert!(withheld.installments.iter().all(|i| i.amount >= 0));
    }

    #[test]
    fn a_respread_keeps_what_was_due_and_sums_to_the_new_total(
        total in 0i64..2_000_000,
        new_total in 0i64..2_000_000,
        on in day_of_2025(),
    ) {
        let rules = kumagaya(2025);
        let before = ordinary(total, &rules).unwrap();
        let after = respread(&before, new_total, on, &rules).unwrap();
        prop_assert_eq!(after.iter().map(|i| i.amount).sum::<i64>(), new_total);
        prop_assert!(after.iter().all(|i| i.amount >= 0));
        let due_before: i64 = before.iter().filter(|i| i.due < on).map(|i| i.amount).sum();
        if new_total >= due_before {
            for (old, new) in before.iter().zip(&after) {
                if old.due < on {
                    prop_assert_eq!(old.amount, new.amount);
                }
            }
        }
    }

    /// Allocation never leaves a payment unapplied: what the installments take plus the
    /// overpayment is the payment, to the yen, and money always balances.
    #[test]
    fn a_payment_is_always_applied_and_the_account_balances(
        total in 0i64..400_000,
        steps in prop::collection::vec(step(), 1..25),
    ) {
        let rules = kumagaya(2025);
        let household = Uuid::from_u128(1);
        let mut account = Account::new(household, FiscalYear::new(2025), ordinary(total, &rules).unwrap()).unwrap();
        // Another year with arrears to apply overpayments to.
        let mut other = Account::new(household, FiscalYear::new(2024), ordinary(50_000, &kumagaya(2024)).unwrap()).unwrap();
        let mut applied_elsewhere = 0i64;
        for (index, step) in steps.into_iter().enumerate() {
            match step {
                Step::Pay(amount, on) => {
                    let before = account.overpayment();
                    let allocation = account.receive(pay(&format!("R-{index}"), on, amount)).unwrap();
                    let to_installments: i64 = allocation.installments.iter().map(|(_, amount)| amount).sum();
                    prop_assert_eq!(to_installments + allocation.overpayment, amount);
                    prop_assert_eq!(account.overpayment(), before + allocation.overpayment);
                    // Oldest due first: every installment paid before the last one touched is full.
                    if let Some((last, _)) = allocation.installments.last() {
                        let position = account.installments().iter().position(|i| i.number == *last).unwrap();
                        for installment in &account.installments()[..position] {
                            prop_assert_eq!(account.paid(installment.number), installment.amount);
                        }
                    }
                }
                Step::Reassess(new_total, on) => {
                    account.reassess(new_total, on, &rules).unwrap();
                    prop_assert_eq!(account.total(), new_total);
                }
                Step::Settle(on) => {
                    let overpayment = account.overpayment();
                    match settle_overpayment(&mut account, std::slice::from_mut(&mut other), on) {
                        Ok(decisions) => {
                            prop_assert_eq!(decisions.iter().map(|d| d.amount).sum::<i64>(), overpayment);
                            applied_elsewhere += decisions
                                .iter()
                                .filter(|d| d.reason == SettlementReason::AppliedToArrears)
                                .map(|d| d.amount)
                                .sum::<i64>();
                            prop_assert_eq!(account.overpayment(), 0);
                        }
                        Err(error) => prop_assert_eq!((error, overpayment), (CollectionRejection::NoOverpayment, 0)),
                    }
                }
            }
            // received = paid + overpayment + (applied elsewhere + refunded)
            prop_assert_eq!(
                account.received_total(),
                account.paid_total() + account.overpayment() + account.settled_total()
            );
            prop_assert!(account.paid_total() <= account.total());
            for installment in account.installments() {
                let paid = account.paid(installment.number);
                prop_assert!((0..=installment.amount).contains(&paid));
            }
            // What was applied to the other year arrived there, as credits it took in full.
            let offsets: i64 = other.credits().map(|credit| credit.amount).sum();
            prop_assert_eq!(offsets, applied_elsewhere);
            prop_assert_eq!(other.paid_total() + other.overpayment(), offsets);
        }
    }

    /// The longer a principal stays unpaid, the larger (never smaller) its late fee.
    #[test]
    fn a_late_fee_never_falls_as_the_days_go_by(principal in 0i64..5_000_000, days in 0u64..600, more in 0u64..150) {
        let rules = kumagaya(2025).national.late_fee;
        let due = date(2024, 7, 31);
        let through = due.checked_add_days(Days::new(days)).unwrap();
        let later = through.checked_add_days(Days::new(more)).unwrap();
        let first = late_fee(principal, due, &[], through, &rules).unwrap();
        let second = late_fee(principal, due, &[], later, &rules).unwrap();
        prop_assert!(first.computed <= second.computed);
        prop_assert!(first.fee <= second.fee);
        prop_assert!(first.fee == 0 || (first.fee >= 1_000 && first.fee % 100 == 0));
        prop_assert_eq!(first.steps.iter().map(|s| s.days).sum::<i64>(), if principal >= 2_000 { days as i64 } else { 0 });
    }
}
