//! My Number (個人番号) through the real router: a link needs a request, two confirmations by
//! other staff and a supervisor's approval, with the whole trail kept; responses mask the
//! number; a reveal needs a permitted role, purpose and reason and is recorded first; and no
//! My Number ever reaches a log line, an error or the stored clear payloads.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use axum::http::{header, HeaderMap, Method, StatusCode};
use chrono::{DateTime, Utc};
use kokuho_auth::Role;
use kokuho_events::LedgerEvent;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

struct Member {
    user_id: Uuid,
    token: String,
}

/// A new staff member of Kumagaya, signed in.
async fn member(api: &Client, role: Role) -> Member {
    let (user_id, token) = api.signed_in(role).await;
    Member { user_id, token }
}

async fn member_of(api: &Client, tenant: &str, role: Role) -> Member {
    let (account, token) = StaffBuilder::new(role).of(tenant).signed_in(api).await;
    Member { user_id: account.user_id, token }
}

async fn register_person(api: &Client, by: &Member) -> String {
    PersonBuilder::new().create(api, &by.token).await
}

async fn request_link(api: &Client, by: &Member, person: &str, my_number: &str) -> (StatusCode, Value) {
    api.post(&by.token, &format!("/persons/{person}/my-number-links"), json!({"my_number": my_number})).await
}

async fn confirm(api: &Client, by: &Member, request: &str, my_number: &str) -> (StatusCode, Value) {
    api.post(&by.token, &format!("/my-number-links/{request}/confirmations"), json!({"my_number": my_number})).await
}

async fn approve(api: &Client, by: &Member, request: &str) -> (StatusCode, Value) {
    let path = format!("/v1/{KUMAGAYA}/my-number-links/{request}/approval");
    api.request(Method::POST, &path, Some(&by.token), None, None).await
}

async fn read_person(api: &Client, by: &Member, person: &str) -> Value {
    let (status, record) = api.get(&by.token, &format!("/persons/{person}?purpose=eligibility")).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    record
}

async fn reveal(
    api: &Client,
    by: &Member,
    person: &str,
    purpose: &str,
    reason: &str,
) -> (StatusCode, HeaderMap, Value) {
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/my-number/reveal");
    api.send_with_headers(
        Call::new(Method::POST, path).token(&by.token).json(&json!({"purpose": purpose, "reason": reason})),
    )
    .await
}

/// A stream's events, decoded with their personal parts.
async fn events(api: &Client, stream: &str) -> Vec<(kokuho_store::RecordedEvent, LedgerEvent)> {
    let recorded = api.ledgerd.store.read_stream(kumagaya(), stream, kokuho_store::Decrypt::Yes).await.unwrap();
    recorded
        .into_iter()
        .map(|event| {
            let decoded = kokuho_ledger::decode(&event).unwrap();
            (event, decoded)
        })
        .collect()
}

/// A My Number with a correct check digit, computed here from the definition (docs/domain.md §7):
/// 11 − (Σ Pn·Qn mod 11), 0 when that remainder is ≤ 1; Pn the n-th digit from the right before
/// the check digit, Qn = n+1 for n ≤ 6, n−5 for 7 ≤ n ≤ 11. Random, so no other test's number
/// can be mistaken for it in the logs.
fn valid_my_number() -> String {
    let first_eleven = format!("{:011}", Uuid::new_v4().as_u128() % 100_000_000_000);
    let remainder = first_eleven
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, digit)| {
            let n = index as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(digit - b'0') * q
        })
        .sum::<u32>()
        % 11;
    let check = if remainder <= 1 { 0 } else { 11 - remainder };
    format!("{first_eleven}{check}")
}

/// The same number with a wrong check digit.
fn with_wrong_check_digit(number: &str) -> String {
    let check = number.as_bytes()[11] - b'0';
    format!("{}{}", &number[..11], (check + 1) % 10)
}

fn masked(number: &str) -> String {
    format!("********{}", &number[8..])
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// Requests, confirms twice and approves a link; returns the request id.
async fn link(api: &Client, person: &str, my_number: &str) -> String {
    let clerk = member(api, Role::EligibilityClerk).await;
    let (status, created) = request_link(api, &clerk, person, my_number).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let request = created["request_id"].as_str().unwrap().to_owned();
    for role in [Role::TaxClerk, Role::EligibilityClerk] {
        let confirmer = member(api, role).await;
        let (status, answer) = confirm(api, &confirmer, &request, my_number).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let chief = member(api, Role::Supervisor).await;
    let (status, answer) = approve(api, &chief, &request).await;
    assert_eq!((status, answer["status"].as_str()), (StatusCode::OK, Some("approved")), "{answer}");
    request
}

#[tokio::test]
async fn a_link_fails_with_two_confirmations_or_a_self_approval_and_succeeds_with_the_full_trail() {
    let api = Client::in_process().await;
    let requester = member(&api, Role::Supervisor).await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let deputy = member(&api, Role::Supervisor).await;
    let chief = member(&api, Role::Supervisor).await;
    let auditor = member(&api, Role::Auditor).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();

    let (status, created) = request_link(&api, &requester, &person, &number).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let request = created["request_id"].as_str().unwrap().to_owned();

    assert_eq!(
        code(&confirm(&api, &requester, &request, &number).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("self_confirmation"))
    );
    let other_number = valid_my_number();
    assert_eq!(
        code(&confirm(&api, &clerk, &request, &other_number).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("my_number_mismatch"))
    );
    let (status, progress) = confirm(&api, &clerk, &request, &number).await;
    assert_eq!((status, progress["confirmations"].as_u64()), (StatusCode::OK, Some(1)), "{progress}");
    assert_eq!(
        code(&confirm(&api, &clerk, &request, &number).await),
        (StatusCode::CONFLICT, Some("already_confirmed"))
    );
    assert_eq!(
        code(&approve(&api, &chief, &request).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("confirmations_missing"))
    );
    let (status, progress) = confirm(&api, &deputy, &request, &number).await;
    assert_eq!(
        (status, progress["confirmations"].as_u64(), progress["status"].as_str()),
        (StatusCode::OK, Some(2), Some("requested"))
    );

    // Two confirmations link nothing.
    assert_eq!(read_person(&api, &clerk, &person).await["my_number"], Value::Null);
    let (status, _, refused) = reveal(&api, &clerk, &person, "eligibility", "資格確認のため").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::NOT_FOUND, Some("my_number_not_linked")));

    assert_eq!(
        code(&approve(&api, &requester, &request).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("self_approval"))
    );
    assert_eq!(
        code(&approve(&api, &clerk, &request).await),
        (StatusCode::FORBIDDEN, Some("role_not_permitted")),
        "a clerk cannot approve"
    );
    assert_eq!(
        code(&approve(&api, &deputy, &request).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("approver_confirmed"))
    );
    assert_eq!(read_person(&api, &clerk, &person).await["my_number"], Value::Null, "refused approvals link nothing");

    let (status, progress) = approve(&api, &chief, &request).await;
    assert_eq!((status, progress["status"].as_str()), (StatusCode::OK, Some("approved")), "{progress}");
    assert_eq!(code(&approve(&api, &chief, &request).await), (StatusCode::CONFLICT, Some("link_already_decided")));
    let latecomer = member(&api, Role::CollectionClerk).await;
    assert_eq!(
        code(&confirm(&api, &latecomer, &request, &number).await),
        (StatusCode::CONFLICT, Some("link_already_decided"))
    );

    // Linked: the record shows it masked, and lists the masked number among the items shown.
    let record = read_person(&api, &clerk, &person).await;
    assert_eq!(record["my_number"], json!(masked(&number)));
    assert!(!record.to_string().contains(&number[..8]), "{record}");

    // The whole trail, in order, with the number masked.
    let (status, trail) = api.get(&auditor.token, &format!("/my-number-links/{request}?purpose=audit")).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    assert_eq!(trail["status"], "approved");
    assert_eq!(trail["person_id"], json!(person));
    assert_eq!(trail["my_number"], json!(masked(&number)));
    assert_eq!(trail["requested"]["by"], json!(requester.user_id));
    let confirmers: Vec<&Value> = trail["confirmations"].as_array().unwrap().iter().map(|step| &step["by"]).collect();
    assert_eq!(confirmers, [&json!(clerk.user_id), &json!(deputy.user_id)]);
    assert_eq!(trail["approval"]["by"], json!(chief.user_id));
    assert_eq!(trail["rejection"], Value::Null);
    let times: Vec<DateTime<Utc>> = [
        &trail["requested"]["at"],
        &trail["confirmations"][0]["at"],
        &trail["confirmations"][1]["at"],
        &trail["approval"]["at"],
    ]
    .iter()
    .map(|at| at.as_str().unwrap().parse().unwrap())
    .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    assert_eq!(
        api.event_types(&format!("mynumber-link-{request}")).await,
        ["MyNumberLinkRequested", "MyNumberLinkConfirmed", "MyNumberLinkConfirmed", "MyNumberLinkApproved"]
    );
    assert_eq!(
        api.event_types(&format!("mynumber-{person}")).await,
        ["MyNumberLinked"],
        "the repeated approval indexed nothing twice"
    );

    // Each showing of the masked number is in the access record.
    let (_, records) = api.get(&auditor.token, &format!("/access-records?person_id={person}")).await;
    let items: Vec<Value> = records.as_array().unwrap().iter().map(|record| record["items"].clone()).collect();
    assert!(
        items.iter().any(|items| items.as_array().unwrap().contains(&json!("my_number_masked"))
            && items.as_array().unwrap().contains(&json!("name"))),
        "{items:?}"
    );
    assert!(items.contains(&json!(["my_number_link", "my_number_masked"])), "the trail read: {items:?}");

    // The digits are stored only sealed: in no clear payload, and not readable in the sealed part.
    for payload in api.db.raw_bytes("SELECT payload FROM events").await {
        assert!(!String::from_utf8_lossy(&payload).contains(&number), "a clear payload holds the number");
    }
    let sealed = api.db.raw_bytes("SELECT personal FROM events WHERE personal IS NOT NULL").await;
    assert!(!sealed.is_empty());
    assert!(
        sealed.iter().all(|part| !part.windows(12).any(|window| window == number.as_bytes())),
        "a personal part holds the number in clear"
    );
}

#[tokio::test]
async fn a_reveal_needs_a_permitted_role_purpose_and_reason_and_shows_up_in_the_access_record() {
    let api = Client::in_process().await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let auditor = member(&api, Role::Auditor).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();
    link(&api, &person, &number).await;

    for role in [Role::TaxClerk, Role::BenefitsClerk, Role::CollectionClerk, Role::Auditor, Role::Administrator] {
        let member = member(&api, role).await;
        let purpose = if role == Role::Auditor { "audit" } else { "eligibility" };
        let (status, _, refused) = reveal(&api, &member, &person, purpose, "照合のため").await;
        assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")), "{role:?}");
    }
    let (status, _, refused) = reveal(&api, &clerk, &person, "assessment", "照合のため").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("purpose_not_permitted")),
        "an eligibility clerk does not serve assessment"
    );
    let (status, _, refused) = reveal(&api, &clerk, &person, "eligibility", "  ").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required")));
    let spaced = format!("{} {} {}", &number[..4], &number[4..8], &number[8..]);
    let (status, _, refused) = reveal(&api, &clerk, &person, "eligibility", &format!("番号 {spaced} の確認")).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_contains_my_number"))
    );
    assert!(!refused.to_string().contains(&number[..4]), "{refused}");
    let nobody = Uuid::now_v7();
    let (status, _, refused) = reveal(&api, &clerk, &nobody.to_string(), "eligibility", "照合のため").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::NOT_FOUND, Some("person_not_found")));
    let (_, records) = api.get(&auditor.token, &format!("/access-records?person_id={person}")).await;
    assert!(
        !records.to_string().contains("\"my_number\""),
        "refused reveals show nothing, so record no reveal: {records}"
    );

    let reason = "高額療養費の申請書に記載された個人番号との照合";
    let (status, headers, revealed) = reveal(&api, &clerk, &person, "eligibility", reason).await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    assert_eq!(revealed, json!({"my_number": number}));
    assert_eq!(headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("no-store"));

    // In the access record an auditor lists: who, whom, which item, for what.
    let (status, records) = api.get(&auditor.token, &format!("/access-records?person_id={person}")).await;
    assert_eq!(status, StatusCode::OK);
    let reveals: Vec<&Value> =
        records.as_array().unwrap().iter().filter(|record| record["items"] == json!(["my_number"])).collect();
    assert_eq!(reveals.len(), 1, "{records}");
    assert_eq!(
        (&reveals[0]["user_id"], reveals[0]["purpose"].as_str(), reveals[0]["role"].as_str()),
        (&json!(clerk.user_id), Some("eligibility"), Some("eligibility_clerk"))
    );

    // And the stated reason, committed in the same command as that access.
    let access = events(&api, &format!("access-{person}")).await;
    let index = access
        .iter()
        .position(|(_, event)| matches!(event, LedgerEvent::MyNumberRevealed(_)))
        .expect("a MyNumberRevealed");
    let LedgerEvent::MyNumberRevealed(revealed) = &access[index].1 else { unreachable!() };
    assert_eq!(
        (revealed.user_id, revealed.person_id.to_string(), revealed.reason.as_str()),
        (clerk.user_id, person.clone(), reason)
    );
    let (accessed_at, accessed) = &access[index - 1];
    assert!(matches!(accessed, LedgerEvent::PersonalDataAccessed(e) if e.items == ["my_number"]), "{accessed:?}");
    assert_eq!(accessed_at.correlation_id, access[index].0.correlation_id, "one command");
    assert_eq!(reveals[0]["position"].as_i64(), Some(accessed_at.position));
}

#[tokio::test]
async fn an_invalid_my_number_is_refused_with_a_code_and_never_echoed() {
    let api = Client::in_process().await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();
    let typo = with_wrong_check_digit(&number);

    let path = format!("/v1/{KUMAGAYA}/persons/{person}/my-number-links");
    let integer: u64 = number.parse().unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"my_number": typo}), "invalid_my_number"),
        (json!({"my_number": integer}), "invalid_my_number"),
        (json!({"my_number": &number[..11]}), "invalid_my_number"),
        (json!({"my_number": format!("{}-{}", &number[..4], &number[4..])}), "invalid_my_number"),
        (json!({"my_number": number, "note": number}), "invalid_body"),
        (json!({"number": number}), "invalid_body"),
    ];
    for (body, expected) in cases {
        let (status, problem) = api.request(Method::POST, &path, Some(&clerk.token), None, Some(body.clone())).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(expected)), "{body}");
        let text = problem.to_string();
        assert!(!text.contains(&number[..8]) && !text.contains(&typo[..8]), "the number is echoed: {text}");
    }
    let (status, problem) =
        api.request(Method::POST, &path, Some(&clerk.token), None, Some(json!({"my_number": typo}))).await;
    assert!(problem["detail"].as_str().unwrap().contains("check digit"), "{status} {problem}");

    // A person that does not exist, a request that does not exist.
    let (status, problem) = request_link(&api, &clerk, &Uuid::now_v7().to_string(), &number).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("person_not_found")));
    let tax_clerk = member(&api, Role::TaxClerk).await;
    let (status, problem) = confirm(&api, &tax_clerk, &Uuid::now_v7().to_string(), &number).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("link_request_not_found")));

    // A confirmation keyed with a wrong check digit is refused the same way.
    let (_, created) = request_link(&api, &clerk, &person, &number).await;
    let request = created["request_id"].as_str().unwrap().to_owned();
    let (status, problem) = confirm(&api, &tax_clerk, &request, &typo).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_my_number")));

    // A request turned down never links; its reason may not hold the number.
    let rejection = format!("/v1/{KUMAGAYA}/my-number-links/{request}/rejection");
    let (status, problem) = api
        .request(
            Method::POST,
            &rejection,
            Some(&tax_clerk.token),
            None,
            Some(json!({"reason": format!("{number} は誤り")})),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_contains_my_number"))
    );
    let (status, answer) = api
        .request(
            Method::POST,
            &rejection,
            Some(&tax_clerk.token),
            None,
            Some(json!({"reason": "申請書と本人確認書類の番号が一致しない"})),
        )
        .await;
    assert_eq!((status, answer["status"].as_str()), (StatusCode::OK, Some("rejected")), "{answer}");
    let chief = member(&api, Role::Supervisor).await;
    assert_eq!(code(&approve(&api, &chief, &request).await), (StatusCode::CONFLICT, Some("link_already_decided")));
    assert_eq!(read_person(&api, &clerk, &person).await["my_number"], Value::Null);
    let (_, trail) = api.get(&clerk.token, &format!("/my-number-links/{request}?purpose=eligibility")).await;
    assert_eq!(
        (trail["status"].as_str(), &trail["rejection"]["by"]),
        (Some("rejected"), &json!(tax_clerk.user_id)),
        "{trail}"
    );
}

/// Each My Number endpoint refuses every role it does not name, and records each refusal.
#[tokio::test]
async fn every_my_number_endpoint_refuses_the_roles_it_does_not_name_and_records_it() {
    let api = Client::in_process().await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();
    let (_, created) = request_link(&api, &clerk, &person, &number).await;
    let request = created["request_id"].as_str().unwrap().to_owned();

    use Role::*;
    let clerks_and_supervisors = vec![EligibilityClerk, TaxClerk, BenefitsClerk, CollectionClerk, Supervisor];
    let p = |suffix: String| format!("/v1/{KUMAGAYA}{suffix}");
    /// (method, path, body, roles that may, the refusal code for the others)
    type Row = (Method, String, Option<Value>, Vec<Role>, &'static str);
    let table: Vec<Row> = vec![
        (
            Method::POST,
            p(format!("/persons/{person}/my-number-links")),
            Some(json!({"my_number": number})),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(format!("/my-number-links/{request}/confirmations")),
            Some(json!({"my_number": number})),
            clerks_and_supervisors.clone(),
            "role_not_permitted",
        ),
        (Method::POST, p(format!("/my-number-links/{request}/approval")), None, vec![Supervisor], "role_not_permitted"),
        (
            Method::POST,
            p(format!("/my-number-links/{request}/rejection")),
            Some(json!({"reason": ""})),
            clerks_and_supervisors,
            "role_not_permitted",
        ),
        (
            Method::POST,
            p(format!("/persons/{person}/my-number/reveal")),
            Some(json!({"purpose": "eligibility", "reason": "照合"})),
            vec![EligibilityClerk, Supervisor],
            "role_not_permitted",
        ),
        (
            Method::GET,
            p(format!("/my-number-links/{request}?purpose=eligibility")),
            None,
            vec![EligibilityClerk, Supervisor],
            "purpose_not_permitted",
        ),
        (
            Method::GET,
            p(format!("/my-number-links/{request}?purpose=audit")),
            None,
            vec![Supervisor, Auditor],
            "purpose_not_permitted",
        ),
    ];
    for role in [EligibilityClerk, TaxClerk, BenefitsClerk, CollectionClerk, Supervisor, Auditor, Administrator] {
        let member = member(&api, role).await;
        let mut refusals = 0;
        for (method, path, body, allowed, refusal) in &table {
            let (status, answer) = api.request(method.clone(), path, Some(&member.token), None, body.clone()).await;
            if allowed.contains(&role) {
                assert_ne!(status, StatusCode::FORBIDDEN, "{role:?} {method} {path}: {answer}");
            } else {
                assert_eq!(
                    (status, answer["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some(*refusal)),
                    "{role:?} {method} {path}"
                );
                refusals += 1;
            }
        }
        let recorded = api.event_types(&format!("staff-{}", member.user_id)).await;
        assert_eq!(
            recorded.iter().filter(|t| **t == "RequestRefused").count(),
            refusals,
            "{role:?}: every refusal is recorded"
        );
    }
}

#[tokio::test]
async fn another_municipality_can_neither_see_nor_confirm_a_link_request() {
    let api = Client::in_process().await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();
    let (_, created) = request_link(&api, &clerk, &person, &number).await;
    let request = created["request_id"].as_str().unwrap().to_owned();

    let gyoda = member_of(&api, GYODA, Role::Supervisor).await;
    let confirm = format!("/v1/{GYODA}/my-number-links/{request}/confirmations");
    let (status, problem) =
        api.request(Method::POST, &confirm, Some(&gyoda.token), None, Some(json!({"my_number": number}))).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("link_request_not_found")));
    let (status, problem) = api
        .request(
            Method::GET,
            &format!("/v1/{GYODA}/my-number-links/{request}?purpose=eligibility"),
            Some(&gyoda.token),
            None,
            None,
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("link_request_not_found")));
    let (status, _) = api
        .request(
            Method::POST,
            &format!("/v1/{GYODA}/persons/{person}/my-number-links"),
            Some(&gyoda.token),
            None,
            Some(json!({"my_number": number})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Kumagaya's own session on Gyoda's path is not signed in there.
    let (status, _) =
        api.request(Method::POST, &confirm, Some(&clerk.token), None, Some(json!({"my_number": number}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Every log line of the test binary while `CAPTURING` is set, formatted as the server would
/// write it.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static CAPTURING: AtomicBool = AtomicBool::new(false);

struct LogBuffer;

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once for the whole test binary, a global subscriber at TRACE for every target
/// (tower_http, sqlx, axum, kokuho …) that writes into `LOG` while `CAPTURING` is set. Global,
/// because SQLite statements run (and are logged) on sqlx's worker threads, which a
/// thread-local default would miss; gated, so other tests pay nothing outside the capture.
fn install_log_capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(|| LogBuffer)
            .with_ansi(false)
            .with_target(true)
            .with_filter(tracing_subscriber::filter::filter_fn(|_| CAPTURING.load(Ordering::SeqCst)));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other global tracing subscriber in the test binary: this test must see every log line");
    });
}

/// Ends the capture even when the test fails half-way.
struct Capturing;

impl Capturing {
    fn start() -> Capturing {
        install_log_capture();
        LOG.lock().unwrap().clear();
        CAPTURING.store(true, Ordering::SeqCst);
        Capturing
    }
}

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURING.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn no_my_number_reaches_the_logs_on_any_path() {
    let capture = Capturing::start();
    let api = Client::in_process().await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let auditor = member(&api, Role::Auditor).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();
    let typo = with_wrong_check_digit(&number);
    let mismatch = valid_my_number();

    // The whole path: request, confirmations (one mismatched, one by the requester), approvals
    // (refused and accepted), reads, the trail, a reveal, and the refusals on the way.
    let request = link(&api, &person, &number).await;
    let (status, _) = confirm(&api, &clerk, &request, &mismatch).await;
    assert_eq!(status, StatusCode::CONFLICT, "already decided");
    let (_, created) = request_link(&api, &clerk, &person, &mismatch).await;
    let second = created["request_id"].as_str().unwrap().to_owned();
    assert_eq!(code(&confirm(&api, &clerk, &second, &mismatch).await).1, Some("self_confirmation"));
    let confirmer = member(&api, Role::BenefitsClerk).await;
    assert_eq!(code(&confirm(&api, &confirmer, &second, &number).await).1, Some("my_number_mismatch"));
    assert_eq!(code(&approve(&api, &clerk, &second).await).1, Some("role_not_permitted"));
    assert_eq!(read_person(&api, &clerk, &person).await["my_number"], json!(masked(&number)));
    let (status, _) = api.get(&auditor.token, &format!("/my-number-links/{request}?purpose=audit")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, revealed) = reveal(&api, &clerk, &person, "eligibility", "資格確認書の再交付申請との照合").await;
    assert_eq!(revealed["my_number"], json!(number), "{status}");
    let (status, _, _) = reveal(&api, &clerk, &person, "eligibility", &format!("照合 {number}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = request_link(&api, &clerk, &person, &typo).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/my-number-links");
    let integer: u64 = typo.parse().unwrap();
    let (status, _) =
        api.request(Method::POST, &path, Some(&clerk.token), None, Some(json!({"my_number": integer}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .request(Method::POST, &path, Some(&clerk.token), None, Some(json!({"my_number": number, "extra": number})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        api.request(Method::POST, &path, Some(&clerk.token), None, Some(json!({"my_number": [number]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    drop(capture);

    let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
    // The capture really saw the request spans and the SQL, so an absence below means something.
    assert!(log.contains("/v1/{tenant}/persons/{person_id}/my-number-links"), "no request span was captured");
    assert!(log.contains("/v1/{tenant}/persons/{person_id}/my-number/reveal"), "the reveal's span was not captured");
    assert!(log.contains("sqlx"), "no SQL statement was captured");
    for (what, digits) in [
        ("the linked number", &number),
        ("a number with a wrong check digit", &typo),
        ("a mismatched number", &mismatch),
    ] {
        assert!(!log.contains(digits.as_str()), "{what} is in the logs");
    }
}

/// My Number commands take an Idempotency-Key like every other command: a retried request names
/// the same link request (200, nothing new recorded), a retried confirmation is answered with
/// the first result instead of `already_confirmed`.
#[tokio::test]
async fn a_retried_my_number_request_or_confirmation_with_its_key_is_recorded_once() {
    let api = Client::in_process().await;
    let clerk = member(&api, Role::EligibilityClerk).await;
    let confirmer = member(&api, Role::EligibilityClerk).await;
    let person = register_person(&api, &clerk).await;
    let number = valid_my_number();
    let body = json!({"my_number": number});
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/my-number-links");

    let (first, created) =
        api.request(Method::POST, &path, Some(&clerk.token), Some("link-1"), Some(body.clone())).await;
    assert_eq!(first, StatusCode::CREATED, "{created}");
    let (again, retried) =
        api.request(Method::POST, &path, Some(&clerk.token), Some("link-1"), Some(body.clone())).await;
    assert_eq!((again, &retried["request_id"]), (StatusCode::OK, &created["request_id"]), "{retried}");
    let request = created["request_id"].as_str().unwrap().to_owned();
    assert_eq!(api.event_types(&format!("mynumber-link-{request}")).await, ["MyNumberLinkRequested"]);

    let confirmation = format!("/v1/{KUMAGAYA}/my-number-links/{request}/confirmations");
    for _ in 0..2 {
        let (status, progress) = api
            .request(Method::POST, &confirmation, Some(&confirmer.token), Some("confirm-1"), Some(body.clone()))
            .await;
        assert_eq!((status, progress["confirmations"].as_u64()), (StatusCode::OK, Some(1)), "{progress}");
    }
    // Without the key, a second confirmation by the same member is what it is: refused.
    let (status, problem) = confirm(&api, &confirmer, &request, &number).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("already_confirmed")));
    assert_eq!(
        api.event_types(&format!("mynumber-link-{request}")).await,
        ["MyNumberLinkRequested", "MyNumberLinkConfirmed"]
    );
}
