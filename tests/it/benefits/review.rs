//! Review findings on benefits (給付), each with the test that failed before its fix: what a
//! benefits clerk would notice through HTTP (or the monthly run), with Kumagaya's shipped rules.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::*;

fn run_options(month: &str) -> kokuho_jobs::benefits::RunOptions {
    kokuho_jobs::benefits::RunOptions {
        tenant: kokuho_domain::TenantCode::parse(KUMAGAYA).unwrap(),
        month: chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").unwrap(),
    }
}

async fn count_events(api: &Client, stream: &str, event_type: &str) -> usize {
    api.event_types(stream).await.iter().filter(|t| *t == event_type).count()
}

/// (a) A month decided while the head had no consented 公金受取口座 and the request carried no
/// account stood without a payment; a later decision request answered `already_decided` and
/// recorded nothing, so the benefit could never be paid. Now the later request, once the head
/// has registered an account, records the payment instruction alone, once.
#[tokio::test]
async fn a_month_decided_without_an_account_is_paid_once_an_account_is_registered() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    // LIMO ケース2 (イ): 800,000 paid 240,000 → 70,180.
    let (household, p) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    let records = vec![record("P1", &p[0], "2024-10", "H", "inpatient", 800_000, 240_000)];
    let (status, imported) = import(&api, &clerks.benefits, "pay-later", records).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let (status, decided) = decide(&api, &clerks.benefits, &household, "2024-10", None).await;
    assert_eq!((status, decided["outcome"].as_str()), (StatusCode::CREATED, Some("decided")), "{decided}");
    assert_eq!(decided["month"]["decision"]["benefit_yen"], json!(70_180));
    assert_eq!(decided["month"]["payment"], Value::Null);
    // Still no account: nothing to pay into, nothing recorded.
    let (status, again) = decide(&api, &clerks.benefits, &household, "2024-10", None).await;
    assert_eq!((status, again["outcome"].as_str()), (StatusCode::OK, Some("already_decided")), "{again}");

    let path = format!("/persons/{}/benefits/public-funds-account", p[0]);
    api.ok(&clerks.benefits, &path, json!({"account": account("7654321"), "consented": true})).await;
    let (status, paid) = decide(&api, &clerks.benefits, &household, "2024-10", None).await;
    assert_eq!((status, paid["outcome"].as_str()), (StatusCode::CREATED, Some("payment_instructed")), "{paid}");
    let payment = &paid["month"]["payment"];
    assert_eq!(payment["amount_yen"], json!(70_180));
    assert_eq!(payment["account_source"], json!("public_funds_account"));
    assert_eq!(payment["payee_person_id"], json!(p[0]));
    assert_eq!(payment["account"]["account_number_masked"], json!("****321"));
    assert_eq!(paid["month"]["decision"]["benefit_yen"], json!(70_180), "the decision stands as it was");

    // Once: a further request records nothing more.
    let (status, again) =
        decide(&api, &clerks.benefits, &household, "2024-10", Some(json!({"account": account("1112223")}))).await;
    assert_eq!((status, again["outcome"].as_str()), (StatusCode::OK, Some("already_decided")), "{again}");
    let stream = format!("high-cost-{household}-2024-10");
    assert_eq!(count_events(&api, &stream, "HighCostDecided").await, 1);
    assert_eq!(count_events(&api, &stream, "BenefitPaymentInstructed").await, 1);
}

/// (a) The same through an account on a later request, and through the monthly run: a month the
/// run decided without an account is paid by a later run once the head registered one, once.
#[tokio::test]
async fn a_month_decided_without_an_account_is_paid_by_a_later_request_or_run() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (first, p) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    let (second, q) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    let records = vec![
        record("Q1", &p[0], "2024-10", "H", "inpatient", 800_000, 240_000),
        record("Q2", &q[0], "2024-10", "H", "inpatient", 800_000, 240_000),
    ];
    let (status, imported) = import(&api, &clerks.benefits, "run-pay-later", records).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let deps = api.ledgerd.benefits_deps();
    let report = kokuho_jobs::benefits::run(&deps, &run_options("2024-10"), &mut |_| {}).await.unwrap();
    assert_eq!((report.decided, report.payments), (2, 0), "{report}");

    // The first household's application brings an account.
    let body = json!({"account": account("1112223")});
    let (status, paid) = decide(&api, &clerks.benefits, &first, "2024-10", Some(body)).await;
    assert_eq!((status, paid["outcome"].as_str()), (StatusCode::CREATED, Some("payment_instructed")), "{paid}");
    assert_eq!(paid["month"]["payment"]["account_source"], json!("claim_account"));
    assert_eq!(paid["month"]["payment"]["amount_yen"], json!(70_180));

    // The second household's head registers a 公金受取口座: the next run pays it.
    let path = format!("/persons/{}/benefits/public-funds-account", q[0]);
    api.ok(&clerks.benefits, &path, json!({"account": account("7654321"), "consented": true})).await;
    let report = kokuho_jobs::benefits::run(&deps, &run_options("2024-10"), &mut |_| {}).await.unwrap();
    assert_eq!(
        (report.decided, report.already_decided, report.late_payments, report.payments),
        (0, 2, 1, 1),
        "{report}"
    );
    let again = kokuho_jobs::benefits::run(&deps, &run_options("2024-10"), &mut |_| {}).await.unwrap();
    assert_eq!((again.late_payments, again.payments), (0, 0), "{again}");
    for household in [&first, &second] {
        let stream = format!("high-cost-{household}-2024-10");
        assert_eq!(count_events(&api, &stream, "BenefitPaymentInstructed").await, 1, "{stream}");
    }
    // The read model shows where each late payment goes.
    let db = api.ledgerd.store.db();
    for (household, paid_to) in [(&first, "claim_account"), (&second, "public_funds_account")] {
        let household = uuid::Uuid::parse_str(household).unwrap();
        let rows = kokuho_projections::models::Benefits::of_household(db, KUMAGAYA, household).await.unwrap();
        assert_eq!((rows.len(), rows[0].paid_to.as_deref()), (1, Some(paid_to)), "{rows:?}");
    }
}

/// (b) A month could be decided before its records were in (the run refused only future
/// months, the route nothing); the 国保連's later batch for it was then refused for good. Now a
/// service month that has not ended (the current month, JST, and later) is refused on both
/// paths, and its batch is still recorded.
#[tokio::test]
async fn a_service_month_not_ended_is_not_decided_and_its_later_batch_is_recorded() {
    let api = client_at(TODAY).await; // 2025-08-01 09:00 JST
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    let records = vec![record("B1", &p[0], "2025-08", "H", "inpatient", 800_000, 240_000)];
    let (status, imported) = import(&api, &clerks.benefits, "early", records).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    for month in ["2025-08", "2025-09"] {
        let (status, refused) = decide(&api, &clerks.benefits, &household, month, None).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (StatusCode::CONFLICT, Some("service_month_not_closed")),
            "{refused}"
        );
        let detail = refused["detail"].as_str().unwrap();
        assert!(
            detail.contains("month must be a service month before 2025-08") && detail.contains("ended"),
            "{refused}"
        );
    }
    let deps = api.ledgerd.benefits_deps();
    let refused = kokuho_jobs::benefits::run(&deps, &run_options("2025-08"), &mut |_| {}).await.unwrap_err();
    assert!(refused.to_string().contains("service_month_not_closed"), "{refused}");
    let stream = format!("high-cost-{household}-2025-08");
    assert_eq!(count_events(&api, &stream, "HighCostDecided").await, 0);
    // The rest of the month's records arrive: recorded.
    let late = vec![record("B2", &p[0], "2025-08", "H2", "outpatient", 100_000, 30_000)];
    let (status, imported) = import(&api, &clerks.benefits, "rest", late).await;
    assert_eq!((status, imported["recorded"].as_i64()), (StatusCode::CREATED, Some(1)), "{imported}");

    // On 1 September (JST) August has ended: decided, with both records.
    let at: chrono::DateTime<chrono::Utc> = "2025-08-31T15:00:00Z".parse().unwrap();
    api.clock.advance(at - api.clock.now());
    let clerks = super::clerks(&api).await;
    let (status, decided) = decide(&api, &clerks.benefits, &household, "2025-08", None).await;
    assert_eq!((status, decided["outcome"].as_str()), (StatusCode::CREATED, Some("decided")), "{decided}");
    assert_eq!(decided["month"]["decision"]["paid_yen"], json!(270_000));
}

/// (c) The yearly outpatient total (外来年間合算) took the latest earlier month with records
/// before checking it was decided: a later month with records but no decision reset the total
/// to 0 in the monthly run (the route, which reads decided months only, kept it).
#[tokio::test]
async fn the_yearly_outpatient_total_passes_over_an_undecided_month() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    // 一般 (課税所得 under 1,450,000), 70–74: outpatient limit 18,000 a month.
    let (household, p) = household(&api, &clerks, &[("1952-04-15", 1_500_000, 300_000)]).await;
    let borne =
        |decision: &Value| decision["calculation"]["decision"]["persons"][0]["outpatient_borne_this_year"].clone();
    let august = benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-08",
        vec![record("C1", &p[0], "2024-08", "A", "outpatient", 100_000, 20_000)],
    )
    .await;
    assert_eq!((august["benefit_yen"].as_i64(), borne(&august)), (Some(2_000), json!(18_000)));
    // September's records are in, its decision is not made.
    for (batch, id, month) in [("september", "C2", "2024-09"), ("october", "C3", "2024-10")] {
        let records = vec![record(id, &p[0], month, "A", "outpatient", 100_000, 20_000)];
        let (status, imported) = import(&api, &clerks.benefits, batch, records).await;
        assert_eq!(status, StatusCode::CREATED, "{imported}");
    }
    let deps = api.ledgerd.benefits_deps();
    let report = kokuho_jobs::benefits::run(&deps, &run_options("2024-10"), &mut |_| {}).await.unwrap();
    assert_eq!(report.decided, 1, "{report}");
    let (status, october) = api
        .get(&clerks.benefits, &format!("/households/{household}/benefits/high-cost/2024-10?purpose=benefits"))
        .await;
    assert_eq!(status, StatusCode::OK, "{october}");
    assert_eq!(borne(&october["decision"]), json!(36_000), "August's 18,000 carried over September: {october}");
}

/// (d) A batch covering a decided month recorded the other months' records first, then answered
/// 409 with no count. Now every household-month is checked first: the batch is refused whole,
/// nothing recorded, and the answer names the month (no personal data).
#[tokio::test]
async fn a_batch_touching_a_decided_month_records_nothing_and_names_the_month() {
    let api = client_at(TODAY).await;
    let clerks = clerks(&api).await;
    let (household, p) = household(&api, &clerks, &[("1979-04-15", 7_000_000, 5_000_000)]).await;
    benefit_of(
        &api,
        &clerks.benefits,
        &household,
        "2024-10",
        vec![record("D1", &p[0], "2024-10", "H", "inpatient", 800_000, 240_000)],
    )
    .await;
    let mixed = vec![
        record("D2", &p[0], "2024-09", "H", "outpatient", 50_000, 15_000),
        record("D3", &p[0], "2024-10", "H2", "outpatient", 50_000, 15_000),
    ];
    let (status, refused) = import(&api, &clerks.benefits, "mixed", mixed).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::CONFLICT, Some("month_already_decided")), "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("2024-10") && detail.contains("records[1]"), "{refused}");
    assert!(!detail.contains("2024-09") && !refused.to_string().contains(&p[0]), "{refused}");
    assert!(api.event_types(&format!("high-cost-{household}-2024-09")).await.is_empty(), "nothing recorded");
    // Records of the decided month already recorded may come again with the others.
    let resent = vec![
        record("D1", &p[0], "2024-10", "H", "inpatient", 800_000, 240_000),
        record("D2", &p[0], "2024-09", "H", "outpatient", 50_000, 15_000),
    ];
    let (status, imported) = import(&api, &clerks.benefits, "resent", resent).await;
    assert_eq!((status, imported["recorded"].as_i64()), (StatusCode::CREATED, Some(1)), "{imported}");
}

/// (j) The 公金受取口座's `registered_on` defaulted to today before the Idempotency-Key was bound
/// to the command, so a request retried after midnight (JST) was another command: once another
/// account had been registered in between, the retry answered 422 `idempotency_key_reused`
/// instead of its first answer (the collection reminder had the same bug).
#[tokio::test]
async fn an_account_registration_retried_after_midnight_gets_its_first_answer() {
    let api = client_at("2025-07-31T14:50:00Z").await; // 23:50 JST
    let clerks = clerks(&api).await;
    let person =
        PersonBuilder::new().born("1979-04-15").insured_from("2024-04-01").create(&api, &clerks.eligibility).await;
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/benefits/public-funds-account");
    let register = |key: &'static str, number: &str| {
        let body = json!({"account": account(number), "consented": true});
        let (api, path, clerk) = (&api, path.clone(), clerks.benefits.clone());
        async move { api.request(axum::http::Method::POST, &path, Some(&clerk), Some(key), Some(body)).await }
    };
    let (status, first) = register("account-late", "7654321").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // Another account replaces it before midnight.
    let (status, second) = register("account-new", "1112223").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let at: chrono::DateTime<chrono::Utc> = "2025-07-31T15:01:00Z".parse().unwrap(); // 00:01 JST
    api.clock.advance(at - api.clock.now());
    let (status, retried) = register("account-late", "7654321").await;
    assert_eq!((status, retried["recorded"].as_bool()), (StatusCode::OK, Some(true)), "{retried}");
    assert_eq!(retried["account"]["account_number_masked"], json!("****321"));
    assert_eq!(count_events(&api, &format!("benefits-{person}"), "PublicFundsAccountRegistered").await, 2);
}

/// (k) The childbirth and funeral claims' `claimed_on` defaulted to today before the
/// Idempotency-Key was bound to the command (as the 公金受取口座's `registered_on` and the
/// collection reminder's day had), so the same request retried after midnight (JST) was another
/// command. Now the day is taken inside the decision: the retry is the same command, answered
/// with the first answer, and the claim keeps the first day.
#[tokio::test]
async fn childbirth_and_funeral_claims_retried_after_midnight_get_their_first_answer() {
    let api = client_at("2025-07-31T14:50:00Z").await; // 23:50 JST
    let clerks = clerks(&api).await;
    let mother =
        PersonBuilder::new().born("1995-04-15").insured_from("2025-04-01").create(&api, &clerks.eligibility).await;
    let mourner = PersonBuilder::new().born("1970-04-15").create(&api, &clerks.eligibility).await;
    let deceased =
        PersonBuilder::new().born("1960-01-10").insured_from("2024-04-01").create(&api, &clerks.eligibility).await;
    api.ok(
        &clerks.eligibility,
        &format!("/persons/{deceased}/death"),
        json!({"died_on": "2025-07-20", "notified_on": "2025-07-20", "source": "resident_registry",
               "legal_basis": "住民基本台帳法"}),
    )
    .await;
    let claims = [
        (
            format!("/v1/{KUMAGAYA}/persons/{mother}/benefits/childbirth-claims"),
            "birth-late",
            json!({"born_on": "2025-06-10", "weeks": 39, "in_scheme": true, "payment": "direct",
                   "cost_yen": 470_000, "account": account("2223334")}),
        ),
        (
            format!("/v1/{KUMAGAYA}/persons/{deceased}/benefits/funeral-claims"),
            "funeral-late",
            json!({"funeral_on": "2025-07-25", "claimant_person_id": mourner, "account": account("5556667")}),
        ),
    ];
    let mut first = Vec::new();
    for (path, key, body) in &claims {
        let (status, answer) =
            api.request(axum::http::Method::POST, path, Some(&clerks.benefits), Some(key), Some(body.clone())).await;
        assert_eq!((status, answer["outcome"].as_str()), (StatusCode::CREATED, Some("paid")), "{answer}");
        first.push(answer);
    }
    let at: chrono::DateTime<chrono::Utc> = "2025-07-31T15:01:00Z".parse().unwrap(); // 00:01 JST
    api.clock.advance(at - api.clock.now());
    for ((path, key, body), first) in claims.iter().zip(&first) {
        let (status, retried) =
            api.request(axum::http::Method::POST, path, Some(&clerks.benefits), Some(key), Some(body.clone())).await;
        assert_eq!(status, StatusCode::OK, "{retried}");
        assert_eq!(retried["duplicate"], json!(true), "a retry says so: {retried}");
        let mut retried = retried;
        retried["duplicate"] = json!(false);
        assert_eq!(&retried, first, "the retry answers the first answer");
    }
    // Review finding: the same key sent with another claim was answered with the first claim
    // (200), since the known claim records nothing and only an append compared the commands.
    // Now it is refused, as on every other route, and nothing is recorded.
    for (path, key, body) in &claims {
        let mut other = body.clone();
        other["account"] = account("9990001");
        let (status, refused) =
            api.request(axum::http::Method::POST, path, Some(&clerks.benefits), Some(key), Some(other)).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")),
            "{refused}"
        );
    }
    for person in [&mother, &deceased] {
        let (status, read) = api.get(&clerks.benefits, &format!("/persons/{person}/benefits?purpose=benefits")).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        let recorded = read["claims"].as_array().unwrap();
        assert_eq!(recorded.len(), 1, "{read}");
        assert_eq!(recorded[0]["claimed_on"], json!("2025-07-31"), "the claim keeps the first day: {read}");
    }
    assert_eq!(count_events(&api, &format!("benefits-{mother}"), "BenefitClaimDecided").await, 1);
    assert_eq!(count_events(&api, &format!("benefits-{deceased}"), "BenefitClaimDecided").await, 1);
}
