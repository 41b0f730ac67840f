//! Worked examples published by municipalities (and two by other public pages where no
//! municipal one was found), fed through the benefit decisions with the shipped rule files,
//! checked to the yen. Each case cites its page; where the inputs or the result are ours rather
//! than the page's, the case says so.

use chrono::NaiveDate;
use uuid::Uuid;

use super::childbirth::{self, ChildbirthClaim, Payment};
use super::funeral::{self, FuneralClaim};
use super::high_cost::{
    decide, elderly_class, under_70_class, Band, Care, ElderlyClass, HighCostDecision, HighCostInput, HighCostMember,
    MedicalRecord, Step, Under70Class, Under70ClassBasis,
};
use super::rules::{BenefitRules, NationalBenefits};
use super::BenefitRejection;
use crate::aggregate::Refusal;
use crate::eligibility::elderly::ElderlyShareBasis;
use crate::Yen;

const NATIONAL: &str = include_str!("../../../../rules/benefits_national.toml");

fn national() -> NationalBenefits {
    toml::from_str(NATIONAL).expect("rules/benefits_national.toml parses")
}

pub(super) fn kumagaya(fiscal_year: i32) -> BenefitRules {
    let text = match fiscal_year {
        2024 => include_str!("../../../../rules/112020/2024/benefits.toml"),
        2025 => include_str!("../../../../rules/112020/2025/benefits.toml"),
        2026 => include_str!("../../../../rules/112020/2026/benefits.toml"),
        _ => panic!("no Kumagaya file for {fiscal_year}"),
    };
    BenefitRules::new(national(), toml::from_str(text).unwrap(), "112020", fiscal_year).unwrap()
}

pub(super) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A member aged `age` all through October 2024 (born 15 April).
fn aged(n: u128, age: i32) -> HighCostMember {
    HighCostMember {
        person_id: id(n),
        date_of_birth: day(2024 - age, 4, 15),
        joined_at_employees_75: false,
        outpatient_borne_this_year: 0,
    }
}

fn record(n: u128, provider: &str, care: Care, total_cost: i64, paid: i64) -> MedicalRecord {
    MedicalRecord { person_id: id(n), provider: provider.into(), care, total_cost, paid }
}

fn household(
    under_70_class: Option<Under70Class>,
    elderly_class: Option<ElderlyClass>,
    members: Vec<HighCostMember>,
    records: Vec<MedicalRecord>,
) -> HighCostInput {
    HighCostInput { month: day(2024, 10, 1), under_70_class, elderly_class, prior_benefit_months: 0, members, records }
}

fn benefit_of(decision: &HighCostDecision, n: u128) -> i64 {
    decision.persons.iter().find(|person| person.person_id == id(n)).unwrap().benefit
}

/// 大和市「高額療養費の計算例(70歳未満の世帯)」(大和市 国民健康保険, 更新 2024-12-02)
/// https://www.city.yamato.lg.jp/gyosei/soshik/2020/kokuminkenkohoken/kokuho_kyufu/kogakuryoyohi/6995.html
/// 区分ウ; 夫 A病院外来 60,000 (200,000), B病院入院 120,000 (400,000); 妻 C病院外来 30,000
/// (100,000), D病院外来 3,000 (10,000): D is below 21,000; 限度額 80,100 + (700,000 − 267,000)
/// × 1% = 84,430; 支給額 210,000 − 84,430 = 125,570.
#[test]
fn yamato_under_70_household_with_several_providers_and_the_21000_rule() {
    let input = household(
        Some(Under70Class::U),
        None,
        vec![aged(1, 45), aged(2, 43)],
        vec![
            record(1, "A", Care::Outpatient, 200_000, 60_000),
            record(1, "B", Care::Inpatient, 400_000, 120_000),
            record(2, "C", Care::Outpatient, 100_000, 30_000),
            record(2, "D", Care::Outpatient, 10_000, 3_000),
        ],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert_eq!(decision.limit, Some(84_430));
    assert_eq!(decision.counted, 210_000);
    assert_eq!(decision.benefit, 125_570);
    assert_eq!(decision.paid, 213_000);
    assert!(decision.steps.contains(&Step::RecordDropped {
        person_id: id(2),
        provider: "D".into(),
        care: Care::Outpatient,
        paid: 3_000,
        threshold: 21_000
    }));
    assert!(decision.steps.contains(&Step::HouseholdLimit {
        class: Under70Class::U,
        borne: 210_000,
        total_cost: 700_000,
        many_times: false,
        limit: 84_430,
        benefit: 125_570
    }));
    assert!(decision.counts_toward_many_times);
    assert!(!decision.period_assumed);
    // Shared in proportion to what each bore: 180,000 : 30,000.
    assert_eq!(benefit_of(&decision, 1) + benefit_of(&decision, 2), 125_570);
    assert_eq!(benefit_of(&decision, 1), 107_631);
}

/// 設楽町「医療費が高額になったとき(高額療養費)」(愛知県設楽町)
/// http://www.town.shitara.aichi.jp/index.cfm/15,452,64,228,html
/// 一般 (today's ウ: the same 80,100 + 1% formula): 夫 60,000, 妻 30,000, 娘 15,000; the
/// daughter's is below 21,000; 医療費 90,000 ÷ 3 × 10 = 300,000; 限度額 80,100 + 330 = 80,430;
/// 支給額 90,000 − 80,430 = 9,570. (Providers are not named: one each.)
#[test]
fn shitara_under_70_household_drops_the_charge_below_21000() {
    let input = household(
        Some(Under70Class::U),
        None,
        vec![aged(1, 50), aged(2, 48), aged(3, 20)],
        vec![
            record(1, "H1", Care::Outpatient, 200_000, 60_000),
            record(2, "H2", Care::Outpatient, 100_000, 30_000),
            record(3, "H3", Care::Outpatient, 50_000, 15_000),
        ],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert_eq!((decision.limit, decision.counted, decision.benefit), (Some(80_430), 90_000, 9_570));
    assert_eq!(benefit_of(&decision, 3), 0, "the daughter's charge did not count");
}

/// 大和市「高額療養費の計算例(70歳以上の人のみの世帯)」(更新 2024-12-02)
/// https://www.city.yamato.lg.jp/gyosei/soshik/2020/kokuminkenkohoken/kokuho_kyufu/kogakuryoyohi/6997.html
/// 一般, 2割: 夫 A・B病院外来 10,000 each (医療費 50,000 each); 妻 C病院入院 57,600 (800,000).
/// 外来 20,000 − 18,000 = 2,000; 世帯 18,000 + 57,600 = 75,600 − 57,600 = 18,000; 計 20,000.
#[test]
fn yamato_70_to_74_outpatient_cap_then_household_cap() {
    let input = household(
        None,
        Some(ElderlyClass::General),
        vec![aged(1, 72), aged(2, 71)],
        vec![
            record(1, "A", Care::Outpatient, 50_000, 10_000),
            record(1, "B", Care::Outpatient, 50_000, 10_000),
            record(2, "C", Care::Inpatient, 800_000, 57_600),
        ],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert!(decision.steps.contains(&Step::OutpatientLimit {
        person_id: id(1),
        outpatient: 20_000,
        limit: 18_000,
        benefit: 2_000
    }));
    assert!(decision.steps.contains(&Step::ElderlyHouseholdLimit {
        class: ElderlyClass::General,
        borne: 75_600,
        total_cost: 900_000,
        many_times: false,
        limit: 57_600,
        benefit: 18_000
    }));
    assert_eq!((decision.benefit, decision.limit), (20_000, Some(57_600)));
    assert!(decision.persons.iter().all(|person| person.band == Band::Elderly));
    // The husband's outpatient running total for the yearly limit: 18,000 borne this month.
    assert_eq!(decision.persons[0].outpatient_borne_this_year, Some(18_000));
}

/// ダイヤモンド・オンライン (早川幸子)「…世帯合算」https://diamond.jp/articles/-/15245?page=4 —
/// a mixed household under the limits of the time (70–74 一般: 外来 12,000, 世帯 44,400; under
/// 70 一般: 80,100 + 1%), given here as a period of their own: B (70–74) 外来 20,000 − 12,000 =
/// 8,000; B 12,000 + C 入院 44,400 − 44,400 = 12,000; 44,400 + A 60,000 − [80,100 + (1,400,000 −
/// 267,000) × 1% = 91,430] = 12,970; 3万2970円 in all. (The page gives the total cost, 1,400,000;
/// its split among the three is ours and does not change the result.)
#[test]
fn diamond_mixed_household_under_the_limits_of_its_time() {
    let mut national = national();
    let mut period = national.high_cost[0].clone();
    period.from = day(2009, 1, 1);
    period.elderly.outpatient_general = 12_000;
    period.elderly.general.base = 44_400;
    period.elderly.annual_outpatient = 100_000_000;
    national.high_cost.insert(0, period);
    let city = kumagaya(2024).city;
    let rules = BenefitRules::new(national, city, "112020", 2024).unwrap();
    let mut input = household(
        Some(Under70Class::U),
        Some(ElderlyClass::General),
        vec![aged(1, 46), aged(2, 71), aged(3, 73)],
        vec![
            record(1, "A", Care::Inpatient, 200_000, 60_000),
            record(2, "B", Care::Outpatient, 200_000, 20_000),
            record(3, "C", Care::Inpatient, 1_000_000, 44_400),
        ],
    );
    input.month = day(2011, 10, 1);
    for member in &mut input.members {
        member.date_of_birth = member.date_of_birth.with_year_of(2011);
    }
    let decision = decide(&input, &rules).unwrap();
    assert_eq!(decision.period_from, day(2009, 1, 1));
    assert_eq!(decision.limit, Some(91_430));
    assert_eq!(decision.benefit, 32_970);
    // B's part (kokuho's sharing): 8,000 outpatient; of the 70–74 step's 12,000, 12,000/56,400
    // → 2,553; of the household's 12,970, B's 9,447/104,400 → 1,173.6, rounded up as the largest
    // remainder → 1,174.
    assert_eq!(benefit_of(&decision, 2), 8_000 + 2_553 + 1_174);
    assert_eq!(decision.persons.iter().map(|person| person.benefit).sum::<i64>(), 32_970);
}

trait WithYear {
    fn with_year_of(self, year: i32) -> Self;
}
impl WithYear for NaiveDate {
    /// The same age in `year` as in 2024.
    fn with_year_of(self, year: i32) -> NaiveDate {
        use chrono::Datelike;
        NaiveDate::from_ymd_opt(self.year() - 2024 + year, self.month(), self.day()).unwrap()
    }
}

/// 大和市「高額療養費の計算例(70歳以上の方と70歳未満の方との世帯)」(更新 2024-02-20)
/// https://www.city.yamato.lg.jp/gyosei/soshik/2020/kokuminkenkohoken/kokuho_kyufu/kogakuryoyohi/6996.html
/// 70–74 一般, household ウ: 世帯主 (50) A入院 600,000 (2,000,000); 子 (25) B入院 300,000
/// (1,000,000), C外来 18,000 (60,000: below 21,000); 父 (73) D入院 50,000 (250,000); 母 (71)
/// E外来 30,000 (150,000). The inputs and the steps are the page's; its closing figures were not
/// readable, so the amounts below are the page's steps carried out: 母 30,000 − 18,000 = 12,000;
/// 50,000 + 18,000 − 57,600 = 10,400; 600,000 + 300,000 + 57,600 − [80,100 + (3,400,000 −
/// 267,000) × 1% = 111,430] = 846,170; 868,570 in all.
#[test]
fn yamato_mixed_household_70_to_74_first_then_the_whole_household() {
    let input = household(
        Some(Under70Class::U),
        Some(ElderlyClass::General),
        vec![aged(1, 50), aged(2, 25), aged(3, 73), aged(4, 71)],
        vec![
            record(1, "A", Care::Inpatient, 2_000_000, 600_000),
            record(2, "B", Care::Inpatient, 1_000_000, 300_000),
            record(2, "C", Care::Outpatient, 60_000, 18_000),
            record(3, "D", Care::Inpatient, 250_000, 50_000),
            record(4, "E", Care::Outpatient, 150_000, 30_000),
        ],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    let kinds: Vec<(i64, i64)> = decision
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::OutpatientLimit { limit, benefit, .. } => Some((*limit, *benefit)),
            Step::ElderlyHouseholdLimit { limit, benefit, .. } => Some((*limit, *benefit)),
            Step::HouseholdLimit { limit, benefit, .. } => Some((*limit, *benefit)),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![(18_000, 12_000), (57_600, 10_400), (111_430, 846_170)]);
    assert_eq!(decision.benefit, 868_570);
    assert_eq!(decision.counted, 980_000, "the page's 合計 980,000");
}

/// 多数該当: 「多数該当とは…」(UMIN 高額療養費 解説) http://kogaku.umin.jp/tasuu.html — three
/// benefits in the last year, so the fourth month's limit is 44,400: paid 60,000 → 60,000 −
/// 44,400 = 15,600 (区分ウ; the cost, 200,000, is ours: the 多数回 limit has no 1% part).
#[test]
fn many_times_from_the_fourth_month() {
    let mut input = household(
        Some(Under70Class::U),
        None,
        vec![aged(1, 55)],
        vec![record(1, "H", Care::Inpatient, 200_000, 60_000)],
    );
    let third = decide(&HighCostInput { prior_benefit_months: 2, ..input.clone() }, &kumagaya(2024)).unwrap();
    assert_eq!((third.many_times, third.benefit), (false, 0), "80,100 is not reached in a third month");
    input.prior_benefit_months = 3;
    let fourth = decide(&input, &kumagaya(2024)).unwrap();
    assert_eq!((fourth.many_times, fourth.limit, fourth.benefit), (true, Some(44_400), 15_600));
}

/// りんぱしゅ通信「高額療養費の計算例」(監修: 愛知県がんセンター中央病院 地域医療連携・相談支援センター;
/// 2018年8月診療分からの制度) https://www.rinpashu.jp/works-costs-life/costs/article-05.html —
/// Aさん (73, 2割, 一般), one provider, first benefit: 医療費 1,000,000, 自己負担 200,000, 上限
/// 57,600, 支給額 142,400. Bさん (63, 3割, 年収400万 = ウ), the fourth benefit in twelve months:
/// 300,000 − 44,400 (多数回) = 255,600. (Inpatient and outpatient together on the page: one
/// inpatient record here, so the 70–74 outpatient limit does not enter.)
#[test]
fn rinpashu_70_to_74_general_and_under_70_many_times() {
    let a = household(
        None,
        Some(ElderlyClass::General),
        vec![aged(1, 73)],
        vec![record(1, "H", Care::Inpatient, 1_000_000, 200_000)],
    );
    let a = decide(&a, &kumagaya(2024)).unwrap();
    assert_eq!((a.limit, a.benefit, a.many_times), (Some(57_600), 142_400, false));
    let mut b = household(
        Some(Under70Class::U),
        None,
        vec![aged(1, 63)],
        vec![record(1, "H", Care::Inpatient, 1_000_000, 300_000)],
    );
    b.prior_benefit_months = 3;
    let b = decide(&b, &kumagaya(2024)).unwrap();
    assert_eq!((b.limit, b.benefit, b.many_times), (Some(44_400), 255_600, true));
    assert!(b.steps.iter().any(|step| matches!(step, Step::HouseholdLimit { many_times: true, limit: 44_400, .. })));
}

/// LIMO「高額療養費の支給例」https://limo.media/articles/-/54627?page=2 (an employee-plan example:
/// the formulas are NHI's ア–ウ too). ケース1 (ウ): 医療費 800,000, paid 240,000, 限度額 85,430,
/// 154,570. ケース2 (イ): 限度額 167,400 + (800,000 − 558,000) × 1% = 169,820, 70,180.
#[test]
fn limo_class_u_and_class_i_single_person() {
    for (class, limit, benefit) in [(Under70Class::U, 85_430, 154_570), (Under70Class::I, 169_820, 70_180)] {
        let input =
            household(Some(class), None, vec![aged(1, 45)], vec![record(1, "H", Care::Inpatient, 800_000, 240_000)]);
        let decision = decide(&input, &kumagaya(2024)).unwrap();
        assert_eq!((decision.limit, decision.benefit), (Some(limit), benefit), "{class:?}");
    }
}

/// 蒲郡市「75歳到達月における自己負担限度額の特例」https://www.city.gamagori.lg.jp/unit/nenkin/kokuhokyufu008.html
/// (一般: the birthday month's NHI limit is half, 28,800). The inputs are ours: turning 75 on
/// 15 May 2024, an NHI inpatient charge of 60,000 (cost 600,000) before the birthday → 31,200.
#[test]
fn gamagori_the_month_of_turning_75_halves_the_general_limit() {
    let member = HighCostMember { date_of_birth: day(1949, 5, 15), ..aged(1, 0) };
    let mut input = household(
        None,
        Some(ElderlyClass::General),
        vec![member],
        vec![record(1, "H", Care::Inpatient, 600_000, 60_000)],
    );
    input.month = day(2024, 5, 1);
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert!(decision.persons[0].halved);
    assert!(decision.steps.contains(&Step::HalvedPersonalLimit {
        person_id: id(1),
        borne: 60_000,
        total_cost: 600_000,
        limit: 28_800,
        benefit: 31_200
    }));
    assert_eq!(decision.benefit, 31_200);
}

/// JAVA健保「75歳到達月の高額療養費の自己負担限度額の特例」http://javakenpo.gr.jp/together/07-2.html
/// (現役並みⅢ in the birthday month: 126,300 + (総医療費 − 421,000) × 1%). Inputs ours: 現役並みⅢ,
/// turning 75 on 20 May 2024, inpatient 1,000,000 paid 300,000 → 126,300 + 5,790 = 132,090;
/// 167,910. The household's own limit (252,600 + 1,580) is not reached after it.
#[test]
fn javakenpo_active_income_class_in_the_month_of_turning_75() {
    let member = HighCostMember { date_of_birth: day(1949, 5, 20), ..aged(1, 0) };
    let mut input = household(
        None,
        Some(ElderlyClass::Active3),
        vec![member],
        vec![record(1, "H", Care::Inpatient, 1_000_000, 300_000)],
    );
    input.month = day(2024, 5, 1);
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert_eq!(decision.benefit, 167_910);
    assert_eq!(decision.limit, Some(254_180));
    // 現役並み has no separate outpatient limit: an outpatient charge goes straight to the
    // household formula.
    let mut outpatient = input.clone();
    outpatient.month = day(2024, 10, 1);
    outpatient.members[0].date_of_birth = day(1952, 4, 15);
    outpatient.records[0].care = Care::Outpatient;
    let decision = decide(&outpatient, &kumagaya(2024)).unwrap();
    assert!(!decision.steps.iter().any(|step| matches!(step, Step::OutpatientLimit { .. })));
    assert_eq!(decision.benefit, 300_000 - (252_600 + 1_580));
}

/// From August 2026 the shipped figures are carried over and marked assumed (the revision's
/// 政令 was not found): the decision says so.
#[test]
fn a_month_under_assumed_figures_is_marked() {
    let mut input = household(
        Some(Under70Class::U),
        None,
        vec![aged(1, 45)],
        vec![record(1, "H", Care::Inpatient, 800_000, 240_000)],
    );
    input.month = day(2026, 8, 31);
    let decision = decide(&input, &kumagaya(2026)).unwrap();
    assert_eq!(
        (decision.month, decision.period_from, decision.period_assumed),
        (day(2026, 8, 1), day(2026, 8, 1), true)
    );
    input.month = day(2026, 7, 31);
    assert!(!decide(&input, &kumagaya(2026)).unwrap().period_assumed);
}

#[test]
fn exactly_21000_counts_and_20999_does_not() {
    let input = |paid| {
        household(
            Some(Under70Class::E),
            None,
            vec![aged(1, 40)],
            vec![record(1, "A", Care::Inpatient, 300_000, 57_600), record(1, "B", Care::Outpatient, 100_000, paid)],
        )
    };
    assert_eq!(decide(&input(21_000), &kumagaya(2024)).unwrap().benefit, 21_000);
    assert_eq!(decide(&input(20_999), &kumagaya(2024)).unwrap().benefit, 0);
    // Inpatient and outpatient at the same provider are separate sums, and so is dental.
    let separate = household(
        Some(Under70Class::E),
        None,
        vec![aged(1, 40)],
        vec![
            record(1, "A", Care::Inpatient, 300_000, 57_600),
            record(1, "A", Care::Outpatient, 50_000, 15_000),
            record(1, "A", Care::Dental, 50_000, 15_000),
        ],
    );
    assert_eq!(decide(&separate, &kumagaya(2024)).unwrap().benefit, 0);
    // Two bills of the same provider and kind in the month are one sum.
    let summed = household(
        Some(Under70Class::E),
        None,
        vec![aged(1, 40)],
        vec![
            record(1, "A", Care::Inpatient, 300_000, 57_600),
            record(1, "B", Care::Outpatient, 50_000, 15_000),
            record(1, "B", Care::Outpatient, 50_000, 15_000),
        ],
    );
    assert_eq!(decide(&summed, &kumagaya(2024)).unwrap().benefit, 30_000);
}

#[test]
fn from_70_dental_care_is_outpatient_care_and_every_charge_counts() {
    let input = household(
        None,
        Some(ElderlyClass::General),
        vec![aged(1, 72)],
        vec![record(1, "A", Care::Dental, 50_000, 10_000), record(1, "B", Care::Outpatient, 50_000, 10_000)],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert!(decision.steps.contains(&Step::OutpatientLimit {
        person_id: id(1),
        outpatient: 20_000,
        limit: 18_000,
        benefit: 2_000
    }));
    assert!(decision.steps.iter().all(|step| !matches!(step, Step::RecordDropped { .. })));
}

#[test]
fn turning_75_on_the_1st_keeps_the_full_limits_and_on_the_2nd_halves_them() {
    let rules = kumagaya(2024);
    let on = |birth: NaiveDate| {
        let member = HighCostMember { date_of_birth: birth, ..aged(1, 0) };
        let mut input = household(
            None,
            Some(ElderlyClass::General),
            vec![member],
            vec![record(1, "H", Care::Outpatient, 100_000, 20_000)],
        );
        input.month = day(2024, 5, 1);
        decide(&input, &rules)
    };
    // Born on 1 May: no halving (the special rule excludes the 1st); outpatient 20,000 at 18,000.
    let first = on(day(1949, 5, 1)).unwrap();
    assert!(!first.persons[0].halved);
    assert_eq!(first.benefit, 2_000);
    // Born on 2 May: outpatient 20,000 at the halved 9,000.
    let second = on(day(1949, 5, 2)).unwrap();
    assert!(second.persons[0].halved);
    assert_eq!(second.benefit, 11_000);
    let june = on(day(1949, 6, 2)).unwrap();
    assert!(!june.persons[0].halved);
    assert_eq!(june.benefit, 2_000);
    // A 75th birthday in April: in 後期高齢者医療 for all of May.
    let april = on(day(1949, 4, 30)).unwrap_err();
    assert_eq!(april, BenefitRejection::MemberInLateStage { index: 0 });
    assert_eq!(april.code(), "member_in_late_stage");
}

#[test]
fn the_70_to_74_rules_start_the_month_after_attaining_70_or_the_birthday_month_when_born_on_the_1st() {
    let rules = kumagaya(2024);
    let band = |birth: NaiveDate| {
        let member = HighCostMember { date_of_birth: birth, ..aged(1, 0) };
        let input = household(
            Some(Under70Class::U),
            Some(ElderlyClass::General),
            vec![member],
            vec![record(1, "H", Care::Outpatient, 50_000, 15_000)],
        );
        decide(&input, &rules).unwrap().persons[0].band
    };
    assert_eq!(band(day(1954, 10, 1)), Band::Elderly, "attained 70 on 30 September");
    assert_eq!(band(day(1954, 10, 2)), Band::Under70, "attains 70 on 1 October");
    assert_eq!(band(day(1954, 9, 30)), Band::Elderly);
}

#[test]
fn a_dependant_who_came_at_the_employees_75_has_the_10500_threshold_and_halved_limits() {
    let member = HighCostMember { joined_at_employees_75: true, ..aged(1, 60) };
    let input = household(
        Some(Under70Class::U),
        None,
        vec![member],
        vec![record(1, "A", Care::Outpatient, 40_000, 12_000), record(1, "B", Care::Inpatient, 200_000, 60_000)],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert!(decision.steps.iter().any(|step| matches!(step, Step::RecordCounted { threshold: Some(10_500), .. })));
    // 72,000 at 40,050 (half of 80,100; the 1% part over 133,500: 240,000 → 1,065).
    assert_eq!(decision.benefit, 72_000 - (40_050 + 1_065));
}

#[test]
fn a_mixed_household_whose_under_70_charges_do_not_count_stops_at_the_70_to_74_limit() {
    let input = household(
        Some(Under70Class::E),
        Some(ElderlyClass::General),
        vec![aged(1, 50), aged(2, 72)],
        vec![record(1, "A", Care::Outpatient, 60_000, 18_000), record(2, "B", Care::Inpatient, 700_000, 70_000)],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert_eq!((decision.limit, decision.benefit), (Some(57_600), 12_400));
    assert!(!decision.steps.iter().any(|step| matches!(step, Step::HouseholdLimit { .. })));
}

#[test]
fn the_yearly_outpatient_limit_pays_what_passes_144000() {
    let member = HighCostMember { outpatient_borne_this_year: 140_000, ..aged(1, 72) };
    let input = household(
        None,
        Some(ElderlyClass::General),
        vec![member],
        vec![record(1, "H", Care::Outpatient, 100_000, 20_000)],
    );
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert!(decision.steps.contains(&Step::AnnualOutpatientLimit {
        person_id: id(1),
        borne_before: 140_000,
        borne_this_month: 18_000,
        limit: 144_000,
        benefit: 14_000
    }));
    assert_eq!(decision.benefit, 2_000 + 14_000);
    assert_eq!(decision.persons[0].outpatient_borne_this_year, Some(144_000));
    assert!(!decision.counts_toward_many_times, "an outpatient-only benefit does not count towards 多数回");
}

#[test]
fn low_income_classes_have_no_many_times_limit() {
    let mut input = household(
        None,
        Some(ElderlyClass::Low2),
        vec![aged(1, 72)],
        vec![record(1, "H", Care::Inpatient, 300_000, 30_000)],
    );
    input.prior_benefit_months = 5;
    let decision = decide(&input, &kumagaya(2024)).unwrap();
    assert_eq!((decision.many_times, decision.limit, decision.benefit), (false, Some(24_600), 5_400));
}

#[test]
fn refusals_name_the_field_and_never_the_value() {
    let rules = kumagaya(2024);
    let base = household(
        Some(Under70Class::U),
        None,
        vec![aged(1, 40)],
        vec![record(1, "H", Care::Inpatient, 100_000, 30_000)],
    );
    let missing = HighCostInput { under_70_class: None, ..base.clone() };
    assert_eq!(decide(&missing, &rules).unwrap_err(), BenefitRejection::ClassMissing { field: "under_70_class" });
    let mut stranger = base.clone();
    stranger.records[0].person_id = id(9);
    assert_eq!(decide(&stranger, &rules).unwrap_err().code(), "record_person_not_member");
    let mut over = base.clone();
    over.records[0].paid = 123_457;
    let error = decide(&over, &rules).unwrap_err();
    assert_eq!(error.code(), "invalid_field");
    assert_eq!(error.to_string(), "records[0].paid must be an amount of yen from 0 to the record's total_cost");
    assert!(!error.to_string().contains("123457"));
    let mut counted = base.clone();
    counted.prior_benefit_months = 12;
    assert_eq!(
        decide(&counted, &rules).unwrap_err().to_string(),
        "prior_benefit_months must be the number of the eleven months before this one with a benefit, 0 to 11"
    );
    let mut early = base;
    early.month = day(2010, 1, 1);
    assert_eq!(decide(&early, &rules).unwrap_err().code(), "benefit_rules_unavailable");
}

/// The classes (三郷市 page, as in rules/benefits_national.toml): over 9,010,000 ア, over
/// 6,000,000 イ, over 2,100,000 ウ, else エ; undeclared ア; exempt オ.
#[test]
fn under_70_class_by_income_undeclared_and_exempt() {
    let classes = national().high_cost[0].under_70_classes.clone();
    let class = |incomes: &[Option<i64>], exempt| under_70_class(incomes, exempt, &classes).0;
    assert_eq!(class(&[Some(2_100_000)], false), Under70Class::E);
    assert_eq!(class(&[Some(2_000_000), Some(100_001)], false), Under70Class::U);
    assert_eq!(class(&[Some(6_000_000)], false), Under70Class::U);
    assert_eq!(class(&[Some(6_000_001)], false), Under70Class::I);
    assert_eq!(class(&[Some(9_010_000)], false), Under70Class::I);
    assert_eq!(class(&[Some(9_010_001)], false), Under70Class::A);
    assert_eq!(class(&[Some(0), None], true), Under70Class::A, "undeclared income makes ア even when exempt");
    assert_eq!(under_70_class(&[Some(0)], true, &classes), (Under70Class::O, Under70ClassBasis::ResidentTaxExempt));
    assert_eq!(class(&[Some(-500_000), Some(2_100_001)], false), Under70Class::U, "a loss does not lower the sum");
}

/// 吉川市: 現役並みⅠ 145万円以上380万円未満, Ⅱ 380万円以上690万円未満, Ⅲ 690万円以上; 低所得Ⅱ/Ⅰ.
#[test]
fn elderly_class_from_the_share_decision() {
    let classes = national().high_cost[0].elderly_classes.clone();
    let active = |taxable| ElderlyShareBasis::ActiveIncome {
        highest_taxable_income: Yen::new(taxable),
        applied_for_income_exception: false,
    };
    assert_eq!(elderly_class(&active(1_450_000), false, false, &classes), ElderlyClass::Active1);
    assert_eq!(elderly_class(&active(3_799_999), false, false, &classes), ElderlyClass::Active1);
    assert_eq!(elderly_class(&active(3_800_000), false, false, &classes), ElderlyClass::Active2);
    assert_eq!(elderly_class(&active(6_900_000), false, false, &classes), ElderlyClass::Active3);
    let general = ElderlyShareBasis::NoMemberAtThreshold;
    assert_eq!(elderly_class(&general, false, false, &classes), ElderlyClass::General);
    assert_eq!(elderly_class(&general, true, false, &classes), ElderlyClass::Low2);
    assert_eq!(elderly_class(&general, true, true, &classes), ElderlyClass::Low1);
}

fn birth(born_on: NaiveDate, weeks: u32, in_scheme: bool, payment: Payment, cost: i64) -> ChildbirthClaim {
    ChildbirthClaim {
        born_on,
        weeks,
        children: 1,
        in_scheme,
        payment,
        cost,
        former_plan_pays: false,
        claimed_on: born_on,
    }
}

/// 韮崎市「国保の給付について(出産育児一時金・葬祭費)」(更新 2023-07-12): 500,000円; 産科医療補償制度
/// 未加入 or 在胎週数22週未満 488,000円; 直接支払制度で出産費用が下回った場合は差額を世帯主に.
/// 安城市「その他支給されるもの」: 令和4年1月1日より前 40.4万円, 令和4年1月1日から令和5年3月31日 40.8万円.
/// 熊谷市「赤ちゃんが生まれたら!」(2016): 42万円 / 40万4千円, 妊娠12週以上. 南魚沼市「出産育児一時金の
/// 支給」https://www.city.minamiuonuma.niigata.jp/docs/5774.html: 出産費用が50万円に満たない場合、
/// 差額は申請により本人(世帯主)に支給. Costs are ours.
#[test]
fn childbirth_lump_sum_by_date_scheme_and_weeks() {
    let rules = kumagaya(2024);
    let amount = |born_on, weeks, in_scheme| {
        childbirth::decide(&birth(born_on, weeks, in_scheme, Payment::ToHousehold, 600_000), &rules).unwrap().amount
    };
    assert_eq!(amount(day(2024, 6, 1), 39, true), 500_000);
    assert_eq!(amount(day(2024, 6, 1), 39, false), 488_000);
    assert_eq!(amount(day(2024, 6, 1), 21, true), 488_000);
    assert_eq!(amount(day(2024, 6, 1), 22, true), 500_000);
    assert_eq!(amount(day(2023, 3, 31), 39, true), 420_000);
    assert_eq!(amount(day(2023, 3, 31), 39, false), 408_000);
    assert_eq!(amount(day(2021, 12, 31), 39, false), 404_000);
    let short = childbirth::decide(&birth(day(2024, 6, 1), 11, true, Payment::Direct, 100_000), &rules).unwrap_err();
    assert_eq!((short.code(), short), ("pregnancy_too_short", BenefitRejection::PregnancyTooShort { min_weeks: 12 }));
    assert_eq!(
        amount(day(2024, 6, 1), 12, true),
        488_000,
        "12 weeks (85 days) is a birth; before 22, the lower amount"
    );

    // Direct payment: the institution up to its charge, the difference to the household.
    let lower = childbirth::decide(&birth(day(2024, 6, 1), 39, true, Payment::Direct, 460_000), &rules).unwrap();
    assert_eq!((lower.to_institution, lower.to_household), (460_000, 40_000));
    let higher = childbirth::decide(&birth(day(2024, 6, 1), 39, true, Payment::Direct, 620_000), &rules).unwrap();
    assert_eq!((higher.to_institution, higher.to_household), (500_000, 0));
    let twins = ChildbirthClaim { children: 2, ..birth(day(2024, 6, 1), 36, true, Payment::Direct, 900_000) };
    let twins = childbirth::decide(&twins, &rules).unwrap();
    assert_eq!((twins.amount, twins.to_institution, twins.to_household), (1_000_000, 900_000, 100_000));
}

/// 伊勢市「出産育児一時金・葬祭費」: 出産後2年で時効; 国民健康保険法 §110.
#[test]
fn childbirth_claim_lapses_after_two_years_and_is_refused_when_the_former_plan_pays() {
    let rules = kumagaya(2024);
    let claim =
        |claimed_on| ChildbirthClaim { claimed_on, ..birth(day(2024, 5, 10), 39, true, Payment::ToHousehold, 0) };
    let ok = childbirth::decide(&claim(day(2026, 5, 10)), &rules).unwrap();
    assert_eq!(ok.claim_deadline, day(2026, 5, 10));
    let late = childbirth::decide(&claim(day(2026, 5, 11)), &rules).unwrap_err();
    assert_eq!(late, BenefitRejection::ClaimLapsed { last_day: day(2026, 5, 10) });
    assert_eq!(late.code(), "claim_lapsed");
    let former = ChildbirthClaim { former_plan_pays: true, ..claim(day(2024, 6, 1)) };
    assert_eq!(childbirth::decide(&former, &rules).unwrap_err().code(), "former_plan_pays");
}

/// 上尾市「葬祭費」(5万円; 退職し国保に加入してから3ヵ月以内に死亡した場合は会社の保険から; 葬祭を
/// 行ってから2年で時効), 大月町 (葬儀を行った日の翌日から起算して2年). Kumagaya's amount is
/// assumed (rules/112020/*/benefits.toml).
#[test]
fn funeral_expense_amount_two_years_and_the_former_plan() {
    let claim = |claimed_on, left| FuneralClaim {
        died_on: day(2024, 6, 30),
        funeral_on: day(2024, 7, 3),
        claimed_on,
        left_employee_plan_on: left,
        former_plan_paid: false,
    };
    for year in [2024, 2025, 2026] {
        let decision = funeral::decide(&claim(day(2024, 7, 10), None), &kumagaya(year)).unwrap();
        assert_eq!((decision.amount, decision.fiscal_year), (50_000, year));
    }
    let rules = kumagaya(2024);
    assert_eq!(funeral::decide(&claim(day(2026, 7, 3), None), &rules).unwrap().claim_deadline, day(2026, 7, 3));
    let late = funeral::decide(&claim(day(2026, 7, 4), None), &rules).unwrap_err();
    assert_eq!(late.code(), "claim_lapsed");
    // Left the employee plan on 1 April: a death before 1 July is that plan's.
    let within = funeral::decide(&claim(day(2024, 7, 10), Some(day(2024, 4, 1))), &rules).unwrap_err();
    assert_eq!(within, BenefitRejection::FormerPlanPays);
    let after = FuneralClaim { died_on: day(2024, 7, 1), ..claim(day(2024, 7, 10), Some(day(2024, 4, 1))) };
    assert_eq!(funeral::decide(&after, &rules).unwrap().amount, 50_000);
    let paid = FuneralClaim { former_plan_paid: true, ..claim(day(2024, 7, 10), None) };
    assert_eq!(funeral::decide(&paid, &rules).unwrap_err().code(), "former_plan_pays");
    // Left on 30 November: the three months end on the last day of February (民法 §143 ②).
    let november = |died_on| FuneralClaim {
        died_on,
        funeral_on: died_on,
        claimed_on: died_on,
        left_employee_plan_on: Some(day(2024, 11, 30)),
        former_plan_paid: false,
    };
    assert_eq!(funeral::decide(&november(day(2025, 2, 28)), &rules).unwrap_err().code(), "former_plan_pays");
    assert_eq!(funeral::decide(&november(day(2025, 3, 1)), &rules).unwrap().amount, 50_000);
    let before = FuneralClaim { funeral_on: day(2024, 6, 29), ..claim(day(2024, 7, 10), None) };
    assert_eq!(funeral::decide(&before, &rules).unwrap_err().code(), "funeral_before_death");
}

/// Review finding (b): a service month is decided only once it has ended, and the rule file may
/// wait whole months more (`[high_cost_decision] months_after_service`, 0 when shipped).
#[test]
fn a_service_month_is_decided_only_after_it_has_ended_and_the_months_the_rules_wait() {
    use super::month::first_open_month;
    assert_eq!(kumagaya(2024).decision_wait_months(), 0, "shipped: the month must have ended");
    assert_eq!(first_open_month(day(2025, 8, 1), 0), day(2025, 8, 1));
    assert_eq!(first_open_month(day(2025, 8, 31), 0), day(2025, 8, 1));
    assert_eq!(first_open_month(day(2025, 1, 15), 2), day(2024, 11, 1));
    let city = toml::from_str(include_str!("../../../../rules/112020/2024/benefits.toml")).unwrap();
    let mut rules = national();
    rules.high_cost_decision = Some(super::HighCostDecisionTiming { months_after_service: 13, source: "test".into() });
    let refused = BenefitRules::new(rules, city, "112020", 2024).unwrap_err();
    assert_eq!(refused.key, "high_cost_decision.months_after_service");
}
