//! Worked examples of collection, each checked to the yen against the page it cites, and the
//! edge cases a clerk would notice (docs/domain.md §5, "Collection").

use chrono::NaiveDate;
use uuid::Uuid;

use super::*;
use crate::aggregate::Refusal;
use crate::tax::Rate;
use crate::FiscalYear;

pub(super) fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

pub(super) fn national() -> NationalCollection {
    toml::from_str(include_str!("../../../../rules/collection_national.toml")).unwrap()
}

/// Kumagaya's shipped collection rules for `year` (2024–2026).
pub(super) fn kumagaya(year: i32) -> CollectionRules {
    let city = match year {
        2024 => include_str!("../../../../rules/112020/2024/collection.toml"),
        2025 => include_str!("../../../../rules/112020/2025/collection.toml"),
        2026 => include_str!("../../../../rules/112020/2026/collection.toml"),
        _ => panic!("no shipped collection file for {year}"),
    };
    CollectionRules::new(national(), toml::from_str(city).unwrap(), "112020", year).unwrap()
}

pub(super) fn pay(receipt: &str, on: NaiveDate, amount: i64) -> Payment {
    Payment { receipt_id: ReceiptId::parse(receipt).unwrap(), received_on: on, channel: Channel::Bank, amount }
}

fn rate(text: &str) -> Rate {
    Rate::parse(text).unwrap()
}

fn dues(installments: &[Installment]) -> Vec<NaiveDate> {
    installments.iter().map(|installment| installment.due).collect()
}

/// 豊橋市「延滞金について」(city.toyohashi.lg.jp, menuid=10874): 令和3年度固定資産税 第1期 65,000円,
/// 納期限 令和3年5月31日, 納付 令和4年1月31日: (65,000 × 2.5% × 30 ÷ 365) + (65,000 × 8.8% × 184 ÷ 365)
/// + (65,000 × 8.7% × 31 ÷ 365) = 133 + 2,883 + 480 = 3,496 → 延滞金 3,400円.
#[test]
fn toyohashi_late_fee_65000_yen_paid_eight_months_late_is_3400_yen() {
    let rules = kumagaya(2025);
    let fee = late_fee(65_000, date(2021, 5, 31), &[], date(2022, 1, 31), &rules.national.late_fee).unwrap();
    let steps: Vec<_> =
        fee.steps.iter().map(|step| (step.from, step.to, step.base, step.rate, step.days, step.amount)).collect();
    assert_eq!(
        steps,
        vec![
            (date(2021, 6, 1), date(2021, 6, 30), 65_000, rate("2.5%"), 30, 133),
            (date(2021, 7, 1), date(2021, 12, 31), 65_000, rate("8.8%"), 184, 2_883),
            (date(2022, 1, 1), date(2022, 1, 31), 65_000, rate("8.7%"), 31, 480),
        ]
    );
    assert_eq!((fee.computed, fee.fee), (3_496, 3_400));

    // The same through an account: the installment paid in full on the day.
    let installment = Installment { number: 1, method: Method::Ordinary, due: date(2021, 5, 31), amount: 65_000 };
    let mut account = Account::new(Uuid::nil(), FiscalYear::new(2021), vec![installment]).unwrap();
    account.receive(pay("R-1", date(2022, 1, 31), 65_000)).unwrap();
    assert_eq!(account.late_fee(1, date(2022, 1, 31), &rules).unwrap().fee, 3_400);
}

/// The rules of the late fee at their edges (地方税法 §20の4の2 ②⑤; 紋別市 「滞納と延滞金」:
/// 延滞金額が1,000円未満, 税額が2,000円未満の場合は加算されない).
#[test]
fn a_late_fee_truncates_the_principal_to_1000_and_the_fee_to_100_and_drops_small_ones() {
    let rules = kumagaya(2025).national.late_fee;
    // 300,000 due 2024-07-31, paid a year later: 31 days at 2.4% (611.5 → 611), then 334 days at
    // 8.7% across the new year, one step as the rate stays (23,883.3 → 23,883): 24,494 → 24,400.
    let fee = late_fee(300_000, date(2024, 7, 31), &[], date(2025, 7, 31), &rules).unwrap();
    let amounts: Vec<_> = fee.steps.iter().map(|step| (step.days, step.amount)).collect();
    assert_eq!(amounts, vec![(31, 611), (334, 23_883)]);
    assert_eq!(fee.fee, 24_400);

    // A partial payment lowers the principal from the next day: 100,000 on 2024-09-30, the rest on
    // 2024-12-31: 611 + 300,000 × 8.7% × 30 ÷ 365 (2,145) + 200,000 × 8.7% × 92 ÷ 365 (4,385).
    let payments = [(date(2024, 9, 30), 100_000), (date(2024, 12, 31), 200_000)];
    let fee = late_fee(300_000, date(2024, 7, 31), &payments, date(2024, 12, 31), &rules).unwrap();
    let steps: Vec<_> = fee.steps.iter().map(|step| (step.base, step.days, step.amount)).collect();
    assert_eq!(steps, vec![(300_000, 31, 611), (300_000, 30, 2_145), (200_000, 92, 4_385)]);
    assert_eq!((fee.computed, fee.fee), (7_141, 7_100));

    // 12,345 is charged as 12,000.
    let fee = late_fee(12_345, date(2024, 7, 31), &[], date(2025, 7, 31), &rules).unwrap();
    assert!(fee.steps.iter().all(|step| step.base == 12_000));
    // 12,000 × 8.7% × 334 ÷ 365 = 955 + 12,000 × 2.4% × 31 ÷ 365 = 24: 979, below 1,000: none.
    assert_eq!((fee.computed, fee.fee), (979, 0));
    // A principal below 2,000 bears nothing, however late.
    let fee = late_fee(1_999, date(2024, 7, 31), &[], date(2025, 12, 31), &rules).unwrap();
    assert_eq!((fee.steps.len(), fee.fee), (0, 0));
    // A year without rates is refused, naming it.
    let error = late_fee(100_000, date(2026, 11, 30), &[], date(2027, 1, 10), &rules).unwrap_err();
    assert_eq!(error, CollectionRejection::LateFeeRatesUnavailable { year: 2027 });
    assert_eq!(error.code(), "late_fee_rates_unavailable");
}

/// The first month runs from the day after the due date to the day before the same day of the
/// next month, or to that month's last day when it has none (民法 §143 ②).
#[test]
fn the_first_month_after_a_due_date_ends_as_the_civil_code_counts() {
    assert_eq!(late_fee::months_end(date(2021, 6, 1), 1), date(2021, 6, 30));
    assert_eq!(late_fee::months_end(date(2025, 1, 31), 1), date(2025, 2, 28));
    assert_eq!(late_fee::months_end(date(2024, 1, 31), 1), date(2024, 2, 29));
    assert_eq!(late_fee::months_end(date(2024, 12, 3), 1), date(2025, 1, 2));
}

/// A payment on the due date is not late; the day after is, from its first day.
#[test]
fn a_payment_on_the_due_date_is_not_late() {
    let rules = kumagaya(2025);
    let installments = ordinary(80_000, &rules).unwrap();
    let first_due = installments[0].due;
    assert_eq!(first_due, date(2025, 7, 31));
    let mut account = Account::new(Uuid::nil(), FiscalYear::new(2025), installments.clone()).unwrap();
    assert!(account.arrears(first_due).is_empty(), "not past due on its own day");
    assert_eq!(account.arrears(date(2025, 8, 1)).len(), 1);
    account.receive(pay("R-1", first_due, 10_000)).unwrap();
    let fee = account.late_fee(1, first_due, &rules).unwrap();
    assert_eq!((fee.steps.len(), fee.fee), (0, 0));
    assert!(account.arrears(date(2025, 8, 1)).is_empty());
    // As the account stood the day before the payment: nothing paid, as its arrears say (review
    // finding: the account's view showed what was paid later beside the arrears of that day).
    assert_eq!(
        (account.paid_on(1, first_due.pred_opt().unwrap()), account.paid_on(1, first_due), account.paid(1)),
        (0, 10_000, 10_000)
    );

    // Paid a day late: one day is charged (10,000 × 2.4% ÷ 365 → 0 yen: no fee).
    let mut late = Account::new(Uuid::nil(), FiscalYear::new(2025), installments).unwrap();
    late.receive(pay("R-1", date(2025, 8, 1), 10_000)).unwrap();
    let fee = late.late_fee(1, date(2025, 8, 1), &rules).unwrap();
    assert_eq!(fee.steps.iter().map(|step| step.days).sum::<i64>(), 1);
    assert_eq!(fee.fee, 0);
}

/// Due dates: the month's last day, moved past Saturdays, Sundays, holidays and 29 December – 3
/// January (地方税法 §20の5 ②). FY2025's moved dates are the ones 八潮市 publishes for the same
/// months (city.yashio.lg.jp/kurashi/zeikin/kenkohokenzei/noki.html, 令和7年度: 7月31日, 9月1日,
/// 9月30日, 10月31日, 12月1日, 2月2日, 3月2日; its December installment is due on the 25th).
#[test]
fn kumagaya_due_dates_move_past_weekends_holidays_and_the_new_year() {
    assert_eq!(
        dues(&ordinary(80_000, &kumagaya(2024)).unwrap()),
        vec![
            date(2024, 7, 31),
            date(2024, 9, 2),
            date(2024, 9, 30),
            date(2024, 10, 31),
            date(2024, 12, 2),
            date(2025, 1, 6), // 31 December → past 1–3 January and a weekend
            date(2025, 1, 31),
            date(2025, 2, 28),
        ]
    );
    let fy2025 = dues(&ordinary(80_000, &kumagaya(2025)).unwrap());
    assert_eq!(
        fy2025,
        vec![
            date(2025, 7, 31),
            date(2025, 9, 1),
            date(2025, 9, 30),
            date(2025, 10, 31),
            date(2025, 12, 1),
            date(2026, 1, 5),
            date(2026, 2, 2),
            date(2026, 3, 2),
        ]
    );
    assert_eq!(
        dues(&ordinary(80_000, &kumagaya(2026)).unwrap()),
        vec![
            date(2026, 7, 31),
            date(2026, 8, 31),
            date(2026, 9, 30),
            date(2026, 11, 2),
            date(2026, 11, 30),
            date(2027, 1, 4),
            date(2027, 2, 1),
            date(2027, 3, 1),
        ]
    );
    // National holidays count: 2026-09-21 (敬老の日), 22 (国民の休日), 23 (秋分の日).
    let rules = kumagaya(2026);
    assert_eq!(rules.open_on_or_after(date(2026, 9, 19)).unwrap(), date(2026, 9, 24));
    assert_eq!(rules.open_on_or_before(date(2026, 5, 6)).unwrap(), date(2026, 5, 1));
    // A year the holiday list does not cover is refused rather than guessed.
    let error = rules.open_on_or_after(date(2028, 1, 31)).unwrap_err();
    assert_eq!(error, CollectionRejection::CalendarNotCovered { year: 2028 });
    assert_eq!(error.code(), "collection_calendar_not_covered");
    assert_eq!(rules.is_closed(date(2023, 9, 18)).unwrap_err(), CollectionRejection::CalendarNotCovered { year: 2023 });
}

/// 新宮市 (city.shingu.lg.jp/Info/615): 年税額 240,600円 in 10 ordinary installments, 百円未満 in
/// the first: 24,600 then 24,000 × 9; withheld: 仮徴収 20,000 × 3, 年税額 140,000円, the rest
/// 80,000 ÷ 3 with the 百円未満 in October's: 26,800, 26,600, 26,600.
#[test]
fn shingu_splits_the_remainder_below_100_yen_into_the_first_installment() {
    let amounts = split(240_600, 10, 100).unwrap();
    assert_eq!(amounts[0], 24_600);
    assert!(amounts[1..].iter().all(|amount| *amount == 24_000));

    let rules = kumagaya(2025);
    let withheld = special(140_000, 20_000, &rules).unwrap();
    let amounts: Vec<i64> = withheld.installments.iter().map(|i| i.amount).collect();
    assert_eq!(amounts, vec![20_000, 20_000, 20_000, 26_800, 26_600, 26_600]);
    assert_eq!(withheld.overpayment, 0);
    assert!(withheld.installments.iter().all(|i| i.method == Method::Special));
    // Pension days: the 15th of even months, the business day before when closed.
    assert_eq!(
        dues(&withheld.installments),
        vec![
            date(2025, 4, 15),
            date(2025, 6, 13),
            date(2025, 8, 15),
            date(2025, 10, 15),
            date(2025, 12, 15),
            date(2026, 2, 13)
        ]
    );
    // Provisional withholdings above the year's tax: nothing more is withheld, the excess is an
    // overpayment.
    let above = special(50_000, 20_000, &rules).unwrap();
    assert_eq!(above.installments[3..].iter().map(|i| i.amount).sum::<i64>(), 0);
    assert_eq!(above.overpayment, 10_000);
}

/// Kumagaya's 8 installments of an assessment are the assessment's own split
/// (`tax::calc::installments`), with due dates; 100-yen units, the remainder in the first.
#[test]
fn kumagaya_splits_an_annual_amount_into_eight_installments_as_the_assessment_does() {
    let rules = kumagaya(2025);
    // 207,700 ÷ 8 = 25,962.5 → 25,900; the first 207,700 − 7 × 25,900 = 26,400.
    let installments = ordinary(207_700, &rules).unwrap();
    let amounts: Vec<i64> = installments.iter().map(|i| i.amount).collect();
    assert_eq!(amounts, vec![26_400, 25_900, 25_900, 25_900, 25_900, 25_900, 25_900, 25_900]);
    let from_tax = crate::tax::calc::installments(207_700, &rules.city.ordinary.months, rules.city.ordinary.unit);
    assert_eq!(amounts, from_tax.iter().map(|i| i.amount).collect::<Vec<_>>());
    // From an assessment: its total, for its own fiscal year only.
    let assessment = crate::tax::Assessment {
        fiscal_year: 2025,
        taxpayer: Uuid::nil(),
        method: "2方式".to_owned(),
        parts: vec![],
        total: 207_700,
        test: None,
        reductions: vec![],
        members: vec![],
        installments: from_tax.clone(),
    };
    assert_eq!(ordinary_from_assessment(&assessment, &rules).unwrap(), installments);
    let other_year = crate::tax::Assessment { fiscal_year: 2024, ..assessment };
    let error = ordinary_from_assessment(&other_year, &rules).unwrap_err();
    assert_eq!(error.code(), "invalid_field");
    assert!(error.to_string().starts_with("fiscal_year must be"));
    // Below 100 yen per installment, the first takes it all (地方税法 §20の4の2 ⑥).
    assert_eq!(split(700, 8, 100).unwrap(), vec![700, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(split(0, 8, 100).unwrap(), vec![0; 8]);
    assert_eq!(split(-1, 8, 100).unwrap_err().code(), "amount_out_of_range");
}

/// A payment goes to the oldest installment due first; one larger than everything is an
/// overpayment; a receipt is counted once.
#[test]
fn payments_go_to_the_oldest_installment_and_a_duplicate_receipt_is_refused() {
    let rules = kumagaya(2025);
    let mut account = Account::new(Uuid::nil(), FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    let first = account.receive(pay("R-1", date(2025, 9, 10), 25_000)).unwrap();
    assert_eq!(first, PaymentAllocation { installments: vec![(1, 10_000), (2, 10_000), (3, 5_000)], overpayment: 0 });
    assert_eq!(account.paid(3), 5_000);

    // The same receipt again: refused, and the message does not repeat it.
    let error = account.receive(pay("R-1", date(2025, 9, 10), 25_000)).unwrap_err();
    assert_eq!(error, CollectionRejection::DuplicateReceipt);
    assert_eq!(error.code(), "duplicate_receipt");
    assert!(error.to_string().contains("receipt_id") && !error.to_string().contains("R-1"));
    assert_eq!(account.paid_total(), 25_000, "nothing was recorded");

    // More than everything left: 55,000 is owed, 100,000 paid.
    let rest = account.receive(pay("R-2", date(2025, 10, 1), 100_000)).unwrap();
    assert_eq!(rest.installments.first(), Some(&(3, 5_000)));
    assert_eq!(rest.installments.iter().map(|(_, amount)| amount).sum::<i64>(), 55_000);
    assert_eq!(rest.overpayment, 45_000);
    assert_eq!(account.overpayment(), 45_000);

    // A payment received after the day asked about does not clear that day's arrears.
    let mut late = Account::new(Uuid::nil(), FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    late.receive(pay("L-1", date(2025, 8, 20), 10_000)).unwrap();
    assert_eq!(late.arrears(date(2025, 8, 19)).len(), 1);
    assert!(late.arrears(date(2025, 8, 20)).is_empty());

    // What is refused and how; a stored receipt id is checked as it is read.
    let stored: Result<ReceiptId, _> = serde_json::from_str("\"has space\"");
    assert!(stored.is_err());
    assert_eq!(serde_json::from_str::<ReceiptId>("\"CVS-2025/0001\"").unwrap().as_str(), "CVS-2025/0001");
    assert_eq!(Channel::from(kokuho_events::PaymentChannel::BankTransfer), Channel::Bank);
    let bad = ReceiptId::parse("has space").unwrap_err();
    assert_eq!(bad.code(), "invalid_field");
    assert!(bad.to_string().starts_with("receipt_id must be") && !bad.to_string().contains("has space"));
    let error = account.allocate(&pay("R-3", date(2025, 10, 1), 0)).unwrap_err();
    assert_eq!(error, CollectionRejection::AmountOutOfRange { field: "amount" });
}

/// A reassessment spreads the difference over the installments not yet due; one below what was
/// already due lowers those from the latest back.
#[test]
fn a_reassessment_respreads_over_the_installments_not_yet_due() {
    let rules = kumagaya(2025);
    let installments = ordinary(80_000, &rules).unwrap();
    // On 15 October, 1–3 (to 30 September) are due: 30,000 stays; 100,000 − 30,000 = 70,000 over
    // 4–8: 14,000 each.
    let up = respread(&installments, 100_000, date(2025, 10, 15), &rules).unwrap();
    assert_eq!(
        up.iter().map(|i| i.amount).collect::<Vec<_>>(),
        vec![10_000, 10_000, 10_000, 14_000, 14_000, 14_000, 14_000, 14_000]
    );
    // 95,050: 65,050 over five, 13,000 each and 13,050 in the first not yet due.
    let odd = respread(&installments, 95_050, date(2025, 10, 15), &rules).unwrap();
    assert_eq!(odd[3].amount, 13_050);
    assert_eq!(odd.iter().map(|i| i.amount).sum::<i64>(), 95_050);
    // Down to 20,000: 4–8 become 0, installment 3 is lowered to 0.
    let down = respread(&installments, 20_000, date(2025, 10, 15), &rules).unwrap();
    assert_eq!(down.iter().map(|i| i.amount).collect::<Vec<_>>(), vec![10_000, 10_000, 0, 0, 0, 0, 0, 0]);
    // After the last due date, a rise is one more installment, due at the end of the next month.
    let late = respread(&installments, 90_000, date(2026, 3, 10), &rules).unwrap();
    assert_eq!(late.len(), 9);
    assert_eq!((late[8].number, late[8].due, late[8].amount), (9, date(2026, 4, 30), 10_000));
}

/// A reassessment down after full payment: the overpayment goes first to the household's
/// arrears of another year, oldest first (充当, 地方税法 §17の2), the rest is refunded (還付, §17).
#[test]
fn an_overpayment_is_applied_to_another_years_arrears_then_refunded() {
    let household = Uuid::from_u128(7);
    let mut fy2024 =
        Account::new(household, FiscalYear::new(2024), ordinary(80_000, &kumagaya(2024)).unwrap()).unwrap();
    // Installments 1–6 paid; 7 (2025-01-31) and 8 (2025-02-28) not.
    fy2024.receive(pay("A-1", date(2024, 12, 20), 60_000)).unwrap();
    let rules = kumagaya(2025);
    let mut fy2025 = Account::new(household, FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    fy2025.receive(pay("B-1", date(2025, 7, 15), 80_000)).unwrap();
    assert_eq!(fy2025.overpayment(), 0);

    // In arrears: no 限度額適用認定証; the oldest arrear is named.
    let accounts = [fy2024.clone(), fy2025.clone()];
    let refused = may_issue_limit_certificate(&accounts, date(2025, 10, 1)).unwrap_err();
    assert_eq!(refused, CollectionRejection::InArrears { fiscal_year: 2024, installment: 7 });
    assert_eq!(refused.code(), "household_in_arrears");

    // Reassessed down to 40,000 on 15 October: 30,000 already due, 10,000 over 4–8.
    let reassessed = fy2025.reassess(40_000, date(2025, 10, 15), &rules).unwrap();
    assert_eq!(reassessed.installments.iter().map(|i| i.amount).sum::<i64>(), 40_000);
    assert_eq!(reassessed.installments[3].amount, 2_000);
    assert_eq!((reassessed.overpayment_before, reassessed.overpayment_after), (0, 40_000));

    let mut others = [fy2024];
    let decisions = settle_overpayment(&mut fy2025, &mut others, date(2025, 10, 20)).unwrap();
    let summary: Vec<_> = decisions.iter().map(|d| (d.kind.clone(), d.amount, d.reason.code())).collect();
    assert_eq!(
        summary,
        vec![
            (
                SettlementKind::Applied { to_fiscal_year: FiscalYear::new(2024), installment: 7 },
                10_000,
                "applied_to_arrears"
            ),
            (
                SettlementKind::Applied { to_fiscal_year: FiscalYear::new(2024), installment: 8 },
                10_000,
                "applied_to_arrears"
            ),
            (SettlementKind::Refunded, 20_000, "refunded_no_arrears_left"),
        ]
    );
    // Each takes effect on the 充当適状日 (地方税法 §17の2 ④, 施行令 §6の14): the later of the
    // installment's due date (31 January, 28 February 2025) and the day the overpayment arose
    // (the reassessment of 15 October), not the day of the decision; the refund on that day.
    let effective: Vec<NaiveDate> = decisions.iter().map(|d| d.effective_on).collect();
    assert_eq!(effective, [date(2025, 10, 15), date(2025, 10, 15), date(2025, 10, 20)]);
    assert!(others[0].credits().skip(1).all(|credit| credit.on == date(2025, 10, 15)));
    // Everything balances: received = paid + overpayment + settled.
    assert_eq!(fy2025.received_total(), 80_000);
    assert_eq!(fy2025.paid_total() + fy2025.overpayment() + fy2025.settled_total(), 80_000);
    assert_eq!(fy2025.overpayment(), 0);
    let [fy2024] = others;
    assert!(fy2024.arrears(date(2025, 10, 20)).is_empty());
    assert_eq!(fy2024.paid_total(), 80_000);
    assert!(
        matches!(fy2024.credits().last().unwrap().source, CreditSource::Offset { from_fiscal_year } if from_fiscal_year == FiscalYear::new(2025))
    );
    assert!(may_issue_limit_certificate(&[fy2024, fy2025.clone()], date(2025, 10, 20)).is_ok());
    // Another household's account, or the same year twice, is refused.
    let stranger = Account::new(Uuid::from_u128(8), FiscalYear::new(2023), vec![]).unwrap();
    let mut source = Account::new(household, FiscalYear::new(2026), vec![]).unwrap();
    source.receive(pay("C-1", date(2026, 5, 1), 1_000)).unwrap();
    let error = settle_overpayment(&mut source, &mut [stranger], date(2026, 5, 2)).unwrap_err();
    assert!(error.to_string().starts_with("others must be"), "{error}");
    let twice = Account::new(household, FiscalYear::new(2023), vec![]).unwrap();
    let error = settle_overpayment(&mut source, &mut [twice.clone(), twice], date(2026, 5, 2)).unwrap_err();
    assert_eq!(error.code(), "invalid_field");
    assert_eq!(source.overpayment(), 1_000, "nothing was settled");
    // Nothing left to settle.
    assert_eq!(settle_overpayment(&mut fy2025, &mut [], date(2025, 10, 21)).unwrap_err().code(), "no_overpayment");
}

/// Review finding: an overpayment applied to an arrear was credited on the day of the
/// settlement, so the arrear's late fee ran until a clerk got to it. The application takes
/// effect on the 充当適状日 (地方税法 §17の2 ④; 施行令 §6の14: the later of the installment's 納期限
/// and the day the overpayment arose): FY2025 overpaid by 10,000 on 15 July 2025, FY2026's first
/// installment (due 31 July 2026) unpaid and settled on 10 September 2026 — deemed paid on its
/// due date, no late fee; settled the same way before, it would have run 41 days.
#[test]
fn an_overpayment_applied_to_an_arrear_takes_effect_on_the_day_both_existed() {
    let household = Uuid::from_u128(9);
    let rules = kumagaya(2025);
    let mut fy2025 = Account::new(household, FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    fy2025.receive(pay("P-1", date(2025, 7, 15), 90_000)).unwrap();
    assert_eq!(fy2025.overpayment_arose_on(), Some(date(2025, 7, 15)));
    let rules_2026 = kumagaya(2026);
    let fy2026 = Account::new(household, FiscalYear::new(2026), ordinary(80_000, &rules_2026).unwrap()).unwrap();
    let first_due = fy2026.installments()[0].due;
    assert_eq!(first_due, date(2026, 7, 31));
    let settled_on = date(2026, 9, 10);
    let mut others = [fy2026];
    let decisions = settle_overpayment(&mut fy2025, &mut others, settled_on).unwrap();
    assert_eq!((decisions[0].amount, decisions[0].on, decisions[0].effective_on), (10_000, settled_on, first_due));
    let [fy2026] = others;
    assert_eq!(fy2026.late_fee(1, settled_on, &rules_2026).unwrap().fee, 0);
    assert!(fy2026.arrears(settled_on).iter().all(|arrear| arrear.number != 1));
    // An overpayment arising after the due date takes effect the day it arose.
    let mut fy2025 = Account::new(household, FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    fy2025.receive(pay("P-2", date(2026, 8, 20), 90_000)).unwrap();
    let mut others = [Account::new(household, FiscalYear::new(2026), ordinary(80_000, &rules_2026).unwrap()).unwrap()];
    let decisions = settle_overpayment(&mut fy2025, &mut others, settled_on).unwrap();
    assert_eq!(decisions[0].effective_on, date(2026, 8, 20));
}

/// A refund already made stays made: a later rise leaves installments unpaid again.
#[test]
fn a_rise_after_a_refund_leaves_the_latest_installments_unpaid() {
    let rules = kumagaya(2025);
    let mut account = Account::new(Uuid::nil(), FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    account.receive(pay("R-1", date(2025, 7, 15), 100_000)).unwrap();
    let refund = settle_overpayment(&mut account, &mut [], date(2025, 7, 20)).unwrap();
    assert_eq!((refund.len(), refund[0].amount, refund[0].kind.clone()), (1, 20_000, SettlementKind::Refunded));
    account.reassess(90_000, date(2025, 7, 25), &rules).unwrap();
    assert_eq!(account.paid_total(), 80_000);
    assert_eq!(account.received_total(), account.paid_total() + account.overpayment() + account.settled_total());
    let unpaid: i64 = account.installments().iter().map(|i| i.amount - account.paid(i.number)).sum();
    assert_eq!(unpaid, 10_000);
}

/// The reminder (督促状) is due after the due date passes unpaid, within 20 days (地方税法 §726).
#[test]
fn a_reminder_is_due_within_20_days_of_an_unpaid_due_date() {
    let rules = kumagaya(2025);
    let mut account = Account::new(Uuid::nil(), FiscalYear::new(2025), ordinary(80_000, &rules).unwrap()).unwrap();
    assert!(account.reminder_due(date(2025, 7, 31), &rules).is_empty());
    let due = account.reminder_due(date(2025, 8, 1), &rules);
    assert_eq!(
        due,
        vec![ReminderDue { number: 1, due: date(2025, 7, 31), deadline: date(2025, 8, 20), overdue: false }]
    );
    assert!(account.reminder_due(date(2025, 8, 21), &rules)[0].overdue);

    assert_eq!(account.issue_reminder(1, date(2025, 7, 31), &rules).unwrap_err().code(), "installment_not_past_due");
    let issued = account.issue_reminder(1, date(2025, 8, 20), &rules).unwrap();
    assert!(issued.in_time);
    assert_eq!(account.issue_reminder(1, date(2025, 8, 21), &rules).unwrap_err().code(), "reminder_already_issued");
    assert_eq!(account.issue_reminder(9, date(2025, 8, 21), &rules).unwrap_err().code(), "installment_not_found");
    assert!(account.reminder_due(date(2025, 9, 2), &rules).iter().all(|r| r.number != 1));

    account.receive(pay("R-1", date(2025, 9, 5), 20_000)).unwrap();
    assert_eq!(account.issue_reminder(2, date(2025, 9, 25), &rules).unwrap_err().code(), "installment_paid");
    // Issued after the deadline: recorded, flagged.
    account.receive(pay("R-2", date(2025, 9, 5), 5_000)).unwrap();
    let late = account.issue_reminder(3, date(2025, 10, 25), &rules).unwrap();
    assert!(!late.in_time);
}

/// Who has the tax withheld from the pension (吉見町, 東かがわ市: 世帯主が被保険者, 全員65〜74歳,
/// 年金18万円以上, 国保税 + 介護保険料 ≤ 年金の1/2, 介護保険料が特別徴収).
#[test]
fn pension_withholding_needs_every_condition() {
    let rules = kumagaya(2025);
    let qualifying = SpecialInput {
        fiscal_year: FiscalYear::new(2025),
        head_insured: true,
        insured_dates_of_birth: vec![date(1955, 5, 1), date(1958, 3, 3)],
        head_annual_pension: 1_000_000,
        annual_tax: 420_000,
        care_premium: 80_000,
        care_premium_withheld: true,
    };
    // Exactly half of the pension still qualifies.
    assert_eq!(special_conditions(&qualifying, &rules).unwrap(), vec![]);

    let cases: Vec<(SpecialInput, Vec<SpecialCondition>)> = vec![
        (SpecialInput { head_insured: false, ..qualifying.clone() }, vec![SpecialCondition::HeadNotInsured]),
        // 64 on 1 April 2025 (65 on 2 April: the legal count makes 1 April the day).
        (
            SpecialInput { insured_dates_of_birth: vec![date(1955, 5, 1), date(1960, 4, 3)], ..qualifying.clone() },
            vec![SpecialCondition::MemberAge { index: 1 }],
        ),
        // 75 on 10 January 2026: 後期高齢者 within the year.
        (
            SpecialInput { insured_dates_of_birth: vec![date(1951, 1, 10)], ..qualifying.clone() },
            vec![SpecialCondition::MemberAge { index: 0 }],
        ),
        (
            SpecialInput { head_annual_pension: 179_999, annual_tax: 10_000, care_premium: 0, ..qualifying.clone() },
            vec![SpecialCondition::PensionBelowMinimum],
        ),
        (SpecialInput { annual_tax: 420_001, ..qualifying.clone() }, vec![SpecialCondition::AboveShareOfPension]),
        (
            SpecialInput { care_premium_withheld: false, ..qualifying.clone() },
            vec![SpecialCondition::CarePremiumNotWithheld],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(special_conditions(&input, &rules).unwrap(), expected, "{input:?}");
    }
    // Without the members' dates of birth nothing can be judged.
    let nobody = SpecialInput { insured_dates_of_birth: vec![], ..qualifying.clone() };
    let error = special_conditions(&nobody, &rules).unwrap_err();
    assert_eq!(error.code(), "invalid_field");
    assert!(error.to_string().starts_with("insured_dates_of_birth must be"));
    // Born 1960-04-02: 65 on 1 April 2025 by the legal count (the day before the birthday).
    let born_2_april = SpecialInput { insured_dates_of_birth: vec![date(1960, 4, 2)], ..qualifying };
    assert_eq!(special_conditions(&born_2_april, &rules).unwrap(), vec![]);
}

/// Withheld installments are the pension payer's to pay: never the household's arrears.
#[test]
fn withheld_installments_are_not_arrears() {
    let rules = kumagaya(2025);
    let withheld = special(140_000, 20_000, &rules).unwrap().installments;
    let account = Account::new(Uuid::nil(), FiscalYear::new(2025), withheld).unwrap();
    assert!(account.arrears(date(2026, 3, 31)).is_empty());
    assert_eq!(account.late_fee(1, date(2026, 3, 31), &rules).unwrap().fee, 0);
    assert!(account.may_issue_limit_certificate(date(2026, 3, 31)).is_ok());
}

/// Every refusal keeps its code.
#[test]
fn refusal_codes_are_stable() {
    use crate::aggregate::RejectionKind;
    let cases = [
        (CollectionRejection::Invalid { field: "receipt_id", accepts: "x" }, "invalid_field", RejectionKind::Invalid),
        (CollectionRejection::AmountOutOfRange { field: "amount" }, "amount_out_of_range", RejectionKind::Invalid),
        (CollectionRejection::DuplicateReceipt, "duplicate_receipt", RejectionKind::Conflict),
        (CollectionRejection::InstallmentNotFound { number: 1 }, "installment_not_found", RejectionKind::NotFound),
        (CollectionRejection::NoOverpayment, "no_overpayment", RejectionKind::Conflict),
        (
            CollectionRejection::InArrears { fiscal_year: 2024, installment: 7 },
            "household_in_arrears",
            RejectionKind::Conflict,
        ),
    ];
    for (rejection, code, kind) in cases {
        assert_eq!((rejection.code(), rejection.kind()), (code, kind));
    }
}

/// The holiday list holds every holiday of fixed date (国民の祝日に関する法律 §2) in each year it
/// covers, and each substitute holiday (振替休日, §3 ②) follows a holiday on a Sunday.
#[test]
fn the_holiday_list_holds_the_fixed_holidays_and_substitutes_follow_sundays() {
    use chrono::{Datelike, Weekday};
    let dates = national().due_dates;
    let fixed = [(1, 1), (2, 11), (2, 23), (4, 29), (5, 3), (5, 4), (5, 5), (8, 11), (11, 3), (11, 23)];
    for year in dates.holidays_from..=dates.holidays_through {
        for (month, day) in fixed {
            assert!(dates.holidays.contains(&date(year, month, day)), "{year}-{month}-{day}");
        }
        // Happy Monday holidays fall on Mondays.
        let mondays = dates
            .holidays
            .iter()
            .filter(|d| d.year() == year && [1, 7, 9, 10].contains(&d.month()) && d.weekday() == Weekday::Mon)
            .count();
        assert!(mondays >= 4, "{year}: 成人の日, 海の日, 敬老の日, スポーツの日");
    }
    for holiday in &dates.holidays {
        let before = holiday.pred_opt().unwrap();
        let fixed_date = fixed.contains(&(holiday.month(), holiday.day()));
        let equinox = [3, 9].contains(&holiday.month()) && (19..=23).contains(&holiday.day());
        let happy_monday = [1, 7, 9, 10].contains(&holiday.month()) && holiday.weekday() == Weekday::Mon;
        if !fixed_date && !equinox && !happy_monday {
            // A substitute (the day after a Sunday holiday, or the first weekday after a run of
            // holidays from one) or a sandwiched day (国民の休日, §3 ③).
            let substitute = dates.holidays.contains(&before) && holiday.weekday() != Weekday::Sun;
            assert!(substitute, "{holiday} is neither a holiday of the law nor after one");
        }
    }
}
