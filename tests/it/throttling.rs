//! What anyone may ask without signing in (issue 12 item 3, docs/security.md): a failed sign-in
//! keeps no typed text, a login no account could have is refused before anything is written, one
//! client asking too often is refused 429 with `Retry-After`, and the sign-in back-off slows the
//! client that fails, not the real user elsewhere, and answers unknown logins as known ones.
//!
//! Client addresses are simulated in process (`Call::from`, the `ConnectInfo` that `kokuho serve`
//! attaches): over loopback TCP every request would come from 127.0.0.1. The addresses are from
//! the documentation ranges of RFC 5737, and no packet is sent to them.

use axum::http::{HeaderMap, Method, StatusCode};
use chrono::TimeDelta;
use ed25519_dalek::{Signer, SigningKey};
use kokuho_auth::Role;
use serde_json::{json, Value};

use crate::support::*;

const ATTACKER: &str = "198.51.100.7";
const OFFICE: &str = "203.0.113.20";

fn sign_in_call(login: &str, password: &str, code: &str, from: &str) -> Call {
    Call::new(Method::POST, format!("/v1/{KUMAGAYA}/sessions"))
        .json(&json!({"login": login, "password": password, "code": code}))
        .from(from)
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers.get("retry-after").map(|value| value.to_str().unwrap().parse().unwrap())
}

/// (status, code, Retry-After) of an answer: what a caller can tell apart.
fn answer((status, headers, body): (StatusCode, HeaderMap, Value)) -> (StatusCode, Option<String>, Option<u64>) {
    (status, body["code"].as_str().map(str::to_owned), retry_after(&headers))
}

/// The check of item 3: a 60 KB login is refused 422 naming the field, and nothing is written.
#[tokio::test]
async fn a_60_kb_login_is_refused_naming_the_field_and_nothing_is_recorded() {
    let api = Client::in_process().await;
    StaffBuilder::new(Role::EligibilityClerk).create(&api).await;
    let head = api.ledgerd.store.head(kumagaya()).await.unwrap();
    let huge = "x".repeat(60 * 1024);
    for login in [huge.as_str(), "correct horse battery staple", "ab", "sato@example"] {
        let (status, body) = api.send(sign_in_call(login, "whatever-password", "123456", ATTACKER)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_login")));
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("`login`"), "{detail}");
        assert!(!detail.contains(login), "the login is not echoed: {detail}");
    }
    let (status, body) = api.send(sign_in_call("sato", &"p".repeat(1025), "123456", ATTACKER)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")));
    assert_eq!(api.ledgerd.store.head(kumagaya()).await.unwrap(), head, "nothing was recorded");
}

/// A failure records the login only as its keyed hash: what was typed is nowhere in the ledger,
/// and the hash finds every failure of the same login again.
#[tokio::test]
async fn a_failed_sign_in_records_the_login_only_as_its_keyed_hash() {
    let api = Client::in_process().await;
    let account = StaffBuilder::new(Role::EligibilityClerk).login("sato").create(&api).await;
    // A password typed into the login field, then a wrong password for a real login.
    api.send(sign_in_call("Kumagaya2025-secret", "x-password-12", "123456", OFFICE)).await;
    api.send(sign_in_call("sato", "not-the-password", "123456", OFFICE)).await;

    let staff = &api.ledgerd.staff;
    let unknown = api.ledgerd.store.read_stream(kumagaya(), "staff-unknown", kokuho_store::Decrypt::No).await.unwrap();
    assert_eq!(unknown.len(), 1);
    let payload: Value = serde_json::from_slice(&unknown[0].payload).unwrap();
    let expected = hex(&staff.login_hmac(kumagaya(), "Kumagaya2025-secret"));
    assert_eq!(payload, json!({"login_hmac": expected, "user_id": null, "failure": "unknown_login"}));
    assert_eq!(unknown[0].schema_version, 2);

    let own = api
        .ledgerd
        .store
        .read_stream(kumagaya(), &format!("staff-{}", account.user_id), kokuho_store::Decrypt::No)
        .await
        .unwrap();
    let failed: Value = serde_json::from_slice(&own.last().unwrap().payload).unwrap();
    assert_eq!(failed["login_hmac"], json!(hex(&staff.login_hmac(kumagaya(), "sato"))));
    assert_eq!(failed["user_id"], json!(account.user_id));
    // Another tenant's key gives another hash for the same login.
    assert_ne!(staff.login_hmac(kumagaya(), "sato"), staff.login_hmac(gyoda(), "sato"));

    for event in unknown.iter().chain(&own) {
        let text = String::from_utf8_lossy(&event.payload);
        assert!(!text.contains("Kumagaya2025") && !text.contains("not-the-password"), "{text}");
    }
}

/// The check of item 3: 10,000 anonymous challenges from one client are refused 429 after its
/// allowance, do not fill the municipality's open challenges, and a citizen on another network
/// still signs in.
#[tokio::test]
async fn ten_thousand_challenges_from_one_client_are_refused_and_a_citizen_elsewhere_still_signs_in() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let card = SigningKey::from_bytes(&[7; 32]);
    let key = json!({"public_key": hex(card.verifying_key().as_bytes())});
    let (status, body) = api.post(&clerk, &format!("/persons/{person}/citizen-key"), key).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let challenge = || Call::new(Method::POST, format!("/v1/{KUMAGAYA}/citizen/challenges"));
    let mut created = 0;
    let mut refused = 0;
    for _ in 0..10_000 {
        let (status, headers, body) = api.send_with_headers(challenge().from(ATTACKER)).await;
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(body["code"], "too_many_requests");
                assert_eq!(retry_after(&headers), Some(3), "one challenge every 3 s at 20/min");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((created, refused), (20, 9_980));
    let open: i64 = kokuho_store::on_db!(api.ledgerd.store.db(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM citizen_challenges").fetch_one(pool).await.unwrap()
    });
    assert_eq!(open, 20, "the flood holds 20 of the 10,000 open challenges a municipality may have");

    // The citizen, at home on another network, signs in.
    let (status, issued) = api.send(challenge().from("192.0.2.44")).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let message = hex_decode(issued["signing_message"].as_str().unwrap());
    let answer = json!({"challenge_id": issued["challenge_id"], "person_id": person, "signature": hex(&card.sign(&message).to_bytes())});
    let call = Call::new(Method::POST, format!("/v1/{KUMAGAYA}/citizen/sessions")).json(&answer).from("192.0.2.44");
    let (status, session) = api.send(call).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");

    // The flooding client gets its allowance back as time passes.
    api.clock.advance(TimeDelta::seconds(3));
    assert_eq!(api.send(challenge().from(ATTACKER)).await.0, StatusCode::CREATED);
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// One client sending sign-ins faster than 30 a minute is refused 429 before the tenant is even
/// looked up; another client is not.
#[tokio::test]
async fn a_client_signing_in_too_often_is_refused_with_retry_after() {
    let api = Client::in_process().await;
    StaffBuilder::new(Role::Auditor).create(&api).await;
    for i in 0..30 {
        let (status, _, body) =
            api.send_with_headers(sign_in_call(&format!("user-{i}"), "wrong-password-1", "123456", ATTACKER)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let refused = answer(api.send_with_headers(sign_in_call("user-x", "wrong-password-1", "123456", ATTACKER)).await);
    assert_eq!(refused, (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests".into()), Some(2)));
    let elsewhere = answer(api.send_with_headers(sign_in_call("user-x", "wrong-password-1", "123456", OFFICE)).await);
    assert_eq!(elsewhere.0, StatusCode::UNAUTHORIZED);
}

/// The check of item 3: whoever knows a login cannot lock its owner out. The client that keeps
/// failing waits longer and longer; the real user, on another network, signs in at once; and an
/// unknown login gets exactly the same answers, Retry-After included.
#[tokio::test]
async fn a_client_guessing_a_login_slows_only_itself_and_unknown_logins_are_answered_alike() {
    let api = Client::in_process().await;
    let account = StaffBuilder::new(Role::Supervisor).login("tanaka").create(&api).await;
    let head = api.ledgerd.store.head(kumagaya()).await.unwrap();

    let mut answers = std::collections::BTreeMap::new();
    for login in ["tanaka", "no-such-user"] {
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(answer(api.send_with_headers(sign_in_call(login, "guessed-password", "123456", ATTACKER)).await));
        }
        answers.insert(login, seen);
    }
    let unauthorized = (StatusCode::UNAUTHORIZED, Some("sign_in_failed".to_owned()), None);
    let throttled = (StatusCode::TOO_MANY_REQUESTS, Some("sign_in_throttled".to_owned()), Some(1));
    let expected = [vec![unauthorized.clone(); 5], vec![throttled; 3]].concat();
    assert_eq!(answers["tanaka"], expected);
    assert_eq!(answers["no-such-user"], expected, "an unknown login is answered as a known one");
    // The throttled attempts wrote nothing: five failures of each login, no more.
    let written = api.ledgerd.store.head(kumagaya()).await.unwrap() - head;
    assert_eq!(written, 10);

    // The real user, at the office, is not slowed down at all.
    let code = account.totp.code_at(api.clock.now());
    let (status, body) = api.send(sign_in_call("tanaka", &account.password, &code, OFFICE)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The attacker's waits double with each further failure: 1 s, 2 s, 4 s, …
    let mut waits = Vec::new();
    for _ in 0..4 {
        let (_, _, after) =
            answer(api.send_with_headers(sign_in_call("tanaka", "guessed-password", "1", ATTACKER)).await);
        let after = after.unwrap();
        waits.push(after);
        api.clock.advance(TimeDelta::seconds(after as i64));
        let (status, _, _) =
            answer(api.send_with_headers(sign_in_call("tanaka", "guessed-password", "1", ATTACKER)).await);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(waits, [1, 2, 4, 8]);
}

/// Guessers spread over many networks meet the per-login ceiling (30 failures within an hour):
/// then every client waits, for a while only, and the wait fades.
#[tokio::test]
async fn failures_from_many_clients_meet_the_per_login_ceiling_which_fades() {
    let api = Client::in_process().await;
    let account = StaffBuilder::new(Role::Administrator).login("admin").create(&api).await;
    for i in 0..30 {
        let (status, body) =
            api.send(sign_in_call("admin", "guessed-password", "123456", &format!("192.0.2.{i}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let code = account.totp.code_at(api.clock.now());
    let refused = answer(api.send_with_headers(sign_in_call("admin", &account.password, &code, OFFICE)).await);
    assert_eq!(refused, (StatusCode::TOO_MANY_REQUESTS, Some("sign_in_throttled".into()), Some(1)));
    api.clock.advance(TimeDelta::seconds(1));
    let code = account.totp.code_at(api.clock.now());
    let (status, body) = api.send(sign_in_call("admin", &account.password, &code, OFFICE)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The CPU time this thread has used. A `#[tokio::test]` runs on one thread, and an in-process
/// request runs on it with everything it computes (Argon2 included); tests running beside this
/// one do not count, as they would in wall-clock time.
fn thread_cpu_time() -> std::time::Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to write into.
    let done = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(done, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The CPU time a failed sign-in of `login` takes, from a network of its own.
async fn failure_time(api: &Client, login: &str, network: u8) -> std::time::Duration {
    let started = thread_cpu_time();
    let (status, _) = api.send(sign_in_call(login, "wrong-password-1", "123456", &format!("192.0.2.{network}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    thread_cpu_time() - started
}

/// Unknown logins cost the same time as known ones: both verify one Argon2 hash and write the
/// same rows. Measured in CPU time, alternately, the least of each; skipping the hash would make
/// the unknown login several times cheaper.
#[tokio::test]
async fn an_unknown_login_takes_as_long_as_a_known_one() {
    let api = Client::in_process().await;
    StaffBuilder::new(Role::EligibilityClerk).login("kato").create(&api).await;
    let (mut known, mut unknown) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for network in 0..8 {
        known = known.min(failure_time(&api, "kato", network).await);
        unknown = unknown.min(failure_time(&api, "nobody-here", network).await);
    }
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((0.5..2.0).contains(&ratio), "known {known:?}, unknown {unknown:?}");
}
