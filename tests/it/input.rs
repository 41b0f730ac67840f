//! What a clerk can type wrong, refused with a precise code that names the field and what it
//! accepts, never the value typed, and with nothing recorded.

use axum::http::StatusCode;
use kokuho_auth::Role;
use serde_json::{json, Value};

use crate::support::*;

/// Refused with `status` and `code`; the detail names `field` and never repeats `typed`.
fn assert_refused(answer: &(StatusCode, Value), status: StatusCode, code: &str, field: &str, typed: &str) {
    let (got, problem) = answer;
    assert_eq!((*got, problem["code"].as_str()), (status, Some(code)), "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(field), "the detail does not name {field}: {problem}");
    assert!(typed.is_empty() || !problem.to_string().contains(typed), "the value is echoed: {problem}");
}

#[tokio::test]
async fn the_same_atena_no_registered_twice_answers_the_existing_person() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let first = PersonBuilder::new().body();
    let existing = api.ok(&clerk, "/persons", first.clone()).await["person_id"].as_str().unwrap().to_owned();
    let mut again = PersonBuilder::new().body();
    again["atena_no"] = first["atena_no"].clone();
    let answer = api.post(&clerk, "/persons", again).await;
    assert_refused(&answer, StatusCode::CONFLICT, "atena_no_registered", "atena_no", "");
    assert!(answer.1["detail"].as_str().unwrap().contains(&existing), "{}", answer.1);
    let (_, found) = api
        .get(&clerk, &format!("/persons?atena_no={}&purpose=eligibility", first["atena_no"].as_str().unwrap()))
        .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
}

#[tokio::test]
async fn text_dates_sources_and_legal_bases_a_clerk_can_get_wrong_are_refused_by_name() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let with = |field: &str, value: Value| {
        let mut body = PersonBuilder::new().body();
        body[field] = value;
        body
    };
    let long_name = "熊".repeat(101);
    let cases: Vec<(Value, &str, &str, String)> = vec![
        (with("name", json!(long_name)), "text_too_long", "name", long_name.clone()),
        (with("address", json!("熊谷市宮町\n二丁目")), "control_character", "address", "宮町\n".into()),
        (with("name_kana", json!("クマガヤ\u{1b}[2J")), "control_character", "name_kana", "\u{1b}[2J".into()),
        (with("date_of_birth", json!("1899-12-31")), "date_too_early", "date_of_birth", "1899-12-31".into()),
        (with("source", json!("")), "empty_field", "source", String::new()),
        (with("source", json!("熊谷花子の隣人")), "unknown_source", "source", "熊谷花子の隣人".into()),
        (with("legal_basis", json!("なんとなく")), "unknown_legal_basis", "legal_basis", "なんとなく".into()),
    ];
    for (body, code, field, typed) in cases {
        let atena_no = body["atena_no"].as_str().unwrap().to_owned();
        let answer = api.post(&clerk, "/persons", body).await;
        assert_refused(&answer, StatusCode::UNPROCESSABLE_ENTITY, code, field, &typed);
        // What a problem lists as accepted helps the clerk: the source codes, the laws, the bound.
        if code == "unknown_source" {
            assert!(answer.1["detail"].as_str().unwrap().contains("resident_registry"), "{}", answer.1);
        }
        let (_, none) = api.get(&clerk, &format!("/persons?atena_no={atena_no}&purpose=eligibility")).await;
        assert_eq!(none, json!([]), "a refused registration recorded something");
    }
}

#[tokio::test]
async fn a_notification_dated_before_its_event_and_a_year_out_of_range_are_refused() {
    let api = Client::in_process().await;
    let (_, supervisor) = api.signed_in(Role::Supervisor).await;
    let person = PersonBuilder::new().create(&api, &supervisor).await;
    let answer = api
        .post(
            &supervisor,
            &format!("/persons/{person}/eligibility"),
            acquisition("moved_in", "2025-04-10", "2025-04-01"),
        )
        .await;
    assert_refused(&answer, StatusCode::UNPROCESSABLE_ENTITY, "notified_before_event", "notified_on", "");

    let insured = PersonBuilder::new().insured_from("2025-04-01").create(&api, &supervisor).await;
    // Years before the earliest (a year after the current one is refused first as
    // `income_year_not_ended`).
    for year in [1066, 1899, i32::MIN as i64] {
        let income = json!({"income_year": year, "total_income_yen": 1000, "taxable_income_yen": 0,
                            "salary_income_yen": 1000, "pension_income_yen": 0, "declared": true,
                            "source": "resident_tax", "legal_basis": "地方税法 第703条の4"});
        let answer = api.post(&supervisor, &format!("/persons/{insured}/income"), income).await;
        assert_refused(&answer, StatusCode::UNPROCESSABLE_ENTITY, "fiscal_year_out_of_range", "income_year", "");
        assert!(!answer.1.to_string().contains(&year.to_string()), "the value is echoed: {}", answer.1);
    }
    let recorded = api.event_types(&format!("person-{insured}")).await;
    assert!(!recorded.iter().any(|t| t == "IncomeReported"), "a refused report recorded something: {recorded:?}");
}
