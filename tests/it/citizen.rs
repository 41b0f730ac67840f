//! Sensitive persons, provisions and inquiries, and the citizen's view of their own access and
//! provision record: through the router, and — the check of issue 3 items 5 to 7 — a citizen who
//! signs in with their card's key and sees their record in a real browser (headless Chromium)
//! against a real server, without the non-disclosable entries.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use ed25519_dalek::SigningKey;
use kokuho_auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

async fn set_flags(
    api: &Client,
    supervisor: &str,
    person: &str,
    no_auto_response: bool,
    non_disclosure: bool,
    reason: &str,
) -> (StatusCode, Value) {
    let body = json!({"no_auto_response": no_auto_response, "non_disclosure": non_disclosure, "reason": reason});
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/sensitivity");
    api.request(Method::PUT, &path, Some(supervisor), None, Some(body)).await
}

fn provision_body(api: &Client, agency: &str, row: &str, items: &[&str]) -> Value {
    let requested_at = (api.clock.now() - TimeDelta::hours(1)).to_rfc3339();
    json!({"requesting_agency": agency, "legal_basis_row": row, "items": items, "requested_at": requested_at})
}

async fn provide(
    api: &Client,
    clerk: &str,
    person: &str,
    agency: &str,
    row: &str,
    items: &[&str],
) -> (StatusCode, Value) {
    let body = provision_body(api, agency, row, items);
    api.post(clerk, &format!("/persons/{person}/provisions"), body).await
}

async fn inquire(
    api: &Client,
    clerk: &str,
    person: &str,
    number: &str,
    purpose: &str,
    agency: &str,
) -> (StatusCode, Value) {
    let body =
        json!({"management_number": number, "purpose": purpose, "agency_asked": agency, "items": ["年金給付関係情報"]});
    api.post(clerk, &format!("/persons/{person}/inquiries"), body).await
}

async fn register_key(api: &Client, clerk: &str, person: &str, card: &SigningKey) -> (StatusCode, Value) {
    let body = json!({"public_key": hex(card.verifying_key().as_bytes())});
    api.post(clerk, &format!("/persons/{person}/citizen-key"), body).await
}

fn card() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

/// Chromium from PATH or Debian's /usr/bin/chromium; the browser check must not pass by being
/// skipped, so a machine without it fails here.
fn chromium() -> std::path::PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file());
    let fallback = std::path::PathBuf::from("/usr/bin/chromium");
    on_path.or_else(|| fallback.is_file().then_some(fallback)).unwrap_or_else(|| {
        panic!(
            "Chromium is needed for the citizen page test but was not found on PATH or at /usr/bin/chromium; \
             install it (Debian: `apt-get install -y chromium`)"
        )
    })
}

/// The page's DOM after its script ran, as headless Chromium sees it.
async fn browser_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--virtual-time-budget=5000", "--dump-dom", url])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(90), run)
        .await
        .expect("Chromium finishes within 90 s")
        .unwrap();
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_citizen_sees_their_record_in_a_real_browser_without_the_non_disclosable_entries() {
    let api = Client::served().await;
    let (clerk_account, clerk) = StaffBuilder::new(Role::EligibilityClerk).named("窓口 一郎").signed_in(&api).await;
    let (benefits_account, benefits) = StaffBuilder::new(Role::BenefitsClerk).named("給付 二郎").signed_in(&api).await;
    let (supervisor_account, supervisor) = StaffBuilder::new(Role::Supervisor).named("課長 三郎").signed_in(&api).await;
    let (_, tax) = StaffBuilder::new(Role::TaxClerk).named("賦課 四郎").signed_in(&api).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;

    // A staff access: the eligibility clerk reads the record.
    let (status, read) = api.get(&clerk, &format!("/persons/{person}?purpose=eligibility")).await;
    assert_eq!(status, StatusCode::OK, "{read}");

    // While the person is a sensitive person: a provision waits for approval, and it and an
    // inquiry are recorded as non-disclosable.
    let (status, flags) = set_flags(&api, &supervisor, &person, true, true, "DV等支援措置").await;
    assert_eq!((status, flags["changed"].as_bool()), (StatusCode::OK, Some(true)), "{flags}");
    let (status, waiting) =
        provide(&api, &benefits, &person, "秘匿先 健康保険組合", "2", &["医療保険給付関係情報"]).await;
    assert_eq!((status, waiting["status"].as_str()), (StatusCode::ACCEPTED, Some("awaiting_approval")), "{waiting}");
    let (status, hidden_inquiry) = inquire(&api, &benefits, &person, "70", "benefits", "秘匿照会先 年金事務所").await;
    assert_eq!(
        (status, hidden_inquiry["non_disclosable"].as_bool()),
        (StatusCode::CREATED, Some(true)),
        "{hidden_inquiry}"
    );
    let provision_id = waiting["provision_id"].as_str().unwrap();
    let (status, approved) = api
        .request(
            Method::POST,
            &format!("/v1/{KUMAGAYA}/provisions/{provision_id}/approval"),
            Some(&supervisor),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, approved["status"].as_str(), approved["non_disclosable"].as_bool()),
        (StatusCode::CREATED, Some("provided"), Some(true)),
        "{approved}"
    );

    // Support measures ended: what follows is disclosable.
    let (status, _) = set_flags(&api, &supervisor, &person, false, false, "支援措置終了").await;
    assert_eq!(status, StatusCode::OK);
    let (status, provided) =
        provide(&api, &benefits, &person, "全国健康保険協会 埼玉支部", "69", &["医療保険給付関係情報"]).await;
    assert_eq!(
        (status, provided["status"].as_str(), provided["non_disclosable"].as_bool()),
        (StatusCode::CREATED, Some("provided"), Some(false)),
        "{provided}"
    );
    let (status, inquiry) = inquire(&api, &benefits, &person, "70", "benefits", "日本年金機構").await;
    assert_eq!(status, StatusCode::CREATED, "{inquiry}");
    // Not every management number serves every purpose.
    let (status, refused) = inquire(&api, &tax, &person, "70", "assessment", "日本年金機構").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("management_number_not_permitted")));

    // The citizen's card key, registered at the counter; the citizen signs in with it.
    let card = card();
    let (status, registered) = register_key(&api, &clerk, &person, &card).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let challenge = api.challenge(KUMAGAYA).await;
    let (status, session) = api.answer_challenge(KUMAGAYA, &challenge, &person, &card).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap();

    // The JSON record: newest first, the non-disclosable entries absent.
    let (status, record) = api.get(token, "/citizen/record").await;
    assert_eq!(status, StatusCode::OK, "{record}");
    let kinds: Vec<&str> = record["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, ["access", "inquiry", "provision"], "{record}");
    let access = record["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "access").unwrap();
    assert_eq!(
        (access["organisation"].as_str(), access["section"].as_str()),
        (Some("熊谷市"), Some("市民部 保険年金課"))
    );
    assert_eq!(access["purpose"], "eligibility");
    let provision = record["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "provision").unwrap();
    assert_eq!(provision["organisation"], "全国健康保険協会 埼玉支部");
    assert_eq!(provision["counterpart"], "熊谷市 市民部 保険年金課");
    assert_eq!(provision["items"], json!(["医療保険給付関係情報"]));
    assert_eq!(provision["legal_basis"], "番号利用法第19条第8号 主務省令第2条の表 69項 (第71条)");

    // The same record in a real browser, from the page kokuho serves.
    let page_url = session["page_url"].as_str().unwrap();
    assert!(page_url.starts_with("/citizen#"), "the token travels in the fragment: {page_url}");
    let dom = browser_dom(&format!("{}{page_url}", api.base_url())).await;
    assert_eq!(dom.matches("class=\"entry entry-").count(), 3, "three disclosable entries:\n{dom}");
    for shown in [
        "熊谷市 市民部 保険年金課",        // the access: organisation and section
        "氏名 (name)",                     // its items
        "資格管理 (eligibility)",          // its purpose
        "全国健康保険協会 埼玉支部",       // the provision: who asked
        "医療保険給付関係情報",            // what was provided
        "主務省令第2条の表 69項 (第71条)", // under which law
        "日本年金機構",                    // the inquiry: who was asked
        "給付 (benefits)",                 // for what purpose
    ] {
        assert!(dom.contains(shown), "the page shows {shown:?}:\n{dom}");
    }
    for hidden in ["秘匿先", "秘匿照会先"] {
        assert!(!dom.contains(hidden), "the non-disclosable entry {hidden:?} is absent:\n{dom}");
        assert!(!record.to_string().contains(hidden), "and absent from the JSON");
    }
    for account in [&clerk_account, &benefits_account, &supervisor_account] {
        for staff_detail in [account.user_id.to_string(), account.login.clone()] {
            assert!(
                !dom.contains(&staff_detail) && !record.to_string().contains(&staff_detail),
                "no staff id or login: {staff_detail}"
            );
        }
    }
    for name in ["窓口 一郎", "給付 二郎", "課長 三郎", "熊谷 花子"] {
        assert!(!dom.contains(name) && !record.to_string().contains(name), "no staff or personal name: {name}");
    }
    assert!(!dom.contains(token), "the token is not written into the page");

    // Signing in is recorded; reading one's own record is not an access.
    let signed_in = api.event_types(&format!("citizen-{person}")).await;
    assert_eq!(signed_in, ["CitizenKeyRegistered", "CitizenSignedIn"]);
    assert_eq!(api.event_types(&format!("access-{person}")).await, ["PersonalDataAccessed"]);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_citizen_page_without_a_session_asks_to_sign_in_and_loads_nothing_external() {
    let api = Client::served().await;
    let response = reqwest::get(format!("{}/citizen", api.base_url())).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let csp = response.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("src=\""),
        "no external resources"
    );
    let dom = browser_dom(&format!("{}/citizen", api.base_url())).await;
    assert!(dom.contains("サインインしてください"), "{dom}");
    let dom = browser_dom(&format!("{}/citizen#tenant={KUMAGAYA}&token=kks_not-a-session", api.base_url())).await;
    assert!(dom.contains("記録を表示できません") && dom.contains("sign in first"), "{dom}");
    api.stop().await;
}

#[tokio::test]
async fn flags_and_approvals_are_for_supervisors_and_provisions_follow_the_allow_list() {
    let api = Client::in_process().await;
    let (_, clerk) = StaffBuilder::new(Role::EligibilityClerk).named("窓口 一郎").signed_in(&api).await;
    let (_, supervisor) = StaffBuilder::new(Role::Supervisor).named("課長 三郎").signed_in(&api).await;
    let (_, tax) = StaffBuilder::new(Role::TaxClerk).named("賦課 四郎").signed_in(&api).await;
    let (_, collection) = StaffBuilder::new(Role::CollectionClerk).named("収納 五郎").signed_in(&api).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;

    // Roles.
    let (status, body) = set_flags(&api, &clerk, &person, true, true, "DV等支援措置").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));
    for other in [&tax, &collection] {
        let (status, body) = provide(&api, other, &person, "全国健康保険協会", "2", &["医療保険給付関係情報"]).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));
    }

    // The flags: set once, unchanged when set again the same, a reason always.
    let (status, body) = set_flags(&api, &supervisor, &person, true, true, " ").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required")));
    let (_, first) = set_flags(&api, &supervisor, &person, true, true, "DV等支援措置").await;
    let (_, again) = set_flags(&api, &supervisor, &person, true, true, "DV等支援措置(再確認)").await;
    assert_eq!((first["changed"].as_bool(), again["changed"].as_bool()), (Some(true), Some(false)));
    let (status, body) = set_flags(&api, &supervisor, &Uuid::now_v7().to_string(), true, true, "x").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("person_not_found")));
    // The reason is sealed with the person's key: not in the clear payload.
    let code = kokuho_domain::TenantCode::parse(KUMAGAYA).unwrap();
    let stored =
        api.ledgerd.store.read_stream(code, &format!("sensitivity-{person}"), kokuho_store::Decrypt::No).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0].payload).contains("DV"), "the reason is not in clear");
    assert_eq!(stored[0].personal, kokuho_store::PersonalData::Sealed);

    // The allow-list's provision rows and their categories.
    let cases = [
        ("999", vec!["医療保険給付関係情報"], "provision_basis_not_permitted"),
        ("27", vec!["医療保険給付関係情報"], "provision_item_not_permitted"),
        ("2", vec![], "empty_field"),
    ];
    for (row, items, code) in cases {
        let (status, body) = provide(&api, &clerk, &person, "全国健康保険協会", row, &items).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}");
    }
    let mut future = provision_body(&api, "全国健康保険協会", "2", &["医療保険給付関係情報"]);
    future["requested_at"] = json!((api.clock.now() + TimeDelta::hours(1)).to_rfc3339());
    let (status, body) = api.post(&clerk, &format!("/persons/{person}/provisions"), future).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("time_in_future")));
    let (status, body) =
        provide(&api, &clerk, &Uuid::now_v7().to_string(), "全国健康保険協会", "2", &["医療保険給付関係情報"]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("person_not_found")));

    // A retried request with the same Idempotency-Key is the same provision, recorded once.
    let body = provision_body(&api, "全国健康保険協会 埼玉支部", "2", &["医療保険給付関係情報"]);
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/provisions");
    let (first_status, first) =
        api.request(Method::POST, &path, Some(&clerk), Some("req-0001"), Some(body.clone())).await;
    let (second_status, second) = api.request(Method::POST, &path, Some(&clerk), Some("req-0001"), Some(body)).await;
    assert_eq!((first_status, second_status), (StatusCode::ACCEPTED, StatusCode::OK), "{first} {second}");
    assert_eq!(
        (first["provision_id"].clone(), second["duplicate"].as_bool()),
        (second["provision_id"].clone(), Some(true))
    );
    assert_eq!(second["status"], "awaiting_approval");

    // Approval: supervisors only, once, and only of a provision that exists.
    let provision_id = first["provision_id"].as_str().unwrap();
    let approval = format!("/v1/{KUMAGAYA}/provisions/{provision_id}/approval");
    let (status, body) = api.request(Method::POST, &approval, Some(&clerk), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));
    let (status, _) = api.request(Method::POST, &approval, Some(&supervisor), None, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api.request(Method::POST, &approval, Some(&supervisor), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("provision_not_awaiting_approval")));
    let unknown = format!("/v1/{KUMAGAYA}/provisions/{}/approval", Uuid::now_v7());
    let (status, body) = api.request(Method::POST, &unknown, Some(&supervisor), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("provision_not_found")));
    // Another municipality's supervisor finds no such provision.
    let (_, gyoda_supervisor) = StaffBuilder::new(Role::Supervisor).of(GYODA).named("行田 課長").signed_in(&api).await;
    let (status, body) =
        api.request(Method::POST, &approval.replace(KUMAGAYA, GYODA), Some(&gyoda_supervisor), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("provision_not_found")));
    assert_eq!(
        api.event_types(&format!("provision-{provision_id}")).await,
        ["ProvisionRequested", "ProvisionAwaitingApproval", "ProvisionApproved", "ProvisionProvided"]
    );
}

#[tokio::test]
async fn an_inquiry_needs_a_management_number_permitted_for_its_purpose_and_a_refusal_is_recorded() {
    let api = Client::in_process().await;
    let (_, clerk) = StaffBuilder::new(Role::EligibilityClerk).named("窓口 一郎").signed_in(&api).await;
    let (tax_account, tax) = StaffBuilder::new(Role::TaxClerk).named("賦課 四郎").signed_in(&api).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;

    let (status, made) = inquire(&api, &tax, &person, "48", "assessment", "熊谷市 市民税課").await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["legal_basis"], "番号利用法第19条第8号 主務省令第2条の表 48項 (第50条)");
    let (status, refused) = inquire(&api, &tax, &person, "70", "assessment", "日本年金機構").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("management_number_not_permitted")));
    assert!(refused["detail"].as_str().unwrap().contains("permitted for it: 48"), "{refused}");
    // A purpose the role does not serve is refused before the allow-list is consulted.
    let (status, refused) = inquire(&api, &tax, &person, "70", "benefits", "日本年金機構").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("purpose_not_permitted")));
    let (status, refused) = inquire(&api, &tax, &person, "48", "marketing", "日本年金機構").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_purpose")));
    // The seed's §I-5 (docs/seed.md) lists no management number for the eligibility affair.
    let (status, refused) = inquire(&api, &clerk, &person, "48", "eligibility", "日本年金機構").await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("management_number_not_permitted")));

    let recorded = api.event_types(&format!("staff-{}", tax_account.user_id)).await;
    assert_eq!(recorded.iter().filter(|t| *t == "RequestRefused").count(), 2, "{recorded:?}");
    let inquiry_id = made["inquiry_id"].as_str().unwrap();
    assert_eq!(api.event_types(&format!("inquiry-{inquiry_id}")).await, ["InquiryMade"]);
}

#[tokio::test]
async fn citizen_sign_in_refuses_used_expired_and_wrong_answers_and_records_each() {
    let api = Client::in_process().await;
    let (_, clerk) = StaffBuilder::new(Role::EligibilityClerk).named("窓口 一郎").signed_in(&api).await;
    let (_, tax) = StaffBuilder::new(Role::TaxClerk).named("賦課 四郎").signed_in(&api).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let card = card();

    // Registering the key: the right role, a real person, a usable key.
    let (status, body) = register_key(&api, &tax, &person, &card).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));
    let (status, body) = register_key(&api, &clerk, &Uuid::now_v7().to_string(), &card).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("person_not_found")));
    let mut weak = [0u8; 32];
    weak[0] = 1;
    for key in [hex(&weak), "abcd".into()] {
        let (status, body) =
            api.post(&clerk, &format!("/persons/{person}/citizen-key"), json!({"public_key": key})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_public_key")));
    }
    assert_eq!(register_key(&api, &clerk, &person, &card).await.0, StatusCode::CREATED);

    // Another card's signature; then the same challenge again, now rightly answered: used up.
    let challenge = api.challenge(KUMAGAYA).await;
    let (status, body) = api.answer_challenge(KUMAGAYA, &challenge, &person, &self::card()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("signature_invalid")));
    let (status, body) = api.answer_challenge(KUMAGAYA, &challenge, &person, &card).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("challenge_not_found")));
    // Too late.
    let challenge = api.challenge(KUMAGAYA).await;
    api.clock.advance(TimeDelta::minutes(6));
    let (status, body) = api.answer_challenge(KUMAGAYA, &challenge, &person, &card).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("challenge_expired")));
    // A person without a key gets the same answer as a wrong signature.
    let keyless = PersonBuilder::new().create(&api, &clerk).await;
    let challenge = api.challenge(KUMAGAYA).await;
    let (status, body) = api.answer_challenge(KUMAGAYA, &challenge, &keyless, &card).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("signature_invalid")));
    // A garbled signature does not use up the challenge.
    let challenge = api.challenge(KUMAGAYA).await;
    let garbled =
        json!({"challenge_id": challenge["challenge_id"], "person_id": person, "signature": "not a signature"});
    let (status, body) =
        api.request(Method::POST, &format!("/v1/{KUMAGAYA}/citizen/sessions"), None, None, Some(garbled)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("malformed_signature")));
    let (status, session) = api.answer_challenge(KUMAGAYA, &challenge, &person, &card).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap();

    assert_eq!(
        api.event_types(&format!("citizen-{person}")).await,
        ["CitizenKeyRegistered", "CitizenSignInFailed", "CitizenSignInFailed", "CitizenSignedIn"]
    );
    assert_eq!(api.event_types("citizen-unknown").await, ["CitizenSignInFailed"]);

    // The session: this municipality's citizen endpoints only, for a quarter of an hour.
    let record = format!("/v1/{KUMAGAYA}/citizen/record");
    let (status, body) = api.request(Method::GET, &record, Some(token), None, None).await;
    assert_eq!((status, body["person_id"].as_str()), (StatusCode::OK, Some(person.as_str())));
    let (status, body) =
        api.request(Method::GET, &format!("/v1/{GYODA}/citizen/record"), Some(token), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_signed_in")));
    let (status, body) = api.get(token, &format!("/persons/{person}?purpose=eligibility")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not_signed_in")),
        "a citizen is not staff"
    );
    let (status, body) = api.request(Method::GET, &record, Some(&clerk), None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not_signed_in")),
        "staff are not the citizen"
    );
    api.clock.advance(TimeDelta::minutes(15));
    let (status, body) = api.request(Method::GET, &record, Some(token), None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("session_expired")));
}
