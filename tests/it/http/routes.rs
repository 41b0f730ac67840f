//! What is served and to whom: every route against every role (the refusal recorded), and the
//! OpenAPI document against the routes the router answers.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use kokuho_auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn every_endpoint_refuses_every_role_it_does_not_name_and_records_the_refusal() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    // A household of another person (this one establishes a household in the table below),
    // whose account the payment goes to.
    let head = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    let household = HouseholdBuilder::new(&head).create(&api, &clerk).await;
    scheduled_account(&api, &household, 2025, 36_000).await;

    use Role::*;
    let all = [EligibilityClerk, TaxClerk, BenefitsClerk, CollectionClerk, Supervisor, Auditor, Administrator];
    // (method, path, body, roles that may, the refusal code for the others)
    let p = |suffix: &str| format!("/v1/{KUMAGAYA}{suffix}");
    type Row<'a> = (Method, String, Option<Value>, Vec<Role>, &'a str);
    let table: Vec<Row> = vec![
        (
            Method::POST,
            p("/persons"),
            Some(PersonBuilder::new().body()),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/households/{household}/accounts/2025/payments")),
            Some(
                json!({"receipt_id": "ROLE-1", "amount_yen": 1000, "received_on": "2025-07-31", "channel": "counter"}),
            ),
            vec![CollectionClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/households/{household}/accounts/2026/pension-notice")),
            Some(json!({"provisional_each_yen": 0, "head_annual_pension_yen": 1_200_000, "care_premium_yen": 60_000,
                        "care_premium_withheld": true})),
            vec![CollectionClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/persons/{person}/eligibility")),
            Some(acquisition("moved_in", "2025-04-01", "2025-04-02")),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::GET,
            p(&format!("/persons/{person}?purpose=eligibility")),
            None,
            vec![EligibilityClerk, Supervisor],
            "purpose_not_permitted",
        ),
        (
            Method::GET,
            p(&format!("/persons/{person}?purpose=collection")),
            None,
            vec![CollectionClerk, Supervisor],
            "purpose_not_permitted",
        ),
        (
            Method::GET,
            p(&format!("/persons/{person}?purpose=audit")),
            None,
            vec![Supervisor, Auditor],
            "purpose_not_permitted",
        ),
        (Method::GET, p(&format!("/persons/{person}?purpose=administration")), None, vec![], "purpose_not_permitted"),
        (
            Method::GET,
            p("/persons?atena_no=x&purpose=assessment"),
            None,
            vec![TaxClerk, Supervisor],
            "purpose_not_permitted",
        ),
        (Method::GET, p("/access-records"), None, vec![Supervisor, Auditor], "role_not_permitted"),
        (
            Method::POST,
            p("/staff"),
            Some(json!({"login": "new-user", "display_name": "x", "role": "auditor"})),
            vec![Administrator],
            "role_not_permitted",
        ),
        (
            Method::PUT,
            p(&format!("/persons/{person}/sensitivity")),
            Some(json!({"no_auto_response": false, "non_disclosure": false, "reason": "見直し"})),
            vec![Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/persons/{person}/provisions")),
            Some(
                json!({"requesting_agency": "全国健康保険協会", "legal_basis_row": "2", "items": ["医療保険給付関係情報"],
                        "requested_at": (api.clock.now() - TimeDelta::hours(1)).to_rfc3339()}),
            ),
            vec![EligibilityClerk, BenefitsClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/persons/{person}/citizen-key")),
            Some(json!({"public_key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"})),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::GET,
            p(&format!("/persons/{person}/eligibility?purpose=eligibility")),
            None,
            vec![EligibilityClerk, Supervisor],
            "purpose_not_permitted",
        ),
        (
            Method::GET,
            p(&format!("/persons/{person}/timeline?purpose=audit")),
            None,
            vec![Supervisor, Auditor],
            "purpose_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/persons/{person}/income")),
            Some(
                json!({"income_year": 2024, "total_income_yen": 0, "taxable_income_yen": 0, "salary_income_yen": 0, "pension_income_yen": 0,
                        "declared": true, "source": "resident_tax", "legal_basis": "番号利用法"}),
            ),
            vec![TaxClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(&format!("/persons/{person}/certificates")),
            Some(json!({"certificate_no": "KG-ROLE", "issued_on": "2025-04-01", "valid_until": "2026-03-31"})),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p("/households"),
            Some(
                json!({"head_person_id": person, "established_on": "2025-04-01", "source": "resident_registry", "legal_basis": "住民基本台帳法"}),
            ),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (Method::GET, p("/cost-shares?purpose=assessment"), None, vec![TaxClerk, Supervisor], "purpose_not_permitted"),
        (
            Method::GET,
            p("/eligibility/moves?purpose=eligibility"),
            None,
            vec![EligibilityClerk, Supervisor],
            "purpose_not_permitted",
        ),
        (
            Method::GET,
            p("/eligibility/late-notifications?purpose=audit&from=2025-04-01&to=2025-04-30"),
            None,
            vec![Supervisor, Auditor],
            "purpose_not_permitted",
        ),
    ];
    for role in all {
        let (account, token) = StaffBuilder::new(role).signed_in(&api).await;
        let mut refusals = 0;
        for (method, path, body, allowed, refusal) in &table {
            let mut body = body.clone();
            if let Some(Value::Object(object)) = body.as_mut() {
                if object.contains_key("login") {
                    object.insert("login".into(), json!(format!("u-{}", &Uuid::new_v4().simple().to_string()[..8])));
                }
            }
            let (status, answer) = api.request(method.clone(), path, Some(&token), None, body).await;
            if allowed.contains(&role) {
                assert!(
                    status.is_success() || status == StatusCode::CONFLICT,
                    "{role:?} {method} {path}: {status} {answer}"
                );
            } else {
                assert_eq!(
                    (status, answer["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some(*refusal)),
                    "{role:?} {method} {path}"
                );
                refusals += 1;
            }
        }
        let recorded = api.event_types(&format!("staff-{}", account.user_id)).await;
        assert_eq!(
            recorded.iter().filter(|t| *t == "RequestRefused").count(),
            refusals,
            "{role:?}: every refusal is recorded"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let api = Client::in_process().await;
    // The municipality exists (its first staff account), so sign-ins reach their route.
    StaffBuilder::new(Role::Administrator).create(&api).await;
    let (status, document) = api.request(Method::GET, "/openapi.json", None, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut documented: Vec<String> = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    // Every route the router serves (kept beside the router: a new route fails this test until
    // it is documented).
    let mut served = vec![
        "GET /health",
        "GET /openapi.json",
        "GET /metrics",
        "POST /v1/{tenant}/sessions",
        "DELETE /v1/{tenant}/sessions/current",
        "POST /v1/{tenant}/enrolment",
        "POST /v1/{tenant}/enrolment/complete",
        "POST /v1/{tenant}/staff",
        "POST /v1/{tenant}/staff/{user_id}/disable",
        "POST /v1/{tenant}/staff/{user_id}/enrolment",
        "PUT /v1/{tenant}/staff/me/password",
        "POST /v1/{tenant}/persons",
        "GET /v1/{tenant}/persons",
        "GET /v1/{tenant}/persons/{person_id}",
        "POST /v1/{tenant}/persons/{person_id}/eligibility",
        "POST /v1/{tenant}/persons/{person_id}/name",
        "POST /v1/{tenant}/persons/{person_id}/address",
        "GET /v1/{tenant}/access-records",
        "GET /v1/{tenant}/audit/checkpoint",
        "GET /v1/{tenant}/audit/inclusion",
        "GET /v1/{tenant}/audit/consistency",
        "POST /v1/{tenant}/persons/{person_id}/my-number-links",
        "GET /v1/{tenant}/my-number-links/{request_id}",
        "POST /v1/{tenant}/my-number-links/{request_id}/confirmations",
        "POST /v1/{tenant}/my-number-links/{request_id}/approval",
        "POST /v1/{tenant}/my-number-links/{request_id}/rejection",
        "POST /v1/{tenant}/persons/{person_id}/my-number/reveal",
        "PUT /v1/{tenant}/persons/{person_id}/sensitivity",
        "POST /v1/{tenant}/persons/{person_id}/provisions",
        "POST /v1/{tenant}/provisions/{provision_id}/approval",
        "POST /v1/{tenant}/persons/{person_id}/inquiries",
        "POST /v1/{tenant}/persons/{person_id}/citizen-key",
        "POST /v1/{tenant}/citizen/challenges",
        "POST /v1/{tenant}/citizen/sessions",
        "GET /v1/{tenant}/citizen/record",
        "GET /citizen",
        "GET /v1/{tenant}/persons/{person_id}/eligibility",
        "POST /v1/{tenant}/persons/{person_id}/eligibility/loss",
        "POST /v1/{tenant}/persons/{person_id}/eligibility/{period_id}/correction",
        "POST /v1/{tenant}/persons/{person_id}/eligibility/{period_id}/withdrawal",
        "POST /v1/{tenant}/persons/{person_id}/death",
        "POST /v1/{tenant}/persons/{person_id}/income",
        "POST /v1/{tenant}/persons/{person_id}/certificates",
        "GET /v1/{tenant}/persons/{person_id}/timeline",
        "POST /v1/{tenant}/households",
        "GET /v1/{tenant}/households/{household_id}",
        "POST /v1/{tenant}/households/{household_id}/members",
        "POST /v1/{tenant}/households/{household_id}/members/{person_id}/departure",
        "POST /v1/{tenant}/households/{household_id}/head",
        "POST /v1/{tenant}/households/{household_id}/income-exception",
        "GET /v1/{tenant}/cost-shares",
        "GET /v1/{tenant}/eligibility/moves",
        "GET /v1/{tenant}/eligibility/late-notifications",
        "POST /v1/{tenant}/households/{household_id}/tax/{fiscal_year}/assessment",
        "POST /v1/{tenant}/households/{household_id}/tax/{fiscal_year}/reassessment",
        "GET /v1/{tenant}/households/{household_id}/tax/{fiscal_year}",
        "GET /v1/{tenant}/tax/assessments",
        "POST /v1/{tenant}/tax/simulation",
        "GET /v1/{tenant}/households/{household_id}/accounts/{fiscal_year}",
        "POST /v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/payments",
        "POST /v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/reminders",
        "POST /v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/settlement",
        "POST /v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/pension-notice",
        "GET /v1/{tenant}/collection/arrears",
        "POST /v1/{tenant}/persons/{person_id}/limit-certificate",
        "POST /v1/{tenant}/persons/{person_id}/tax-facts/unemployment",
        "POST /v1/{tenant}/persons/{person_id}/tax-facts/childbirth",
        "POST /v1/{tenant}/benefits/medical-costs",
        "POST /v1/{tenant}/households/{household_id}/benefits/high-cost/{month}/decision",
        "GET /v1/{tenant}/households/{household_id}/benefits/high-cost/{month}",
        "GET /v1/{tenant}/persons/{person_id}/benefits",
        "POST /v1/{tenant}/persons/{person_id}/benefits/public-funds-account",
        "POST /v1/{tenant}/persons/{person_id}/benefits/public-funds-account/reveal",
        "POST /v1/{tenant}/persons/{person_id}/benefits/childbirth-claims",
        "POST /v1/{tenant}/persons/{person_id}/benefits/funeral-claims",
    ];
    served.sort();
    assert_eq!(documented, served);
    // And each documented route is really there: an unauthenticated call is answered by the
    // route (401 or 200), never by the 404 fallback or a 405.
    for route in &served {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path
            .replace("{tenant}", KUMAGAYA)
            .replace("{person_id}", &Uuid::nil().to_string())
            .replace("{user_id}", &Uuid::nil().to_string())
            .replace("{period_id}", &Uuid::nil().to_string())
            .replace("{household_id}", &Uuid::nil().to_string())
            .replace("{fiscal_year}", "2025");
        let body = (method == "POST").then(|| json!({}));
        let (status, problem) = api.request(method.parse().unwrap(), &path, None, None, body).await;
        // Without the operator's token this server does not serve metrics: the route says so.
        let by_the_route = status != StatusCode::NOT_FOUND || problem["code"] == "metrics_not_enabled";
        assert!(by_the_route && status != StatusCode::METHOD_NOT_ALLOWED, "{route}: {status}");
    }
}
