//! Separation of duties (issue 12 item 4, docs/security.md §6): an administrator who creates an
//! account gets a one-time enrolment code, never working credentials; the staff member sets
//! their own password (checked for strength) and enrols their own authenticator; passwords are
//! changed by their owner; the last administrator of a municipality cannot be disabled.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use kokuho_auth::{Role, TotpSecret};
use serde_json::{json, Value};

use crate::support::*;

const PASSPHRASE: &str = "violet tram under the old bridge";

async fn create_staff(api: &Client, admin: &str, login: &str, role: &str) -> Value {
    let body = json!({"login": login, "display_name": "佐藤 健二", "role": role});
    let (status, created) = api.post(admin, "/staff", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn start(api: &Client, login: &str, code: &str) -> (StatusCode, Value) {
    let body = json!({"login": login, "enrolment_code": code});
    api.request(Method::POST, &format!("/v1/{KUMAGAYA}/enrolment"), None, None, Some(body)).await
}

async fn complete(api: &Client, login: &str, code: &str, password: &str, totp: &str) -> (StatusCode, Value) {
    let body = json!({"login": login, "enrolment_code": code, "password": password, "code": totp});
    api.request(Method::POST, &format!("/v1/{KUMAGAYA}/enrolment/complete"), None, None, Some(body)).await
}

fn secret_of(started: &Value) -> TotpSecret {
    TotpSecret::from_base32(started["totp_secret_base32"].as_str().unwrap()).unwrap()
}

/// The check of item 4: an administrator who creates a supervisor cannot sign in as them. The
/// answer holds no password and no TOTP secret; nothing the administrator holds signs in; once
/// the supervisor has enrolled, the administrator's copy of the enrolment code is worthless.
#[tokio::test]
async fn an_administrator_cannot_sign_in_as_the_supervisor_they_created() {
    let api = Client::in_process().await;
    let (_, admin) = api.signed_in(Role::Administrator).await;
    let created = create_staff(&api, &admin, "yamada", "supervisor").await;
    let keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["enrolment_code", "enrolment_expires_at", "user_id"], "{created}");
    let enrolment_code = created["enrolment_code"].as_str().unwrap().to_owned();

    // Nothing the administrator holds is a password: not the enrolment code, not an empty one.
    for password in [enrolment_code.as_str(), ""] {
        let body = json!({"login": "yamada", "password": password, "code": "123456"});
        let (status, problem) =
            api.request(Method::POST, &format!("/v1/{KUMAGAYA}/sessions"), None, None, Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("sign_in_failed")));
    }

    // The supervisor enrols: their own authenticator, their own password; they are signed in.
    let (status, started) = start(&api, "yamada", &enrolment_code).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let secret = secret_of(&started);
    let (status, session) =
        complete(&api, "yamada", &enrolment_code, PASSPHRASE, &secret.code_at(api.clock.now())).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["role"], "supervisor");

    // The administrator's copy of the code is used up: no new authenticator, no new password.
    let (status, problem) = start(&api, "yamada", &enrolment_code).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("enrolment_failed")));
    api.clock.advance(TimeDelta::seconds(30));
    let (status, _) = complete(&api, "yamada", &enrolment_code, "another long passphrase of mine", "000000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The supervisor signs in with what only they know.
    let code = secret.code_at(api.clock.now());
    let body = json!({"login": "yamada", "password": PASSPHRASE, "code": code});
    let (status, _) = api.request(Method::POST, &format!("/v1/{KUMAGAYA}/sessions"), None, None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);

    let user = created["user_id"].as_str().unwrap();
    assert_eq!(
        api.event_types(&format!("staff-{user}")).await,
        [
            "StaffUserCreated",
            "StaffEnrolmentIssued",
            // The administrator's two tries, refused as not enrolled.
            "StaffSignInFailed",
            "StaffSignInFailed",
            "StaffEnrolled",
            "StaffSignedIn",
            // The used code, twice.
            "StaffSignInFailed",
            "StaffSignInFailed",
            "StaffSignedIn"
        ]
    );
}

/// A weak password is refused with advice, and nothing is used up: the same enrolment goes on
/// with a better one. A wrong or unknown code, and an expired one, are refused alike.
#[tokio::test]
async fn enrolment_refuses_weak_passwords_wrong_codes_and_expired_ones() {
    let api = Client::in_process().await;
    let (_, admin) = api.signed_in(Role::Administrator).await;
    let created = create_staff(&api, &admin, "ito", "eligibility_clerk").await;
    let code = created["enrolment_code"].as_str().unwrap().to_owned();

    for (login, wrong) in [("ito", "not-the-code-at-all-x"), ("nobody", code.as_str())] {
        let (status, problem) = start(&api, login, wrong).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("enrolment_failed")), "{login}");
    }
    let (status, started) = start(&api, "ito", &code).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let secret = secret_of(&started);
    for weak in ["passwordpassword", "password12345", "short"] {
        let (status, problem) = complete(&api, "ito", &code, weak, &secret.code_at(api.clock.now())).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")),
            "{weak}"
        );
        assert!(!problem["detail"].as_str().unwrap().contains(weak), "{problem}");
    }
    let (status, _) = complete(&api, "ito", &code, PASSPHRASE, "000000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong one-time code");
    let (status, body) = complete(&api, "ito", &code, PASSPHRASE, &secret.code_at(api.clock.now())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // An enrolment code lasts 72 hours.
    let late = create_staff(&api, &admin, "kimura", "tax_clerk").await;
    api.clock.advance(TimeDelta::hours(72));
    let (status, problem) = start(&api, "kimura", late["enrolment_code"].as_str().unwrap()).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("enrolment_failed")));
}

/// The first administrator, from the command line, gets an enrolment code, not a password.
#[tokio::test]
async fn the_first_administrator_is_created_with_an_enrolment_code() {
    let db = TestDb::fresh().await;
    let (status, out, err) = output(kokuho(&db).args([
        "admin",
        "create-user",
        "--tenant",
        KUMAGAYA,
        "--login",
        "admin",
        "--name",
        "管理者",
        "--role",
        "administrator",
    ]));
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("enrolment code: "), "{out}");
    assert!(!out.to_lowercase().contains("password:") && !out.contains("TOTP secret"), "{out}");
}

/// A staff member changes their own password: the current one is asked for, the new one must be
/// strong, their other sessions end, and the old password no longer works.
#[tokio::test]
async fn a_staff_member_changes_their_own_password() {
    let api = Client::in_process().await;
    let account = StaffBuilder::new(Role::EligibilityClerk).login("mori").create(&api).await;
    let token = api.sign_in(&account).await;
    let other_session = api.sign_in(&account).await;
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let path = format!("/v1/{KUMAGAYA}/staff/me/password");

    let (status, problem) =
        api.request(Method::PUT, &path, Some(&token), None, Some(change("wrong-password-1", PASSPHRASE))).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("password_not_right")));
    let (status, problem) =
        api.request(Method::PUT, &path, Some(&token), None, Some(change(&account.password, "passwordpassword"))).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")));
    let (status, body) =
        api.request(Method::PUT, &path, Some(&token), None, Some(change(&account.password, PASSPHRASE))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let search = "/persons?atena_no=x&purpose=eligibility";
    assert_eq!(api.get(&token, search).await.0, StatusCode::OK, "this session goes on");
    assert_eq!(api.get(&other_session, search).await.0, StatusCode::UNAUTHORIZED, "the other one ended");
    let code = account.totp.code_at(api.clock.now());
    assert_eq!(api.try_sign_in(&account, &account.password, &code).await.0, StatusCode::UNAUTHORIZED);
    let renewed = Account { password: PASSPHRASE.to_owned(), ..account };
    api.sign_in(&renewed).await;
    assert!(api.event_types(&format!("staff-{}", renewed.user_id)).await.contains(&"StaffPasswordChanged".to_owned()));
}

/// The last administrator of a municipality cannot disable themselves (nor be disabled): it would
/// leave nobody able to manage accounts. With a second one enrolled, either may go.
#[tokio::test]
async fn the_last_administrator_cannot_be_disabled() {
    let api = Client::in_process().await;
    let (admin_id, admin) = api.signed_in(Role::Administrator).await;
    let disable = |user: &str| (format!("/staff/{user}/disable"), json!({"reason": "retired"}));
    let (path, body) = disable(&admin_id.to_string());
    let (status, problem) = api.post(&admin, &path, body.clone()).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("last_administrator")));

    // A second administrator who has not enrolled yet cannot manage anything: still the last.
    let pending = create_staff(&api, &admin, "admin2", "administrator").await;
    assert_eq!(api.post(&admin, &path, body.clone()).await.0, StatusCode::CONFLICT);

    let code = pending["enrolment_code"].as_str().unwrap();
    let (_, started) = start(&api, "admin2", code).await;
    let (status, _) = complete(&api, "admin2", code, PASSPHRASE, &secret_of(&started).code_at(api.clock.now())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = api.post(&admin, &path, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
}

/// A code that expired, or an authenticator that was lost: the administrator issues a new code.
/// The account's credentials are cleared and its sessions end, so the old code, the old
/// password and the old authenticator are worthless; the owner enrols again with the new code.
/// The last enrolled administrator keeps their credentials.
#[tokio::test]
async fn a_new_enrolment_code_clears_the_credentials_and_the_owner_enrols_again() {
    let api = Client::in_process().await;
    let (admin_id, admin) = api.signed_in(Role::Administrator).await;
    let account = StaffBuilder::new(Role::EligibilityClerk).login("hayashi").create(&api).await;
    let session = api.sign_in(&account).await;

    let (status, issued) = api.post(&admin, &format!("/staff/{}/enrolment", account.user_id), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert!(issued.get("password").is_none() && issued.get("totp_secret_base32").is_none(), "{issued}");
    let search = "/persons?atena_no=x&purpose=eligibility";
    assert_eq!(api.get(&session, search).await.0, StatusCode::UNAUTHORIZED, "the session ended");
    let code = account.totp.code_at(api.clock.now());
    assert_eq!(api.try_sign_in(&account, &account.password, &code).await.0, StatusCode::UNAUTHORIZED);

    let enrolment_code = issued["enrolment_code"].as_str().unwrap();
    let (status, started) = start(&api, "hayashi", enrolment_code).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let (status, session) =
        complete(&api, "hayashi", enrolment_code, PASSPHRASE, &secret_of(&started).code_at(api.clock.now())).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(api.get(session["token"].as_str().unwrap(), search).await.0, StatusCode::OK);

    let (status, problem) = api.post(&admin, &format!("/staff/{admin_id}/enrolment"), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("last_administrator")));
    let (status, _) = api.post(&admin, &format!("/staff/{}/enrolment", uuid::Uuid::now_v7()), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
