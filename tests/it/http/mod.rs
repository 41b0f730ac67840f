//! The HTTP API through the real router: sign-in, sessions, roles and purposes, tenants, the
//! access record, and errors as problem+json.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use kokuho_auth::Role;
use kokuho_domain::PersonId;
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

mod routes;

#[tokio::test]
async fn sign_in_refuses_wrong_password_wrong_code_replayed_code_and_unknown_login_and_records_each() {
    let api = Client::in_process().await;
    let account = StaffBuilder::new(Role::EligibilityClerk).login("sato").create(&api).await;
    let code = account.totp.code_at(api.clock.now());
    let wrong_code = if code == "000000" { "111111" } else { "000000" };

    for (password, code, why) in
        [("not-the-password-1", code.as_str(), "wrong password"), (account.password.as_str(), wrong_code, "wrong code")]
    {
        let (status, body) = api.try_sign_in(&account, password, code).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("sign_in_failed")), "{why}");
    }
    let (status, _) = api.try_sign_in(&account, &account.password, &code).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api.try_sign_in(&account, &account.password, &code).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("sign_in_failed")), "a replayed code");
    let stranger =
        Account { login: "nobody".into(), ..StaffBuilder::new(Role::Auditor).login("placeholder").create(&api).await };
    let (status, _) = api.try_sign_in(&stranger, "whatever-password", "123456").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let recorded = api.event_types(&format!("staff-{}", account.user_id)).await;
    // Created and enrolled by its owner (signed in by the enrolment), then the sign-ins above.
    assert_eq!(
        recorded,
        [
            "StaffUserCreated",
            "StaffEnrolmentIssued",
            "StaffEnrolled",
            "StaffSignedIn",
            "StaffSignInFailed",
            "StaffSignInFailed",
            "StaffSignedIn",
            "StaffSignInFailed"
        ]
    );
    assert_eq!(api.event_types("staff-unknown").await, ["StaffSignInFailed"]);
}

#[tokio::test]
async fn sessions_lock_after_idle_time_end_on_sign_out_and_when_the_user_is_disabled() {
    let api = Client::in_process().await;
    let person_path = |_: &str| format!("/v1/{KUMAGAYA}/persons?atena_no=x&purpose=eligibility");
    let (_, token) = api.signed_in(Role::EligibilityClerk).await;
    assert_eq!(api.request(Method::GET, &person_path(""), Some(&token), None, None).await.0, StatusCode::OK);
    api.clock.advance(TimeDelta::minutes(16));
    let (status, body) = api.request(Method::GET, &person_path(""), Some(&token), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("session_expired")));

    let (_, token) = api.signed_in(Role::EligibilityClerk).await;
    assert_eq!(
        api.request(Method::DELETE, &format!("/v1/{KUMAGAYA}/sessions/current"), Some(&token), None, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = api.request(Method::GET, &person_path(""), Some(&token), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_signed_in")));

    let (clerk, clerk_token) = StaffBuilder::new(Role::EligibilityClerk).signed_in(&api).await;
    let (_, admin_token) = api.signed_in(Role::Administrator).await;
    let disable = api
        .request(
            Method::POST,
            &format!("/v1/{KUMAGAYA}/staff/{}/disable", clerk.user_id),
            Some(&admin_token),
            None,
            Some(json!({"reason": "transferred"})),
        )
        .await;
    assert_eq!(disable.0, StatusCode::NO_CONTENT, "{}", disable.1);
    assert_eq!(
        api.request(Method::GET, &person_path(""), Some(&clerk_token), None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let code = clerk.totp.code_at(api.clock.now());
    assert_eq!(
        api.try_sign_in(&clerk, &clerk.password, &code).await.0,
        StatusCode::UNAUTHORIZED,
        "a disabled user cannot sign in"
    );
}

/// Repeated failures slow the client down (429 with Retry-After, even with the right password),
/// never lock the account; the wait is over on its own (tests/it/throttling.rs has the rest).
#[tokio::test]
async fn repeated_failures_slow_the_client_down_for_a_while() {
    let api = Client::in_process().await;
    let account = StaffBuilder::new(Role::CollectionClerk).login("suzuki").create(&api).await;
    for _ in 0..5 {
        let code = account.totp.code_at(api.clock.now());
        assert_eq!(api.try_sign_in(&account, "wrong-password-123", &code).await.0, StatusCode::UNAUTHORIZED);
    }
    let code = account.totp.code_at(api.clock.now());
    let (status, body) = api.try_sign_in(&account, &account.password, &code).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("sign_in_throttled")),
        "held back even with the right password"
    );
    api.clock.advance(TimeDelta::seconds(1));
    api.sign_in(&account).await;
}

/// Each endpoint, with what a role that may use it gets when the request is otherwise fine.
#[tokio::test]
async fn a_municipality_can_reach_nothing_of_another() {
    let api = Client::in_process().await;
    let (_, kumagaya_clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (_, gyoda_clerk) = StaffBuilder::new(Role::EligibilityClerk).of(GYODA).signed_in(&api).await;
    let person_body = PersonBuilder::new().body();
    let (status, registered) = api.post(&kumagaya_clerk, "/persons", person_body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let person = registered["person_id"].as_str().unwrap();

    // Kumagaya's session on Gyoda's paths: not signed in there.
    let (status, _) = api
        .request(
            Method::GET,
            &format!("/v1/{GYODA}/persons/{person}?purpose=eligibility"),
            Some(&kumagaya_clerk),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Gyoda's own session, asking for Kumagaya's person by id: no such person in Gyoda.
    let (status, body) = api
        .request(
            Method::GET,
            &format!("/v1/{GYODA}/persons/{person}?purpose=eligibility"),
            Some(&gyoda_clerk),
            None,
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("person_not_found")));
    let (status, _) = api
        .request(
            Method::POST,
            &format!("/v1/{GYODA}/persons/{person}/eligibility"),
            Some(&gyoda_clerk),
            None,
            Some(acquisition("moved_in", "2025-04-01", "2025-04-02")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let atena_no = person_body["atena_no"].as_str().unwrap();
    let (status, found) = api
        .request(
            Method::GET,
            &format!("/v1/{GYODA}/persons?atena_no={atena_no}&purpose=eligibility"),
            Some(&gyoda_clerk),
            None,
            None,
        )
        .await;
    assert_eq!((status, found), (StatusCode::OK, json!([])));
    let (status, found) = api.get(&kumagaya_clerk, &format!("/persons?atena_no={atena_no}&purpose=eligibility")).await;
    assert_eq!(
        (status, found[0]["person_id"].as_str()),
        (StatusCode::OK, Some(person)),
        "found in its own municipality"
    );
}

#[tokio::test]
async fn reading_a_person_is_recorded_before_the_answer_and_auditors_can_list_it() {
    let api = Client::in_process().await;
    let (clerk_account, clerk) = StaffBuilder::new(Role::EligibilityClerk).signed_in(&api).await;
    let (_, auditor) = api.signed_in(Role::Auditor).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    // recorded_at is the test clock's time: an instant between the two commands.
    api.clock.advance(TimeDelta::seconds(1));
    let before_acquisition = api.clock.now();
    api.clock.advance(TimeDelta::seconds(1));
    api.post(
        &clerk,
        &format!("/persons/{person}/eligibility"),
        acquisition("left_employee_insurance", "2025-03-31", "2025-04-20"),
    )
    .await;

    let (status, record) = api.get(&clerk, &format!("/persons/{person}?purpose=eligibility")).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!((record["name"].as_str(), record["insured_since"].as_str()), (Some("熊谷 花子"), Some("2025-04-01")));
    assert!(record.get("payments").is_none(), "the eligibility affair does not see payments");

    // As the ledger knew it before the acquisition was recorded: registered, not insured.
    let as_of = before_acquisition.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (status, then) = api.get(&clerk, &format!("/persons/{person}?purpose=eligibility&as_of={as_of}")).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(
        (then["name"].as_str(), then.get("insured_since"), then["version"].as_i64()),
        (Some("熊谷 花子"), None, Some(1))
    );
    let (_, records) = api.get(&auditor, &format!("/access-records?person_id={person}")).await;
    let records = records.as_array().unwrap().clone();
    assert_eq!(records.len(), 2, "both reads are recorded: {records:?}");
    assert_eq!(records[0]["user_id"], json!(clerk_account.user_id));
    assert_eq!(records[0]["purpose"], "eligibility");
    assert_eq!(records[0]["items"], json!(["name", "name_kana", "sex", "date_of_birth", "address", "eligibility"]));
    let (_, by_user) = api.get(&auditor, &format!("/access-records?user_id={}", clerk_account.user_id)).await;
    assert_eq!(by_user.as_array().unwrap().len(), 2);
    let (_, none) = api.get(&auditor, &format!("/access-records?user_id={}", Uuid::now_v7())).await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn a_retried_command_with_the_same_idempotency_key_records_once() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let person = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    let household = HouseholdBuilder::new(&person).create(&api, &clerk).await;
    scheduled_account(&api, &household, 2025, 31_500).await;
    let payment =
        json!({"receipt_id": "BANK-0731", "amount_yen": 31500, "received_on": "2025-07-31", "channel": "bank"});
    let request = || {
        Call::new(Method::POST, format!("/v1/{KUMAGAYA}/households/{household}/accounts/2025/payments"))
            .token(&clerk)
            .idempotency_key("payment-2025-07-31")
            .json(&payment)
    };
    // A retried registration (the same body under the same key) names the same person.
    let registration = PersonBuilder::new().body();
    let register = || {
        Call::new(Method::POST, format!("/v1/{KUMAGAYA}/persons"))
            .token(&clerk)
            .idempotency_key("register-A0001")
            .json(&registration)
    };
    let (created, created_body) = api.send(register()).await;
    let (retried, retried_body) = api.send(register()).await;
    assert_eq!((created, retried), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(created_body["person_id"], retried_body["person_id"], "{created_body} {retried_body}");
    let (first, first_body) = api.send(request()).await;
    let (second, second_body) = api.send(request()).await;
    assert_eq!((first, second), (StatusCode::CREATED, StatusCode::OK), "{first_body} {second_body}");
    assert_eq!(first_body["recorded"][0]["position"], second_body["recorded"][0]["position"]);
    assert_eq!(second_body["duplicate"], true);
    let (_, account) = api.get(&clerk, &format!("/households/{household}/accounts/2025?purpose=collection")).await;
    assert_eq!(account["received_yen"], json!(31_500), "{account}");
    assert_eq!(account["credits"].as_array().unwrap().len(), 1, "{account}");
}

/// An Idempotency-Key is bound to its stream and to its command (the IETF Idempotency-Key
/// draft): a key first used for a payment to one household's account, sent again on an account
/// not scheduled, or again on the same account with another amount, is refused as reused — never
/// answered with the first payment's position, and nothing more is recorded.
#[tokio::test]
async fn a_key_sent_again_with_another_account_or_body_is_refused_as_reused() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let insured = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    let household = HouseholdBuilder::new(&insured).create(&api, &clerk).await;
    scheduled_account(&api, &household, 2025, 36_000).await;
    let not_scheduled = Uuid::now_v7().to_string();
    let payment = |amount: i64| json!({"receipt_id": "BANK-1", "amount_yen": amount, "received_on": "2025-07-31", "channel": "bank"});
    let pay = |household: &str, amount: i64| {
        Call::new(Method::POST, format!("/v1/{KUMAGAYA}/households/{household}/accounts/2025/payments"))
            .token(&clerk)
            .idempotency_key("reused-key")
            .json(&payment(amount))
    };
    let (first, _) = api.send(pay(&household, 1000)).await;
    assert_eq!(first, StatusCode::CREATED);
    for (household, amount) in [(&not_scheduled, 1000), (&household, 2000)] {
        let (status, problem) = api.send(pay(household, amount)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")),
            "{problem}"
        );
        assert!(problem.get("position").is_none(), "{problem}");
    }
    let (retried, body) = api.send(pay(&household, 1000)).await;
    assert_eq!((retried, &body["duplicate"]), (StatusCode::OK, &json!(true)), "{body}");
    let (_, account) = api.get(&clerk, &format!("/households/{household}/accounts/2025?purpose=collection")).await;
    assert_eq!(account["received_yen"], json!(1000), "{account}");
    assert_eq!(api.event_types(&format!("account-{not_scheduled}-2025")).await, Vec::<String>::new());
}

/// Payments are recorded on the household's account: the person route that recorded them on
/// the person is retired and not served. The payments a person's stream holds from before are
/// still shown on their record.
#[tokio::test]
async fn the_retired_person_payment_route_is_not_served_and_earlier_payments_still_show() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let person = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    let payment = json!({"fiscal_year": 2025, "amount_yen": 1000, "received_on": "2025-07-31", "channel": "counter"});
    let (status, _) = api.post(&clerk, &format!("/persons/{person}/payments"), payment).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let person_id = PersonId::from_uuid(person.parse().unwrap());
    legacy_payment(&api.ledgerd.ledger, kumagaya(), person_id, 31_500).await;
    let (status, record) = api.get(&clerk, &format!("/persons/{person}?purpose=collection")).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["payments"], json!({"count": 1, "total_yen": 31_500}));
    assert_eq!(api.event_types(&format!("person-{person}")).await.last().map(String::as_str), Some("PaymentReceived"));
}

/// A supervisor's key reused for a provision with an unknown legal basis answered 500: the
/// command is refused for its own reason or as a reused key, never as a server error.
#[tokio::test]
async fn a_reused_key_on_a_refused_provision_is_not_a_server_error() {
    let api = Client::in_process().await;
    let (_, supervisor) = api.signed_in(Role::Supervisor).await;
    let person =
        PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &supervisor).await;
    let household = HouseholdBuilder::new(&person).create(&api, &supervisor).await;
    scheduled_account(&api, &household, 2025, 36_000).await;
    let payment =
        json!({"receipt_id": "COUNTER-1", "amount_yen": 1000, "received_on": "2025-07-31", "channel": "counter"});
    let (first, _) = api
        .send(
            Call::new(Method::POST, format!("/v1/{KUMAGAYA}/households/{household}/accounts/2025/payments"))
                .token(&supervisor)
                .idempotency_key("supervisor-key")
                .json(&payment),
        )
        .await;
    assert_eq!(first, StatusCode::CREATED);
    let provision = json!({
        "requesting_agency": "全国健康保険協会 埼玉支部", "legal_basis_row": "999",
        "items": ["医療保険給付関係情報"], "requested_at": "2025-08-01T10:00:00+09:00"
    });
    let (status, problem) = api
        .send(
            Call::new(Method::POST, format!("/v1/{KUMAGAYA}/persons/{person}/provisions"))
                .token(&supervisor)
                .idempotency_key("supervisor-key")
                .json(&provision),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")),
        "{problem}"
    );
}

/// A payment of 9,223,372,036,854,775,807 yen, then one of 1 yen, overflowed the payment totals
/// and took the read side down. Amounts are bounded where they come in, and so is what an
/// account has received: the first is refused with a code naming the field, without repeating
/// the value; payments up to the bound are recorded and read; one more yen is refused.
#[tokio::test]
async fn an_amount_beyond_the_bound_is_refused_and_the_read_side_stays_up() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let person = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    let household = HouseholdBuilder::new(&person).create(&api, &clerk).await;
    scheduled_account(&api, &household, 2025, 36_000).await;
    let path = format!("/households/{household}/accounts/2025/payments");
    let pay = |receipt: &str, amount: i64| json!({"receipt_id": receipt, "amount_yen": amount, "received_on": "2025-07-31", "channel": "counter"});
    let (status, problem) = api.post(&clerk, &path, pay("R-1", i64::MAX)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_out_of_range")));
    assert!(!problem.to_string().contains(&i64::MAX.to_string()), "the value is echoed: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("amount"), "{problem}");
    api.ok(&clerk, &path, pay("R-2", 1)).await;
    api.ok(&clerk, &path, pay("R-3", 999_999_999_999)).await;
    let (status, problem) = api.post(&clerk, &path, pay("R-4", 1)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_out_of_range")));
    let (status, account) = api.get(&clerk, &format!("/households/{household}/accounts/2025?purpose=collection")).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["received_yen"], json!(1_000_000_000_000_i64), "{account}");
    assert_eq!(account["overpayment_yen"], json!(1_000_000_000_000_i64 - 36_000), "{account}");
}

/// `/metrics` names every municipality the ledger keeps: a server started without the
/// operator's token does not serve it at all.
#[tokio::test]
async fn metrics_are_not_served_without_an_operator_token() {
    let api = Client::in_process().await;
    let (status, problem) = api.request(Method::GET, "/metrics", None, None, None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("metrics_not_enabled")), "{problem}");
    assert!(!problem.to_string().contains(KUMAGAYA), "{problem}");
}

/// Every answer says no cache may keep it and no browser may guess its type: a health check, a
/// person's record, a refusal and an unknown path alike.
#[tokio::test]
async fn every_answer_is_no_store_and_nosniff() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let calls = [
        Call::new(Method::GET, "/health"),
        Call::new(Method::GET, format!("/v1/{KUMAGAYA}/persons/{person}?purpose=eligibility")).token(&clerk),
        Call::new(Method::GET, format!("/v1/{KUMAGAYA}/persons/{person}?purpose=eligibility")),
        Call::new(Method::GET, "/no-such-thing"),
    ];
    for call in calls {
        let (status, headers, _) = api.send_with_headers(call).await;
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "{status}");
        assert_eq!(headers.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"), "{status}");
    }
}

/// A sign-in or a citizen's challenge on a municipality this ledger does not serve is refused
/// before anything is written: it does not create the tenant.
#[tokio::test]
async fn an_unknown_tenant_is_refused_and_nothing_is_written() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let head = api.ledgerd.store.head(kumagaya()).await.unwrap();
    let sign_in = json!({"login": "admin", "password": "correct horse battery staple", "code": "123456"});
    let calls = [
        Call::new(Method::POST, format!("/v1/{GYODA}/sessions")).json(&sign_in),
        Call::new(Method::POST, format!("/v1/{GYODA}/citizen/challenges")),
    ];
    for call in calls {
        let (status, problem) = api.send(call).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_tenant")), "{problem}");
    }
    assert!(!api.ledgerd.store.has_tenant(gyoda()).await.unwrap(), "the tenant was created");
    assert_eq!(api.ledgerd.store.tenants().await.unwrap(), vec![kumagaya()]);
    assert_eq!(api.ledgerd.store.head(kumagaya()).await.unwrap(), head, "nothing was recorded");
    let _ = clerk;
}

/// A value sent in the wrong place — a name typed into `sex`, a date in the wrong form, a name
/// where an id belongs — is refused naming the field and what it accepts, never repeating it.
#[tokio::test]
async fn a_refused_value_is_never_echoed_and_the_field_is_named() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let secret = "熊谷花子0123456789";
    let mut wrong_sex = PersonBuilder::new().body();
    wrong_sex["sex"] = json!(secret);
    let mut wrong_date = PersonBuilder::new().body();
    wrong_date["date_of_birth"] = json!(secret);
    let cases = [
        (Method::POST, "/persons".to_owned(), Some(wrong_sex), "invalid_body", "`sex`", "`male`"),
        (Method::POST, "/persons".to_owned(), Some(wrong_date), "invalid_body", "`date_of_birth`", "YYYY-MM-DD"),
        (Method::GET, format!("/persons/{secret}?purpose=eligibility"), None, "invalid_path", "`person_id`", "UUID"),
        (
            Method::GET,
            format!("/persons/{}/eligibility?purpose=eligibility&on={secret}", Uuid::nil()),
            None,
            "invalid_query",
            "`on`",
            "YYYY-MM-DD",
        ),
        (
            Method::GET,
            format!("/persons/{}/eligibility?purpose=eligibility&as_of=2025-04-01T09:00:00+09:00", Uuid::nil()),
            None,
            "invalid_query",
            "`as_of`",
            "%2B09:00",
        ),
    ];
    for (method, path, body, code, field, accepted) in cases {
        let path = format!("/v1/{KUMAGAYA}{}", path.replace(secret, &urlencoding(secret)));
        let (status, problem) = api.request(method, &path, Some(&clerk), None, body).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert_eq!(problem["code"].as_str(), Some(code), "{path}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(!problem.to_string().contains("熊谷花子"), "{path}: the value is echoed: {problem}");
        assert!(detail.contains(field) && detail.contains(accepted), "{path}: {detail}");
    }
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|byte| if byte.is_ascii_alphanumeric() { (byte as char).to_string() } else { format!("%{byte:02X}") })
        .collect()
}

/// A projection that cannot apply an event (here its table is gone) stops at that event and
/// says so in /health; the command path, the other projections and the reads that use them go
/// on.
#[tokio::test]
async fn a_projection_that_cannot_apply_an_event_stops_alone_and_shows_in_health() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::Supervisor).await;
    let person = PersonBuilder::new().insured_from("2025-04-01").notified_on("2025-04-02").create(&api, &clerk).await;
    // Payments from before the household account (the only events `payment_totals` reads).
    let person_id = PersonId::from_uuid(person.parse().unwrap());
    legacy_payment(&api.ledgerd.ledger, kumagaya(), person_id, 1000).await;
    // A read waits for the projections to show the first payment; then the table goes.
    let (status, _) = api.get(&clerk, "/persons?purpose=eligibility&date_of_birth=1980-05-05").await;
    assert_eq!(status, StatusCode::OK);
    api.db.raw_execute("DROP TABLE payment_totals").await;

    let paid = legacy_payment(&api.ledgerd.ledger, kumagaya(), person_id, 1000).await;
    let later = PersonBuilder::new().insured_from("2025-05-01").notified_on("2025-05-02").create(&api, &clerk).await;
    let (status, found) = api.get(&clerk, "/persons?purpose=eligibility&date_of_birth=1980-05-05").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(found.as_array().unwrap().iter().any(|f| f["person_id"] == json!(later)), "{found}");
    let (status, answer) = api.get(&clerk, &format!("/persons/{later}/eligibility?purpose=eligibility")).await;
    assert_eq!((status, answer["insured"].as_bool()), (StatusCode::OK, Some(true)), "{answer}");

    let (_, health) = api.request(Method::GET, "/health", None, None, None).await;
    assert_eq!(health["status"], json!("degraded"), "{health}");
    let stopped = &health["stopped_projections"][0];
    assert_eq!((stopped["projection"].as_str(), stopped["tenant"].as_str()), (Some("payment_totals"), Some(KUMAGAYA)));
    assert_eq!(stopped["position"], json!(paid.last_position), "{health}");
    assert!(!stopped["reason"].as_str().unwrap().is_empty());
    let stopped_projections = health["stopped_projections"].as_array().unwrap().len();
    assert_eq!(stopped_projections, 1, "only the broken projection stopped: {health}");
}

/// A malformed Idempotency-Key is refused after the role check: a caller without the role is
/// refused as such (403, recorded), one with it learns the key is malformed (400).
#[tokio::test]
async fn a_malformed_idempotency_key_is_judged_after_the_role() {
    let api = Client::in_process().await;
    let (_, supervisor) = api.signed_in(Role::Supervisor).await;
    let (_, auditor) = api.signed_in(Role::Auditor).await;
    let person = PersonBuilder::new().create(&api, &supervisor).await;
    let too_long = "k".repeat(200);
    let acquire = |token: &str| {
        Call::new(Method::POST, format!("/v1/{KUMAGAYA}/persons/{person}/eligibility"))
            .token(token)
            .idempotency_key(&too_long)
            .json(&acquisition("moved_in", "2025-04-01", "2025-04-02"))
    };
    let (status, problem) = api.send(acquire(&auditor)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));
    let (status, problem) = api.send(acquire(&supervisor)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_idempotency_key")));
    assert!(!problem.to_string().contains(&too_long));
}

#[tokio::test]
async fn bad_requests_get_a_problem_with_a_stable_code_never_a_500() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let persons = format!("/v1/{KUMAGAYA}/persons");
    let raw = |body: &str, content_type: &str| {
        Call::new(Method::POST, &persons).token(&clerk).body(content_type, body.to_owned())
    };
    let mut unknown_field = PersonBuilder::new().body();
    unknown_field["my_number"] = json!("123456789018");
    let mut missing_field = PersonBuilder::new().body();
    missing_field.as_object_mut().unwrap().remove("name");
    let oversized = json!({"atena_no": "x".repeat(kokuho_api::BODY_BYTES_MAX + 1)}).to_string();
    let cases: Vec<(Call, StatusCode, &str)> = vec![
        (raw("{\"atena_no\": ", "application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
        (raw(&unknown_field.to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (raw(&missing_field.to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            raw(&PersonBuilder::new().body().to_string(), "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (raw(&oversized, "application/json"), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        (raw(&json!({"name": ""}).to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
    ];
    for (request, status, code) in cases {
        let (got, body) = api.send(request).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
        assert!(!body.to_string().contains("123456789018"), "a rejected body's values are not echoed");
    }
    let mut empty_name = PersonBuilder::new().body();
    empty_name["name"] = json!(" ");
    let (status, body) = api.request(Method::POST, &persons, Some(&clerk), None, Some(empty_name)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_field")));

    let (status, body) = api.get(&clerk, "/persons/not-a-uuid?purpose=eligibility").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_path")));
    let (status, body) = api.get(&clerk, "/persons?purpose=eligibility&date_of_birth=5-5-1980").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    let (status, body) =
        api.request(Method::GET, "/v1/112021/persons?atena_no=1&purpose=eligibility", Some(&clerk), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_tenant")));
    let (status, body) = api.request(Method::GET, "/nothing/here", None, None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) = api.request(Method::PUT, "/health", None, None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    let (status, body) = api.request(Method::GET, &persons, None, None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_signed_in")));
}

#[tokio::test]
async fn staff_find_persons_by_name_and_birth_date_through_the_blind_index_and_see_changes() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    PersonBuilder::new().born("1990-01-01").create(&api, &clerk).await;

    let find = |query: &str| format!("/v1/{KUMAGAYA}/persons?purpose=eligibility&{query}");
    // Full-width space, no space: the same name.
    for query in ["name=%E7%86%8A%E8%B0%B7%E3%80%80%E8%8A%B1%E5%AD%90", "name=%E7%86%8A%E8%B0%B7%E8%8A%B1%E5%AD%90"] {
        let (status, found) = api.request(Method::GET, &find(query), Some(&clerk), None, None).await;
        assert_eq!((status, found.as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{query}: {found}");
    }
    let (_, found) = api
        .request(
            Method::GET,
            &find("name=%E7%86%8A%E8%B0%B7%20%E8%8A%B1%E5%AD%90&date_of_birth=1980-05-05"),
            Some(&clerk),
            None,
            None,
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["person_id"].as_str(), Some(person.as_str()));
    assert!(found[0].get("name").is_none(), "search results carry no personal data");
    let (status, body) = api.get(&clerk, "/persons?purpose=eligibility").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("search_criteria_missing")));

    let change = json!({"name": "行田 花子", "name_kana": "ギョウダ ハナコ", "effective_on": "2025-06-21", "source": "resident_registry", "legal_basis": "住民基本台帳法"});
    assert_eq!(api.post(&clerk, &format!("/persons/{person}/name"), change).await.0, StatusCode::CREATED);
    let moved = json!({"address": "埼玉県熊谷市筑波三丁目1番1号", "effective_on": "2025-09-01", "source": "resident_registry", "legal_basis": "住民基本台帳法"});
    assert_eq!(api.post(&clerk, &format!("/persons/{person}/address"), moved).await.0, StatusCode::CREATED);
    let (_, record) = api.get(&clerk, &format!("/persons/{person}?purpose=eligibility")).await;
    assert_eq!(
        (record["name"].as_str(), record["address"].as_str()),
        (Some("行田 花子"), Some("埼玉県熊谷市筑波三丁目1番1号"))
    );
    // The new name finds the person, and so does the former one (旧姓).
    let (_, by_new) =
        api.request(Method::GET, &find("name=%E8%A1%8C%E7%94%B0%E8%8A%B1%E5%AD%90"), Some(&clerk), None, None).await;
    assert_eq!(by_new.as_array().unwrap().len(), 1);
    let (_, by_former) = api
        .request(
            Method::GET,
            &find("name=%E7%86%8A%E8%B0%B7%E8%8A%B1%E5%AD%90&date_of_birth=1980-05-05"),
            Some(&clerk),
            None,
            None,
        )
        .await;
    assert_eq!(by_former.as_array().unwrap().len(), 1);

    // An erased person cannot be found any more.
    let tenant = kokuho_domain::TenantCode::parse(KUMAGAYA).unwrap();
    api.ledgerd.store.destroy_subject_key(tenant, person.parse().unwrap()).await.unwrap();
    let (_, after) = api.request(Method::GET, &find("date_of_birth=1980-05-05"), Some(&clerk), None, None).await;
    assert_eq!(after, json!([]));
}
