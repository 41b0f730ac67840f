//! A staff walk-through against a running server, over HTTP: what an eligibility clerk does in a
//! morning, and what the ledger answers before and after each change.
//!
//!     kokuho admin create-user --tenant 112020 --login clerk --name "…" --role eligibility_clerk
//!     kokuho serve &
//!     # the clerk enrols with the printed code (README, "Staff"): their password and TOTP secret
//!     cargo run --example staff_walkthrough -- --url http://127.0.0.1:8080 \
//!         --login clerk --password '<their password>' --totp-secret '<their TOTP secret>'
//!
//! (or KOKUHO_URL, KOKUHO_TENANT, KOKUHO_LOGIN, KOKUHO_PASSWORD, KOKUHO_TOTP_SECRET). It signs in
//! (password and the authenticator's current code, computed from the secret), registers two
//! persons, establishes a household with the first as head and the second joining, records both
//! persons' eligibility (the second notified late), corrects the second's entry, records the
//! first's moving out, and after each change asks `GET …/eligibility` about a day as recorded
//! just before and just after, printing what changed. Any answer other than the expected status
//! stops it with a non-zero exit. All dates are in 2026, before today.

use std::time::Duration;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use clap::Parser;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "A staff walk-through of eligibility over HTTP, against a live kokuho server")]
struct Args {
    /// The server's base URL.
    #[arg(long, env = "KOKUHO_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The municipality (local government code).
    #[arg(long, env = "KOKUHO_TENANT", default_value = "112020")]
    tenant: String,
    /// An eligibility clerk's (or supervisor's) login.
    #[arg(long, env = "KOKUHO_LOGIN")]
    login: String,
    #[arg(long, env = "KOKUHO_PASSWORD")]
    password: String,
    /// The TOTP secret in base32, as the enrolment handed it out (`POST /v1/{tenant}/enrolment`).
    #[arg(long, env = "KOKUHO_TOTP_SECRET")]
    totp_secret: String,
}

/// RFC 4648 base32 (no padding needed), as authenticator apps take a secret.
fn base32_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0u32;
    let mut bytes = Vec::new();
    for symbol in text.trim().trim_end_matches('=').bytes().filter(|b| !b.is_ascii_whitespace()) {
        let symbol = symbol.to_ascii_uppercase();
        let Some(value) = ALPHABET.iter().position(|&a| a == symbol) else {
            bail!("the TOTP secret is not base32 (unexpected {:?})", symbol as char);
        };
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Ok(bytes)
}

fn totp_code(secret_base32: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let bytes = base32_decode(secret_base32)?;
    let bytes: [u8; kokuho_auth::totp::SECRET_BYTES] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        anyhow::anyhow!("the TOTP secret has {} bytes, not {}", bytes.len(), kokuho_auth::totp::SECRET_BYTES)
    })?;
    Ok(kokuho_auth::TotpSecret::from_bytes(bytes).code_at(now))
}

struct Api {
    client: Client,
    base: String,
    tenant: String,
    token: Option<String>,
}

impl Api {
    /// Sends a request and insists on `expected`; answers the JSON body (`null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/v1/{}{path}", self.base, self.tenant);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await.with_context(|| format!("reading the answer to {method} {url}"))?;
        if status != expected {
            bail!("{method} {path}: expected {expected}, got {status}: {text}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("{method} {path} answered {text}"))?
        })
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body), StatusCode::CREATED).await
    }

    /// The eligibility answer for `person` on `on`, as recorded at `as_of`.
    async fn eligibility(&self, person: &str, on: &str, as_of: DateTime<Utc>) -> anyhow::Result<Value> {
        let as_of = as_of.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let path =
            format!("/persons/{person}/eligibility?purpose=eligibility&on={on}&as_of={}", as_of.replace('+', "%2B"));
        self.call(Method::GET, &path, None, StatusCode::OK).await
    }
}

/// An instant strictly between what was recorded before and what is recorded after.
async fn instant() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let now = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    now
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether the period's acquisition was notified late, as the answer shows it.
fn notification_late(period: &Value) -> &Value {
    match period["acquisition"].get("notification_late") {
        Some(late) => late,
        None => &period["notification_late"],
    }
}

/// The parts of an answer a clerk reads, one line each.
fn summary(answer: &Value) -> Vec<(&'static str, String)> {
    let period = &answer["period"];
    let household = &answer["household"];
    let share = &answer["cost_share"];
    vec![
        ("insured", text(&answer["insured"])),
        (
            "period",
            if period.is_null() {
                "—".into()
            } else {
                format!(
                    "{} from {} until {}",
                    text(&period["period_id"]),
                    text(&period["effective_on"]),
                    text(&period["lost_on"])
                )
            },
        ),
        ("notification_late", text(notification_late(period))),
        (
            "loss",
            if period["loss"].is_object() {
                format!(
                    "{} on {}, notified {}, late {}",
                    text(&period["loss"]["reason"]),
                    text(&period["loss"]["event_date"]),
                    text(&period["loss"]["notified_on"]),
                    text(&period["loss"]["notification_late"])
                )
            } else {
                "—".into()
            },
        ),
        (
            "household",
            if household.is_null() {
                "—".into()
            } else {
                format!(
                    "{} (head {}, is_head {})",
                    text(&household["household_id"]),
                    text(&household["head_person_id"]),
                    text(&household["is_head"])
                )
            },
        ),
        (
            "cost share",
            if share.is_null() {
                "—".into()
            } else {
                format!("{} ({} tenths, rule {})", text(&share["share"]), text(&share["tenths"]), text(&share["rule"]))
            },
        ),
    ]
}

/// Prints the answer before and after a change, marking what changed; fails if nothing did.
fn print_change(what: &str, before: &Value, after: &Value) -> anyhow::Result<()> {
    println!("  {what}");
    let mut changed = false;
    for ((name, was), (_, is)) in summary(before).into_iter().zip(summary(after)) {
        if was == is {
            println!("    {name:<18} {is}");
        } else {
            changed = true;
            println!("    {name:<18} {was}  →  {is}   (changed)");
        }
    }
    if !changed {
        bail!("{what}: the answer did not change");
    }
    Ok(())
}

fn step(number: u32, title: &str) {
    println!("\n{number}. {title}");
}

fn field<'a>(value: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    value[name].as_str().with_context(|| format!("the answer has no {name}: {value}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut api = Api {
        client: Client::new(),
        base: args.url.trim_end_matches('/').to_owned(),
        tenant: args.tenant.clone(),
        token: None,
    };
    let source = "resident_registry";
    let law = "住民基本台帳法";
    let nhi_law = "国民健康保険法 第9条";

    step(1, &format!("sign in as {} to {} at {}", args.login, args.tenant, api.base));
    let code = totp_code(&args.totp_secret, Utc::now())?;
    let session = api.post("/sessions", json!({"login": args.login, "password": args.password, "code": code})).await?;
    api.token = Some(field(&session, "token")?.to_owned());
    println!("  signed in: role {}, session until {}", text(&session["role"]), text(&session["expires_at"]));

    step(2, "register two persons from the resident registry");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut persons = Vec::new();
    for (name, kana, sex, born) in [
        ("熊谷 太郎", "クマガヤ タロウ", "male", "1975-02-14"),
        ("熊谷 花子", "クマガヤ ハナコ", "female", "1978-08-08"),
    ] {
        let registered = api
            .post(
                "/persons",
                json!({"atena_no": format!("W{suffix}{}", persons.len()), "name": name, "name_kana": kana, "sex": sex,
                       "date_of_birth": born, "address": "埼玉県熊谷市宮町二丁目47番地1", "source": source, "legal_basis": law}),
            )
            .await?;
        let person_id = field(&registered, "person_id")?.to_owned();
        println!("  registered person {person_id} (born {born})");
        persons.push(person_id);
    }
    let (head, member) = (persons[0].clone(), persons[1].clone());

    step(3, "establish a household with the first as head, and the second joins");
    let established = api
        .post(
            "/households",
            json!({"head_person_id": head, "established_on": "2026-04-01", "source": source, "legal_basis": law}),
        )
        .await?;
    let household = field(&established, "household_id")?.to_owned();
    println!("  household {household}, head {head}, from 2026-04-01");
    api.post(&format!("/households/{household}/members"), json!({"person_id": member, "joined_on": "2026-04-01"}))
        .await?;
    println!("  {member} joined on 2026-04-01");

    step(4, "record both persons' eligibility: moved in on 2026-04-01 (the second notified on 2026-05-20, late)");
    let before_acquisition = instant().await;
    let mut periods = Vec::new();
    for (person, notified_on) in [(&head, "2026-04-03"), (&member, "2026-05-20")] {
        let acquired = api
            .post(
                &format!("/persons/{person}/eligibility"),
                json!({"reason": "moved_in", "event_date": "2026-04-01", "notified_on": notified_on, "source": "person_or_agent", "legal_basis": nhi_law}),
            )
            .await?;
        println!(
            "  {person}: period {} effective on {}, notified {notified_on}, notification_late: {}",
            text(&acquired["period_id"]),
            text(&acquired["effective_on"]),
            text(&acquired["notification_late"])
        );
        let expected_late = person == &member;
        if acquired["notification_late"] != json!(expected_late) {
            bail!("{person}: expected notification_late {expected_late}, the answer was {acquired}");
        }
        periods.push(field(&acquired, "period_id")?.to_owned());
    }
    let after_acquisition = instant().await;
    let before = api.eligibility(&member, "2026-06-01", before_acquisition).await?;
    let after = api.eligibility(&member, "2026-06-01", after_acquisition).await?;
    print_change(&format!("{member} on 2026-06-01, as recorded before and after the notices:"), &before, &after)?;
    if after["insured"] != json!(true)
        || after["household"]["head_person_id"] != json!(head)
        || after["household"]["is_head"] != json!(false)
    {
        bail!("{member} should be insured on 2026-06-01 in {head}'s household: {after}");
    }
    if notification_late(&after["period"]) != &json!(true) {
        bail!("the answer should show the late notification: {after}");
    }

    step(5, "correct the second person's entry: they moved in on 2026-04-10, not 2026-04-01 (entry error)");
    let corrected = api
        .post(
            &format!("/persons/{member}/eligibility/{}/correction", periods[1]),
            json!({"reason": "moved_in", "event_date": "2026-04-10", "notified_on": "2026-05-20", "correction_reason": "entry_error"}),
        )
        .await?;
    println!("  corrected at position {} (recorded {})", text(&corrected["position"]), text(&corrected["recorded_at"]));
    let after_correction = instant().await;
    let before = api.eligibility(&member, "2026-04-05", after_acquisition).await?;
    let after = api.eligibility(&member, "2026-04-05", after_correction).await?;
    print_change(&format!("{member} on 2026-04-05, as recorded before and after the correction:"), &before, &after)?;
    if before["insured"] != json!(true) || after["insured"] != json!(false) {
        bail!("the correction should end cover on 2026-04-05: before {before}, after {after}");
    }

    step(6, "the head moved out on 2026-09-30 (notified 2026-10-02): eligibility lost");
    let lost = api
        .post(
            &format!("/persons/{head}/eligibility/loss"),
            json!({"reason": "moved_out", "event_date": "2026-09-30", "notified_on": "2026-10-02", "source": "person_or_agent", "legal_basis": nhi_law}),
        )
        .await?;
    println!(
        "  period {} lost on {}, notification_late: {}",
        text(&lost["period_id"]),
        text(&lost["lost_on"]),
        text(&lost["notification_late"])
    );
    if lost["lost_on"] != json!("2026-10-01") {
        bail!("moving out on 2026-09-30 should end cover on 2026-10-01: {lost}");
    }
    let after_loss = instant().await;
    let before = api.eligibility(&head, "2026-10-15", after_correction).await?;
    let after = api.eligibility(&head, "2026-10-15", after_loss).await?;
    print_change(&format!("{head} on 2026-10-15, as recorded before and after the loss:"), &before, &after)?;
    if before["insured"] != json!(true) || after["insured"] != json!(false) {
        bail!("the loss should end cover on 2026-10-15: before {before}, after {after}");
    }
    let before = api.eligibility(&head, "2026-09-30", after_correction).await?;
    let still = api.eligibility(&head, "2026-09-30", after_loss).await?;
    print_change(&format!("{head} on 2026-09-30, the day of moving out and the last day insured:"), &before, &still)?;
    if still["insured"] != json!(true) || still["period"]["lost_on"] != json!("2026-10-01") {
        bail!("the day of moving out is still insured, in a period that now ends: {still}");
    }

    println!("\nwalk-through complete: every answer as expected");
    Ok(())
}
