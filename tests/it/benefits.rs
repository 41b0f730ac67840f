//! Benefits (給付) through the real router, as a benefits clerk works: persons, households and
//! incomes recorded first (by the eligibility and tax clerks), then the 国保連's medical-cost
//! records imported as a batch and each household-month's high-cost medical expense benefit
//! (高額療養費) decided with Kumagaya's shipped rule files — published worked examples (the
//! cases of `crates/domain/src/benefits/examples.rs`, with their citations) giving the published
//! benefit to the yen —, the 公金受取口座 (masked, the reveal recorded), the childbirth and
//! funeral claims decided once, and the access records.
//!
//! The clock is set to 2025-08-01 (JST): the service months are in FY2024 (rules/112020/2024/
//! benefits.toml), whose under-70 class reads the incomes of 2023 (August–July).

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use kokuho_auth::Role;
use serde_json::{json, Value};

use crate::support::*;

/// The review findings on this area, each with the test that failed before its fix.
mod review;

const TODAY: &str = "2025-08-01T00:00:00Z";

async fn client_at(today: &str) -> Client {
    let api = Client::in_process().await;
    let today: DateTime<Utc> = today.parse().unwrap();
    api.clock.advance(today - api.clock.now());
    api
}

/// The staff of the test: an eligibility clerk, a tax clerk (incomes) and a benefits clerk.
struct Clerks {
    eligibility: String,
    tax: String,
    benefits: String,
}

async fn clerks(api: &Client) -> Clerks {
    let (_, eligibility) = api.signed_in(Role::EligibilityClerk).await;
    let (_, tax) = api.signed_in(Role::TaxClerk).await;
    let (_, benefits) = api.signed_in(Role::BenefitsClerk).await;
    Clerks { eligibility, tax, benefits }
}

/// 総所得金額等 `total` and 課税所得 `taxable` of `income_year`, declared.
async fn report_income(api: &Client, clerks: &Clerks, person: &str, income_year: i32, total: i64, taxable: i64) {
    api.ok(
        &clerks.tax,
        &format!("/persons/{person}/income"),
        json!({"income_year": income_year, "total_income_yen": total, "taxable_income_yen": taxable,
               "salary_income_yen": total, "pension_income_yen": 0, "declared": true,
               "source": "resident_tax", "legal_basis": "地方税法 第703条の4"}),
    )
    .await;
}

/// A household of persons born on `born`, insured from 2024-04-01, the first the head; each
/// with the 2023 income given (總所得金額等, 課税所得).
async fn household(api: &Client, clerks: &Clerks, members: &[(&str, i64, i64)]) -> (String, Vec<String>) {
    let mut persons = Vec::new();
    for (born, total, taxable) in members {
        let person = PersonBuilder::new().born(born).insured_from("2024-04-01").create(api, &clerks.eligibility).await;
        report_income(api, clerks, &person, 2023, *total, *taxable).await;
        persons.push(person);
    }
    let mut builder = HouseholdBuilder::new(&persons[0]).established_on("2024-04-01");
    for person in &persons[1..] {
        builder = builder.member(person, "2024-04-01");
    }
    let household = builder.create(api, &clerks.eligibility).await;
    (household, persons)
}

/// A record of the 国保連's batch.
fn record(id: &str, person: &str, month: &str, provider: &str, care: &str, total: i64, paid: i64) -> Value {
    json!({"record_id": id, "person_id": person, "month": month, "provider": provider, "care": care,
           "total_cost_yen": total, "paid_yen": paid})
}

async fn import(api: &Client, clerk: &str, batch: &str, records: Vec<Value>) -> (StatusCode, Value) {
    let path = format!("/v1/{KUMAGAYA}/benefits/medical-costs");
    api.request(Method::POST, &path, Some(clerk), Some(batch), Some(json!({"batch_id": batch, "records": records})))
        .await
}

async fn decide(api: &Client, clerk: &str, household: &str, month: &str, body: Option<Value>) -> (StatusCode, Value) {
    let path = format!("/v1/{KUMAGAYA}/households/{household}/benefits/high-cost/{month}/decision");
    api.request(Method::POST, &path, Some(clerk), None, body).await
}

/// Imports `records` and decides the month; answers the decision.
async fn benefit_of(api: &Client, clerk: &str, household: &str, month: &str, records: Vec<Value>) -> Value {
    let (status, imported) = import(api, clerk, &format!("batch-{month}"), records).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let (status, decided) = decide(api, clerk, household, month, None).await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    assert_eq!(decided["outcome"], json!("decided"));
    decided["month"]["decision"].clone()
}

fn person_benefit(decision: &Value, person: &str) -> i64 {
    decision["persons"].as_array().unwrap().iter().find(|p| p["person_id"] == json!(person)).unwrap()["benefit_yen"]
        .as_i64()
        .unwrap()
}

async fn accesses(api: &Client, person: &str) -> usize {
    api.event_types(&format!("access-{person}")).await.iter().filter(|t| *t == "PersonalDataAccessed").count()
}

fn account(number: &str) -> Value {
    json!({"bank_code": "0001", "branch_code": "123", "account_type": "ordinary", "account_number": number,
           "holder_kana": "クマガヤ タロウ"})
}

/// 大和市「高額療養費の計算例(70歳未満の世帯)」(更新 2024-12-02)
/// https://www.city.yamato.lg.jp/gyosei/soshik/2020/kokuminkenkohoken/kokuho_kyufu/kogakuryoyohi/6995.html
/// 区分ウ; 夫 A病院外来 60,000 (200,000), B病院入院 120,000 (400,000); 妻 C病院外来 30,000
/// (100,000), D病院外来 3,000 (10,000): D is below 21,000; 限度額 84,430; 支給額 125,570.
/// Here the household's class comes from the incomes recorded: 3,000,000 − 430,000 = ウ. Paid to
/// the head's 公金受取口座, registered with consent; the account masked in every read, revealed
/// once with an access recorded.
#[tokio::test]
async fn yamato_under_70_household_several_providers_and_the_21000_rule_paid_to_the_public_funds_account() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, persons) =
        household(&api, &clerks, &[("1979-04-15", 3_000_000, 1_500_000), ("1981-04-15", 0, 0)]).await;
    let (husband, wife) = (&persons[0], &persons[1]);

    let path = format!("/persons/{husband}/benefits/public-funds-account");
    let registered = api.ok(&clerks.benefits, &path, json!({"account": account("7654321"), "consented": true})).await;
    assert_eq!(registered["account"]["account_number_masked"], json!("****321"));
    assert!(!registered.to_string().contains("7654321"), "the number is never answered: {registered}");

    let records = vec![
        record("R1", husband, "2024-10", "A", "outpatient", 200_000, 60_000),
        record("R2", husband, "2024-10", "B", "inpatient", 400_000, 120_000),
        record("R3", wife, "2024-10", "C", "outpatient", 100_000, 30_000),
        record("R4", wife, "2024-10", "D", "outpatient", 10_000, 3_000),
    ];
    let (status, imported) = import(&api, &clerks.benefits, "kokuhoren-2024-11", records.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!((imported["received"].as_i64(), imported["recorded"].as_i64()), (Some(4), Some(4)));
    // The same batch again (another key): nothing recorded twice.
    let (status, again) = import(&api, &clerks.benefits, "kokuhoren-2024-11-resent", records).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!((again["recorded"].as_i64(), again["already_recorded"].as_i64()), (Some(0), Some(4)));

    api.clock.advance(chrono::TimeDelta::minutes(1));
    let before = accesses(&api, wife).await;
    let (status, decided) = decide(&api, &clerks.benefits, &household, "2024-10", None).await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let decision = &decided["month"]["decision"];
    assert_eq!(decision["benefit_yen"], json!(125_570));
    assert_eq!(decision["limit_yen"], json!(84_430));
    assert_eq!(decision["counted_yen"], json!(210_000));
    assert_eq!(decision["paid_yen"], json!(213_000));
    assert_eq!(person_benefit(decision, husband), 107_631);
    assert_eq!(decision["rules_file"], json!("112020/2024/benefits.toml"));
    assert_eq!(decision["rules_sha256"].as_str().unwrap().len(), 64);
    let calculation = &decision["calculation"];
    assert_eq!(calculation["classes"]["under_70_class"], json!("u"));
    assert_eq!(calculation["classes"]["under_70_basis"], json!({"basis": "income", "total": 2_570_000}));
    let steps = calculation["decision"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["step"] == json!("record_dropped") && s["provider"] == json!("D")), "{steps:?}");
    let payment = &decided["month"]["payment"];
    assert_eq!(payment["amount_yen"], json!(125_570));
    assert_eq!(payment["account_source"], json!("public_funds_account"));
    assert_eq!(payment["payee_person_id"], json!(husband));
    assert_eq!(payment["account"]["account_number_masked"], json!("****321"));
    assert_eq!(accesses(&api, wife).await, before + 1, "the member shown is recorded as an access");
    let stream = format!("high-cost-{household}-2024-10");
    assert_eq!(api.event_types(&stream).await.last().map(String::as_str), Some("BenefitPaymentInstructed"));

    // Decided once: again, 200 and nothing recorded; a late record for the month is refused.
    let (status, again) = decide(&api, &clerks.benefits, &household, "2024-10", None).await;
    assert_eq!((status, again["outcome"].as_str()), (StatusCode::OK, Some("already_decided")));
    let (status, late) =
        import(&api, &clerks.benefits, "late", vec![record("R5", wife, "2024-10", "E", "inpatient", 90_000, 27_000)])
            .await;
    assert_eq!((status, late["code"].as_str()), (StatusCode::CONFLICT, Some("month_already_decided")), "{late}");

    // The reads: the household-month as_of before the decision shows no decision.
    let read = |as_of: Option<DateTime<Utc>>| {
        let as_of = as_of
            .map(|at| format!("&as_of={}", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).replace('+', "%2B")))
            .unwrap_or_default();
        format!("/households/{household}/benefits/high-cost/2024-10?purpose=benefits{as_of}")
    };
    let (status, now) = api.get(&clerks.benefits, &read(None)).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["decision"]["benefit_yen"], json!(125_570));
    assert_eq!(now["records"].as_array().unwrap().len(), 4);
    let decided_at: DateTime<Utc> = now["decision"]["recorded_at"].as_str().unwrap().parse().unwrap();
    let (status, before_decision) =
        api.get(&clerks.benefits, &read(Some(decided_at - chrono::TimeDelta::microseconds(1)))).await;
    assert_eq!(status, StatusCode::OK, "{before_decision}");
    assert_eq!(before_decision["decision"], Value::Null);
    // A tax clerk does not serve the benefits purpose.
    let (status, refused) = api.get(&clerks.tax, &read(None)).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("purpose_not_permitted")));
    // An auditor's read is recorded under the audit affair (review finding: every read of a
    // household-month was recorded as for benefits).
    let (_, auditor) = api.signed_in(Role::Auditor).await;
    let (status, audited) = api.get(&auditor, &read(None).replace("purpose=benefits", "purpose=audit")).await;
    assert_eq!(status, StatusCode::OK, "{audited}");
    let recorded = api
        .ledgerd
        .store
        .read_stream(kumagaya(), &format!("access-{husband}"), kokuho_store::Decrypt::Yes)
        .await
        .unwrap();
    let last = kokuho_ledger::decode(recorded.last().unwrap()).unwrap();
    assert!(matches!(&last, kokuho_events::LedgerEvent::PersonalDataAccessed(e) if e.purpose == "audit"), "{last:?}");

    // The person's benefits: the account masked; the reveal recorded before the number is sent.
    let (status, mine) = api.get(&clerks.benefits, &format!("/persons/{husband}/benefits?purpose=benefits")).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["public_funds_account"]["account"]["account_number_masked"], json!("****321"));
    assert!(!mine.to_string().contains("7654321"));
    let revealed_before = api.event_types(&format!("access-{husband}")).await.len();
    let (status, revealed) = api
        .post(
            &clerks.benefits,
            &format!("/persons/{husband}/benefits/public-funds-account/reveal"),
            json!({"purpose": "benefits"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    assert_eq!(revealed["account"]["account_number"], json!("7654321"));
    assert_eq!(api.event_types(&format!("access-{husband}")).await.len(), revealed_before + 1);
}

/// 設楽町「医療費が高額になったとき(高額療養費)」http://www.town.shitara.aichi.jp/index.cfm/15,452,64,228,html
/// 夫 60,000, 妻 30,000, 娘 15,000 (below 21,000); 限度額 80,430; 支給額 9,570 (ウ). No
/// 公金受取口座: paid to the account on the application.
#[tokio::test]
async fn shitara_under_70_household_drops_the_charge_below_21000_and_pays_the_claim_account() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) =
        household(&api, &clerks, &[("1974-04-15", 3_000_000, 1_500_000), ("1976-04-15", 0, 0), ("2004-04-15", 0, 0)])
            .await;
    let (status, imported) = import(
        &api,
        &clerks.benefits,
        "shitara",
        vec![
            record("S1", &p[0], "2024-10", "H1", "outpatient", 200_000, 60_000),
            record("S2", &p[1], "2024-10", "H2", "outpatient", 100_000, 30_000),
            record("S3", &p[2], "2024-10", "H3", "outpatient", 50_000, 15_000),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let (status, decided) =
        decide(&api, &clerks.benefits, &household, "2024-10", Some(json!({"account": account("1112223")}))).await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let decision = &decided["month"]["decision"];
    assert_eq!((decision["limit_yen"].as_i64(), decision["benefit_yen"].as_i64()), (Some(80_430), Some(9_570)));
    assert_eq!(person_benefit(decision, &p[2]), 0, "the daughter's charge did not count");
    assert_eq!(decided["month"]["payment"]["account_source"], json!("claim_account"));
}

/// LIMO「高額療養費の支給例」https://limo.media/articles/-/54627?page=2 ケース2 (イ): 医療費 800,000,
/// paid 240,000, 限度額 167,400 + (800,000 − 558,000) × 1% = 169,820; 70,180. The class from
/// the income recorded: 7,000,000 − 430,000 = 6,570,000 → イ.
#[tokio::test]
async fn limo_class_i_from_the_income_recorded() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    let decision = benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-10",
        vec![record("L1", &p[0], "2024-10", "H", "inpatient", 800_000, 240_000)],
    )
    .await;
    assert_eq!((decision["limit_yen"].as_i64(), decision["benefit_yen"].as_i64()), (Some(169_820), Some(70_180)));
    assert_eq!(decision["calculation"]["classes"]["under_70_class"], json!("i"));
}

/// 大和市「高額療養費の計算例(70歳以上の人のみの世帯)」(更新 2024-12-02)
/// https://www.city.yamato.lg.jp/gyosei/soshik/2020/kokuminkenkohoken/kokuho_kyufu/kogakuryoyohi/6997.html
/// 一般: 夫 A・B病院外来 10,000 each; 妻 C病院入院 57,600. 外来 20,000 − 18,000 = 2,000; 世帯
/// 75,600 − 57,600 = 18,000; 計 20,000. 一般 because no member's 課税所得 reaches 1,450,000.
#[tokio::test]
async fn yamato_70_to_74_outpatient_cap_then_household_cap() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1952-04-15", 1_500_000, 300_000), ("1953-04-15", 0, 0)]).await;
    let decision = benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-10",
        vec![
            record("Y1", &p[0], "2024-10", "A", "outpatient", 50_000, 10_000),
            record("Y2", &p[0], "2024-10", "B", "outpatient", 50_000, 10_000),
            record("Y3", &p[1], "2024-10", "C", "inpatient", 800_000, 57_600),
        ],
    )
    .await;
    assert_eq!((decision["benefit_yen"].as_i64(), decision["limit_yen"].as_i64()), (Some(20_000), Some(57_600)));
    assert_eq!(decision["calculation"]["classes"]["elderly_class"], json!("general"));
    let steps = decision["calculation"]["decision"]["steps"].as_array().unwrap();
    let outpatient = steps.iter().find(|s| s["step"] == json!("outpatient_limit")).unwrap();
    assert_eq!((outpatient["limit"].as_i64(), outpatient["benefit"].as_i64()), (Some(18_000), Some(2_000)));
}

/// JAVA健保「75歳到達月の高額療養費の自己負担限度額の特例」http://javakenpo.gr.jp/together/07-2.html
/// (現役並みⅢ: 252,600 + (総医療費 − 842,000) × 1%): a 72-year-old with 課税所得 7,000,000 (3割,
/// 現役並みⅢ from 6,900,000), outpatient 1,000,000 paid 300,000 → 300,000 − 254,180 = 45,820;
/// 現役並み has no separate outpatient limit.
#[tokio::test]
async fn active_income_class_iii_from_the_share_basis() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1952-04-15", 8_000_000, 7_000_000)]).await;
    let decision = benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-10",
        vec![record("J1", &p[0], "2024-10", "H", "outpatient", 1_000_000, 300_000)],
    )
    .await;
    assert_eq!(decision["calculation"]["classes"]["elderly_class"], json!("active3"));
    assert_eq!(decision["benefit_yen"], json!(45_820));
    let steps = decision["calculation"]["decision"]["steps"].as_array().unwrap();
    assert!(!steps.iter().any(|s| s["step"] == json!("outpatient_limit")));
}

/// 蒲郡市「75歳到達月における自己負担限度額の特例」https://www.city.gamagori.lg.jp/unit/nenkin/kokuhokyufu008.html
/// (一般: the birthday month's NHI limit is half, 28,800). Inputs as in the domain's example:
/// turning 75 on 15 May 2024, an inpatient charge of 60,000 (cost 600,000) → 31,200.
#[tokio::test]
async fn gamagori_the_month_of_turning_75_halves_the_limit() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1949-05-15", 0, 0)]).await;
    let decision = benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-05",
        vec![record("G1", &p[0], "2024-05", "H", "inpatient", 600_000, 60_000)],
    )
    .await;
    assert_eq!(decision["benefit_yen"], json!(31_200));
    let steps = decision["calculation"]["decision"]["steps"].as_array().unwrap();
    let halved = steps.iter().find(|s| s["step"] == json!("halved_personal_limit")).unwrap();
    assert_eq!(halved["limit"], json!(28_800));
}

/// 多数該当 (UMIN 高額療養費 解説) http://kogaku.umin.jp/tasuu.html and りんぱしゅ通信
/// https://www.rinpashu.jp/works-costs-life/costs/article-05.html: three benefits in the last twelve
/// months make the fourth month's limit 44,400 (ウ): inpatient 1,000,000 paid 300,000 →
/// 255,600 (the first three months: 300,000 − 87,430 = 212,570 each).
#[tokio::test]
async fn many_times_from_the_fourth_month() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1961-04-15", 3_000_000, 1_500_000)]).await;
    for (index, month) in ["2024-08", "2024-09", "2024-10"].into_iter().enumerate() {
        let decision = benefit_of(
            &api,
            &clerks.benefits,
            &household,
            month,
            vec![record(&format!("M{index}"), &p[0], month, "H", "inpatient", 1_000_000, 300_000)],
        )
        .await;
        assert_eq!((decision["many_times"].as_bool(), decision["benefit_yen"].as_i64()), (Some(false), Some(212_570)));
    }
    let fourth = benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-11",
        vec![record("M4", &p[0], "2024-11", "H", "inpatient", 1_000_000, 300_000)],
    )
    .await;
    assert_eq!(
        (fourth["many_times"].as_bool(), fourth["limit_yen"].as_i64(), fourth["benefit_yen"].as_i64()),
        (Some(true), Some(44_400), Some(255_600))
    );
}

#[tokio::test]
async fn imports_are_checked_before_anything_is_recorded_and_name_the_field() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (_, p) = household(&api, &clerks, &[("1979-04-15", 3_000_000, 1_500_000)]).await;
    let stranger = PersonBuilder::new().born("1980-01-01").create(&api, &clerks.eligibility).await;
    let bad = [
        (record("X1", &p[0], "2024-10", "H", "inpatient", 100, 200), "invalid_field", "records[0].paid_yen"),
        (record("X1", &p[0], "2024-13", "H", "inpatient", 100, 20), "invalid_month", "records[0].month"),
        (record("X1", &stranger, "2024-10", "H", "inpatient", 100, 20), "person_without_household", "records[0]"),
    ];
    for (body, code, field) in bad {
        let (status, refused) = import(&api, &clerks.benefits, "bad", vec![body]).await;
        assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{refused}");
        assert!(refused["detail"].as_str().unwrap().contains(field), "{refused}");
    }
    let too_many: Vec<Value> =
        (0..251).map(|i| record(&format!("T{i}"), &p[0], "2024-10", "H", "outpatient", 100, 30)).collect();
    let (status, refused) = import(&api, &clerks.benefits, "big", too_many).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_many_records")));
    // An eligibility clerk may not import.
    let (status, refused) = import(&api, &clerks.eligibility, "role", vec![]).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));
}

/// 南魚沼市「出産育児一時金の支給」https://www.city.minamiuonuma.niigata.jp/docs/5774.html: 出産費用が
/// 50万円に満たない場合、差額を支給. A birth on 2025-06-10 (500,000 from April 2023) at a charge of
/// 470,000 paid directly: 470,000 to the institution, the difference 30,000 to the claimant. A
/// second claim for the same birth is refused.
#[tokio::test]
async fn childbirth_pays_the_difference_and_a_claim_is_decided_once() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let mother =
        PersonBuilder::new().born("1995-04-15").insured_from("2025-04-01").create(&api, &clerks.eligibility).await;
    let path = format!("/persons/{mother}/benefits/childbirth-claims");
    let body = json!({"born_on": "2025-06-10", "weeks": 39, "in_scheme": true, "payment": "direct",
                      "cost_yen": 470_000, "account": account("2223334")});
    let claim = api.ok(&clerks.benefits, &path, body.clone()).await;
    assert_eq!(claim["outcome"], json!("paid"));
    assert_eq!(
        (claim["amount_yen"].as_i64(), claim["to_institution_yen"].as_i64(), claim["to_claimant_yen"].as_i64()),
        (Some(500_000), Some(470_000), Some(30_000))
    );
    assert_eq!(claim["payment"]["amount_yen"], json!(30_000));
    assert_eq!(claim["payment"]["account_source"], json!("claim_account"));
    let (status, again) = api.post(&clerks.benefits, &path, body).await;
    assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("claim_already_decided")), "{again}");
    let (status, bad) = api
        .post(
            &clerks.benefits,
            &path,
            json!({"born_on": "2025-07-10", "weeks": 39, "in_scheme": true, "payment": "direct",
                                               "cost_yen": 470_000, "account": account("12")}),
        )
        .await;
    assert_eq!((status, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
    assert!(bad["detail"].as_str().unwrap().contains("account.account_number") && !bad.to_string().contains("\"12\""));
    let (status, mine) = api.get(&clerks.benefits, &format!("/persons/{mother}/benefits?purpose=benefits")).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["claims"].as_array().unwrap().len(), 1);
    assert_eq!(mine["payments"][0]["account"]["account_number_masked"], json!("****334"));
}

/// 葬祭費 (熊谷市, rules/112020/2024/benefits.toml: 50,000), claimable for two years from the day
/// after the funeral (国民健康保険法 §110): a death on 2024-04-05 with the funeral on 2024-04-10
/// claimed on 2026-06-01 is refused (recorded, `claim_lapsed`); then decided once.
#[tokio::test]
async fn funeral_is_refused_past_two_years_and_paid_within_them() {
    let api = client_at("2026-06-01T00:00:00Z").await;
    let clerks = clerks(&api).await;
    let mourner = PersonBuilder::new().born("1970-04-15").create(&api, &clerks.eligibility).await;
    let mut deceased = Vec::new();
    for died in ["2024-04-05", "2025-04-05"] {
        let person =
            PersonBuilder::new().born("1960-01-10").insured_from("2024-04-01").create(&api, &clerks.eligibility).await;
        api.ok(
            &clerks.eligibility,
            &format!("/persons/{person}/death"),
            json!({"died_on": died, "notified_on": died, "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
        )
        .await;
        deceased.push(person);
    }
    let body = |funeral_on: &str| json!({"funeral_on": funeral_on, "claimant_person_id": mourner, "account": account("5556667")});
    let lapsed = api
        .ok(&clerks.benefits, &format!("/persons/{}/benefits/funeral-claims", deceased[0]), body("2024-04-10"))
        .await;
    assert_eq!((lapsed["outcome"].as_str(), lapsed["code"].as_str()), (Some("refused"), Some("claim_lapsed")));
    assert_eq!(lapsed["payment"], Value::Null);
    let (status, again) = api
        .post(&clerks.benefits, &format!("/persons/{}/benefits/funeral-claims", deceased[0]), body("2024-04-10"))
        .await;
    assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("claim_already_decided")));

    let paid = api
        .ok(&clerks.benefits, &format!("/persons/{}/benefits/funeral-claims", deceased[1]), body("2025-04-10"))
        .await;
    assert_eq!((paid["outcome"].as_str(), paid["amount_yen"].as_i64()), (Some("paid"), Some(50_000)));
    assert_eq!(paid["payment"]["payee_person_id"], json!(mourner));
}

/// `kokuho benefits run --month 2024-10` in process: every household-month with records is
/// decided once; one decided on demand before is counted, not decided again; a rerun decides
/// nothing new.
#[tokio::test]
async fn the_monthly_run_decides_each_household_month_once_and_a_rerun_decides_nothing() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (first, p) = household(&api, &clerks, &[("1979-04-15", 3_000_000, 1_500_000)]).await;
    let (second, q) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    let (third, r) = household(&api, &clerks, &[("1979-04-15", 3_000_000, 1_500_000)]).await;
    let (status, imported) = import(
        &api,
        &clerks.benefits,
        "run",
        vec![
            record("N1", &p[0], "2024-10", "H", "inpatient", 800_000, 240_000),
            record("N2", &q[0], "2024-10", "H", "inpatient", 800_000, 240_000),
            record("N3", &r[0], "2024-10", "H", "outpatient", 30_000, 9_000),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let (status, _) = decide(&api, &clerks.benefits, &third, "2024-10", None).await;
    assert_eq!(status, StatusCode::CREATED);
    let deps = api.ledgerd.benefits_deps();
    let options = kokuho_jobs::benefits::RunOptions {
        tenant: kokuho_domain::TenantCode::parse(KUMAGAYA).unwrap(),
        month: chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap(),
    };
    let mut seen = Vec::new();
    let report = kokuho_jobs::benefits::run(&deps, &options, &mut |progress| seen.push(progress)).await.unwrap();
    // LIMO (https://limo.media/articles/-/54627?page=2): ウ 154,570 and イ 70,180.
    assert_eq!((report.households, report.decided, report.already_decided), (3, 2, 1), "{report}");
    assert_eq!(report.total_benefit_yen, 154_570 + 70_180);
    assert!(report.refused.is_empty());
    assert_eq!(seen.last().map(|p| (p.done, p.total)), Some((3, 3)));
    assert!(report.to_string().contains("224750 yen"), "{report}");
    for household in [&first, &second] {
        let types = api.event_types(&format!("high-cost-{household}-2024-10")).await;
        assert_eq!(types.iter().filter(|t| *t == "HighCostDecided").count(), 1);
    }
    // The read model lists them by household and person, with where each is paid.
    let db = api.ledgerd.store.db();
    let first_id = uuid::Uuid::parse_str(&first).unwrap();
    let rows = kokuho_projections::models::Benefits::of_household(db, KUMAGAYA, first_id).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].kind.as_str(), rows[0].amount_yen, rows[0].paid_to.as_deref()), ("high_cost", 154_570, None));
    let head = uuid::Uuid::parse_str(&p[0]).unwrap();
    assert_eq!(kokuho_projections::models::Benefits::of_person(db, KUMAGAYA, head).await.unwrap(), rows);
    let again = kokuho_jobs::benefits::run(&deps, &options, &mut |_| {}).await.unwrap();
    assert_eq!((again.decided, again.already_decided, again.total_benefit_yen), (0, 3, 0), "{again}");
}

/// The README's walk-through (section "Benefits"), with the figures it shows: 花子 (born
/// 1980-05-05, 総所得 2024 1,460,000 − 430,000 = 1,030,000) and her son (income 0) are class エ
/// in August 2025: limit 57,600 (rules/benefits_national.toml), so 150,000 paid gives 92,400,
/// paid to her 公金受取口座.
#[tokio::test]
async fn the_readme_walk_through_gives_the_figures_it_shows() {
    let api = client_at("2025-10-01T00:00:00Z").await;
    let clerks = clerks(&api).await;
    let hanako =
        PersonBuilder::new().born("1980-05-05").insured_from("2025-04-01").create(&api, &clerks.eligibility).await;
    let son =
        PersonBuilder::new().born("2020-06-01").insured_from("2025-04-01").create(&api, &clerks.eligibility).await;
    let household = HouseholdBuilder::new(&hanako)
        .established_on("2025-04-01")
        .member(&son, "2025-04-01")
        .create(&api, &clerks.eligibility)
        .await;
    report_income(&api, &clerks, &hanako, 2024, 1_460_000, 620_000).await;
    report_income(&api, &clerks, &son, 2024, 0, 0).await;
    let registered = api
        .ok(
            &clerks.benefits,
            &format!("/persons/{hanako}/benefits/public-funds-account"),
            json!({"account": {"bank_code": "0001", "branch_code": "123", "account_type": "ordinary",
                               "account_number": "7654321", "holder_kana": "クマガヤ ハナコ"}, "consented": true}),
        )
        .await;
    assert_eq!(registered["account"]["account_number_masked"], json!("****321"));
    let (status, imported) = import(
        &api,
        &clerks.benefits,
        "kokuhoren-2025-09",
        vec![record("R0001", &hanako, "2025-08", "1110012345", "inpatient", 500_000, 150_000)],
    )
    .await;
    assert_eq!((status, imported["recorded"].as_i64()), (StatusCode::CREATED, Some(1)), "{imported}");
    let (status, decided) = decide(&api, &clerks.benefits, &household, "2025-08", None).await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let decision = &decided["month"]["decision"];
    assert_eq!((decision["benefit_yen"].as_i64(), decision["limit_yen"].as_i64()), (Some(92_400), Some(57_600)));
    assert_eq!(decision["calculation"]["classes"]["under_70_class"], json!("e"));
    assert_eq!(decided["month"]["payment"]["account_source"], json!("public_funds_account"));
}
