//! Refusals of the eligibility and household endpoints: every code with its status, and the
//! roles and purposes the new endpoints do not serve, each refusal recorded.

use axum::http::{Method, StatusCode};
use kokuho_auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;

#[tokio::test]
async fn every_refusal_answers_its_code_and_status() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (_, tax_clerk) = api.signed_in(Role::TaxClerk).await;
    let insured = PersonBuilder::new().insured_from("2025-04-10").create(&api, &clerk).await;
    api.ok(
        &clerk,
        &format!("/persons/{insured}/certificates"),
        json!({"certificate_no": "KG-1", "issued_on": "2025-04-10", "valid_until": "2026-03-31"}),
    )
    .await;
    let closed = PersonBuilder::new().create(&api, &clerk).await;
    let mut retro = acquisition("moved_in", "2025-04-01", "2025-04-01");
    retro["loss"] = json!({"reason": "moved_out", "event_date": "2025-05-31", "notified_on": "2025-06-01"});
    let retro = api.ok(&clerk, &format!("/persons/{closed}/eligibility"), retro).await;
    assert_eq!(retro["lost_on"], json!("2025-06-01"));
    let not_insured = PersonBuilder::new().create(&api, &clerk).await;
    let dead = PersonBuilder::new().born("1960-03-03").create(&api, &clerk).await;
    api.ok(&clerk, &format!("/persons/{dead}/death"), json!({"died_on": "2025-01-01", "notified_on": "2025-01-02", "source": "resident_registry", "legal_basis": "住民基本台帳法"})).await;
    let head = PersonBuilder::new().born("1970-01-01").create(&api, &clerk).await;
    let member = PersonBuilder::new().born("1972-01-01").create(&api, &clerk).await;
    let household = HouseholdBuilder::new(&head).member(&member, "2025-04-10").create(&api, &clerk).await;
    let unknown = Uuid::now_v7();
    let with_former = {
        let mut body = acquisition("birth", "2025-04-01", "2025-04-01");
        body["former_municipality"] = json!({"municipality_code": GYODA, "lost_on": "2025-04-01"});
        body
    };
    let income = |year: i32, taxable: i64| {
        json!({"income_year": year, "total_income_yen": 1_000_000, "taxable_income_yen": taxable, "salary_income_yen": 0,
               "pension_income_yen": 0, "declared": true, "source": "resident_tax", "legal_basis": "番号利用法"})
    };
    use StatusCode as S;
    // (token, path, body, status, code)
    let table: Vec<(&str, String, Value, StatusCode, &str)> = vec![
        (
            &clerk,
            format!("/persons/{unknown}/eligibility"),
            acquisition("moved_in", "2025-04-01", "2025-04-01"),
            S::NOT_FOUND,
            "person_not_found",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility"),
            acquisition("moved_in", "2025-06-01", "2025-06-01"),
            S::CONFLICT,
            "already_insured",
        ),
        (
            &clerk,
            format!("/persons/{closed}/eligibility"),
            acquisition("moved_in", "2025-05-01", "2025-05-01"),
            S::CONFLICT,
            "overlapping_period",
        ),
        (
            &clerk,
            format!("/persons/{not_insured}/eligibility/loss"),
            loss("moved_out", Some("2025-05-01"), "2025-05-01"),
            S::UNPROCESSABLE_ENTITY,
            "not_insured",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility/loss"),
            loss("moved_out", Some("2025-04-01"), "2025-04-01"),
            S::UNPROCESSABLE_ENTITY,
            "loss_before_acquisition",
        ),
        (
            &clerk,
            format!("/persons/{not_insured}/eligibility"),
            acquisition("moved_in", "2099-04-01", "2025-04-01"),
            S::UNPROCESSABLE_ENTITY,
            "date_in_future",
        ),
        (
            &clerk,
            format!("/persons/{not_insured}/eligibility"),
            acquisition("moved_in", "2025-04-01", "2099-04-01"),
            S::UNPROCESSABLE_ENTITY,
            "date_in_future",
        ),
        (
            &clerk,
            format!("/persons/{not_insured}/eligibility"),
            acquisition("moved_in", "1979-01-01", "2025-04-01"),
            S::UNPROCESSABLE_ENTITY,
            "date_beyond_rule",
        ),
        (
            &clerk,
            format!("/persons/{not_insured}/eligibility"),
            with_former,
            S::UNPROCESSABLE_ENTITY,
            "field_not_applicable",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility/loss"),
            loss("moved_out", None, "2025-05-01"),
            S::UNPROCESSABLE_ENTITY,
            "empty_field",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility/loss"),
            loss("reached_late_stage_elderly", Some("2025-06-01"), "2025-06-01"),
            S::UNPROCESSABLE_ENTITY,
            "event_date_not_the_rule",
        ),
        (
            &clerk,
            format!("/persons/{dead}/eligibility"),
            acquisition("moved_in", "2025-04-01", "2025-04-01"),
            S::UNPROCESSABLE_ENTITY,
            "person_deceased",
        ),
        (
            &clerk,
            format!("/persons/{dead}/death"),
            json!({"died_on": "2025-01-01", "notified_on": "2025-01-02", "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
            S::UNPROCESSABLE_ENTITY,
            "person_deceased",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility/{unknown}/correction"),
            json!({"reason": "moved_in", "event_date": "2025-04-01", "notified_on": "2025-04-01", "correction_reason": "entry_error"}),
            S::NOT_FOUND,
            "period_not_found",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility/{unknown}/withdrawal"),
            json!({"correction_reason": "entry_error"}),
            S::NOT_FOUND,
            "period_not_found",
        ),
        (
            &clerk,
            format!("/persons/{insured}/certificates"),
            json!({"certificate_no": "KG-1", "issued_on": "2025-05-01", "valid_until": "2026-03-31"}),
            S::CONFLICT,
            "certificate_already_issued",
        ),
        (
            &clerk,
            format!("/persons/{insured}/certificates"),
            json!({"certificate_no": "KG-2", "issued_on": "2025-05-01", "valid_until": "2025-04-30"}),
            S::UNPROCESSABLE_ENTITY,
            "invalid_validity",
        ),
        (
            &clerk,
            format!("/persons/{not_insured}/certificates"),
            json!({"certificate_no": "KG-3", "issued_on": "2025-05-01", "valid_until": "2026-03-31"}),
            S::UNPROCESSABLE_ENTITY,
            "not_insured",
        ),
        (
            &tax_clerk,
            format!("/persons/{insured}/income"),
            income(2099, 0),
            S::UNPROCESSABLE_ENTITY,
            "income_year_not_ended",
        ),
        (
            &tax_clerk,
            format!("/persons/{insured}/income"),
            income(2024, -1),
            S::UNPROCESSABLE_ENTITY,
            "amount_negative",
        ),
        (
            &clerk,
            "/households".into(),
            json!({"head_person_id": unknown, "established_on": "2025-04-01", "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
            S::NOT_FOUND,
            "person_not_found",
        ),
        (
            &clerk,
            format!("/households/{unknown}/members"),
            json!({"person_id": member, "joined_on": "2025-04-10"}),
            S::NOT_FOUND,
            "household_not_found",
        ),
        (
            &clerk,
            format!("/households/{household}/members"),
            json!({"person_id": unknown, "joined_on": "2025-04-10"}),
            S::NOT_FOUND,
            "person_not_found",
        ),
        (
            &clerk,
            format!("/households/{household}/members"),
            json!({"person_id": member, "joined_on": "2025-05-01"}),
            S::CONFLICT,
            "already_a_member",
        ),
        (
            &clerk,
            format!("/households/{household}/members"),
            json!({"person_id": insured, "joined_on": "2025-03-01"}),
            S::UNPROCESSABLE_ENTITY,
            "date_before_establishment",
        ),
        (
            &clerk,
            format!("/households/{household}/members"),
            json!({"person_id": insured, "joined_on": "2099-03-01"}),
            S::UNPROCESSABLE_ENTITY,
            "date_in_future",
        ),
        (
            &clerk,
            format!("/households/{household}/members/{insured}/departure"),
            json!({"left_on": "2025-05-01"}),
            S::UNPROCESSABLE_ENTITY,
            "not_a_member",
        ),
        (
            &clerk,
            format!("/households/{household}/members/{member}/departure"),
            json!({"left_on": "2025-04-10"}),
            S::UNPROCESSABLE_ENTITY,
            "left_before_joined",
        ),
        (
            &clerk,
            format!("/households/{household}/members/{head}/departure"),
            json!({"left_on": "2025-05-01"}),
            S::UNPROCESSABLE_ENTITY,
            "head_must_change_first",
        ),
        (
            &clerk,
            format!("/households/{household}/head"),
            json!({"person_id": head, "changed_on": "2025-05-01"}),
            S::CONFLICT,
            "already_head",
        ),
        (
            &clerk,
            format!("/households/{household}/head"),
            json!({"person_id": member, "changed_on": "2025-04-05"}),
            S::UNPROCESSABLE_ENTITY,
            "not_a_member",
        ),
        (
            &clerk,
            format!("/households/{household}/income-exception"),
            json!({"applied_on": "2025-03-01"}),
            S::UNPROCESSABLE_ENTITY,
            "date_before_establishment",
        ),
        (
            &clerk,
            format!("/persons/{insured}/eligibility"),
            json!({"reason": "teleported", "event_date": "2025-04-01", "notified_on": "2025-04-01", "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
            S::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (token, path, body, status, code) in table {
        let (got, answer) = api.post(token, &path, body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "POST {path} {body}: {answer}");
    }
    // Reads of what does not exist.
    let (status, answer) = api.get(&clerk, &format!("/persons/{unknown}/eligibility?purpose=eligibility")).await;
    assert_eq!((status, answer["code"].as_str()), (S::NOT_FOUND, Some("person_not_found")));
    let (status, answer) = api.get(&clerk, &format!("/households/{unknown}?purpose=eligibility")).await;
    assert_eq!((status, answer["code"].as_str()), (S::NOT_FOUND, Some("household_not_found")));
    let (_, supervisor) = api.signed_in(Role::Supervisor).await;
    let (status, answer) = api.get(&supervisor, &format!("/persons/{unknown}/timeline?purpose=audit")).await;
    assert_eq!((status, answer["code"].as_str()), (S::NOT_FOUND, Some("person_not_found")));
    // Refusals record nothing: the refused person's stream is as it was.
    assert_eq!(api.event_types(&format!("person-{not_insured}")).await, ["PersonRegistered"]);
    assert!(
        api.event_types(&format!("access-{unknown}")).await.is_empty(),
        "nothing was shown, so no access is recorded"
    );
}

#[tokio::test]
async fn the_new_endpoints_refuse_roles_and_purposes_they_do_not_serve_and_record_it() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let (collector_id, collector) = api.signed_in(Role::CollectionClerk).await;
    let (auditor_id, auditor) = api.signed_in(Role::Auditor).await;
    let (clerk2_id, clerk2) = api.signed_in(Role::EligibilityClerk).await;
    let (admin_id, admin) = api.signed_in(Role::Administrator).await;
    let income = json!({"income_year": 2024, "total_income_yen": 0, "taxable_income_yen": 0, "salary_income_yen": 0,
                        "pension_income_yen": 0, "declared": true, "source": "resident_tax", "legal_basis": "番号利用法"});
    // (user, token, method, path, body, code)
    type Case<'a> = (Uuid, &'a str, Method, String, Option<Value>, &'a str);
    let table: Vec<Case> = vec![
        (
            collector_id,
            &collector,
            Method::POST,
            format!("/persons/{person}/eligibility"),
            Some(acquisition("moved_in", "2025-04-01", "2025-04-01")),
            "role_not_permitted",
        ),
        (
            collector_id,
            &collector,
            Method::POST,
            format!("/persons/{person}/eligibility/loss"),
            Some(loss("moved_out", Some("2025-05-01"), "2025-05-01")),
            "role_not_permitted",
        ),
        (
            auditor_id,
            &auditor,
            Method::POST,
            format!("/persons/{person}/death"),
            Some(
                json!({"died_on": "2025-01-01", "notified_on": "2025-01-02", "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
            ),
            "role_not_permitted",
        ),
        (clerk2_id, &clerk2, Method::POST, format!("/persons/{person}/income"), Some(income), "role_not_permitted"),
        (
            admin_id,
            &admin,
            Method::POST,
            "/households".into(),
            Some(
                json!({"head_person_id": person, "established_on": "2025-04-01", "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
            ),
            "role_not_permitted",
        ),
        (
            auditor_id,
            &auditor,
            Method::GET,
            format!("/persons/{person}/eligibility?purpose=eligibility"),
            None,
            "purpose_not_permitted",
        ),
        (
            collector_id,
            &collector,
            Method::GET,
            format!("/persons/{person}/eligibility?purpose=eligibility"),
            None,
            "purpose_not_permitted",
        ),
        (
            clerk2_id,
            &clerk2,
            Method::GET,
            format!("/persons/{person}/timeline?purpose=audit"),
            None,
            "purpose_not_permitted",
        ),
        (
            clerk2_id,
            &clerk2,
            Method::GET,
            format!("/persons/{person}/timeline?purpose=eligibility"),
            None,
            "purpose_not_permitted",
        ),
        (
            admin_id,
            &admin,
            Method::GET,
            format!("/households/{}?purpose=administration", Uuid::now_v7()),
            None,
            "purpose_not_permitted",
        ),
    ];
    let mut refusals: std::collections::HashMap<Uuid, usize> = Default::default();
    for (user, token, method, path, body, code) in table {
        let (status, answer) =
            api.request(method.clone(), &format!("/v1/{KUMAGAYA}{path}"), Some(token), None, body).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some(code)), "{method} {path}: {answer}");
        *refusals.entry(user).or_default() += 1;
    }
    for (user, count) in refusals {
        let recorded = api.event_types(&format!("staff-{user}")).await;
        assert_eq!(recorded.iter().filter(|t| *t == "RequestRefused").count(), count, "every refusal is recorded");
    }
    assert!(api.event_types(&format!("access-{person}")).await.is_empty(), "a refused read shows and records nothing");
    assert_eq!(api.event_types(&format!("person-{person}")).await, ["PersonRegistered"]);
    // The auditor reads the timeline for an audit; the read is recorded.
    let (status, _) = api.get(&auditor, &format!("/persons/{person}/timeline?purpose=audit")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.event_types(&format!("access-{person}")).await, ["PersonalDataAccessed"]);
}
