//! The real `kokuho` binary, as an operator or auditor runs it.

use kokuho_domain::person::Person;
use std::process::Command;

use crate::support::*;

#[tokio::test]
async fn serve_answers_health_openapi_and_metrics_and_stops_cleanly_on_sigterm() {
    let db = TestDb::fresh().await;
    let mut served = serve(&db);
    let base = served.base.clone();

    let client = reqwest::Client::new();
    let health: serde_json::Value = client.get(format!("{base}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], if db.is_postgres() { "postgres" } else { "sqlite" });
    let openapi: serde_json::Value =
        client.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/health"].is_object());
    // The metrics name every municipality: the operator's token, or nothing.
    let anonymous = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let problem: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(problem["code"], "metrics_token_required");
    let wrong = client.get(format!("{base}/metrics")).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);
    let metrics =
        client.get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kokuho_commit_seconds"), "{metrics}");

    let exited = served.terminate().await;
    assert!(exited.success(), "{exited:?}");
}

#[tokio::test]
async fn verify_passes_on_a_bench_filled_ledger_and_names_the_position_an_update_forged() {
    let db = TestDb::fresh().await;
    let (code, stdout, stderr) =
        output(kokuho(&db).args(["bench", "--persons", "24", "--clients", "4", "--as-of-reads", "10", "--json"]));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("bench --json prints one JSON object");
    for field in
        ["commands_per_s", "p50_ms", "p99_ms", "rebuild_events_per_s", "as_of_p50_ms", "as_of_p99_ms", "peak_rss_mb"]
    {
        assert!(report[field].as_f64().is_some_and(|value| value > 0.0), "{field} in {report}");
    }
    assert_eq!(report["commands"], 24 * 25);
    // Per person: registration, its household, the account scheduled (setup), the acquisition
    // and 24 payments on the account.
    assert_eq!(report["rebuild_events"], 24 * 28);

    let (code, stdout, _) = output(kokuho(&db).arg("verify"));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("672 events, chain intact"), "{stdout}");

    // Backdating one event by a second, with plain SQL.
    assert_eq!(db.raw_execute("UPDATE events SET recorded_at = recorded_at - 1000000 WHERE position = 7").await, 1);
    let (code, stdout, _) = output(kokuho(&db).arg("verify"));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("position 7"), "{stdout}");
}

#[tokio::test]
async fn rebuild_prints_a_summary_and_replay_prints_a_person_as_recorded_then() {
    let db = TestDb::fresh().await;
    let clock = TestClock::new();
    let ledgerd = kokuho::Ledgerd::open(&db.config(), clock.as_clock()).await.unwrap();
    let person = kokuho_domain::PersonId::new();
    ledgerd.ledger.execute::<Person>(kumagaya(), person, register("熊谷 花子"), meta(None)).await.unwrap();
    ledgerd.ledger.execute::<Person>(kumagaya(), person, acquire(), meta(None)).await.unwrap();
    clock.advance(chrono::TimeDelta::seconds(1));
    let between = clock.now();
    clock.advance(chrono::TimeDelta::seconds(1));
    legacy_payment(&ledgerd.ledger, kumagaya(), person, 7_000).await;
    ledgerd.shutdown().await;

    let (code, stdout, stderr) = output(kokuho(&db).args(["rebuild", "--projection", "payment_totals"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rebuilt payment_totals from 3 events of 1 tenant(s)"), "{stdout}");
    let (code, _, stderr) = output(kokuho(&db).args(["rebuild", "--projection", "nonsense"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("no projection is called \"nonsense\""), "{stderr}");

    let as_of = between.to_rfc3339();
    let (code, stdout, stderr) =
        output(kokuho(&db).args(["replay", "--tenant", KUMAGAYA, "--person", &person.to_string(), "--as-of", &as_of]));
    assert_eq!(code, 0, "{stderr}");
    let view: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(view["version"], 2, "the payment was recorded after the instant asked for");
    assert_eq!(view["state"]["payments"], 0);
    assert_eq!(view["state"]["insured_since"], "2025-04-01");
    assert!(!stdout.contains("花子"), "the command line prints no personal data");
}

#[test]
fn a_bad_tenant_code_is_refused_with_a_message_a_clerk_can_act_on() {
    let output = Command::new(env!("CARGO_BIN_EXE_kokuho"))
        .args(["replay", "--tenant", "112021", "--person", "00000000-0000-0000-0000-000000000000"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("check digit of local government code 112021 should be 0"), "{stderr}");
}

fn replay(db: &TestDb, person: kokuho_domain::PersonId, as_of: &str, on: &str) -> serde_json::Value {
    let (code, stdout, stderr) = output(kokuho(db).args([
        "replay",
        "--tenant",
        KUMAGAYA,
        "--person",
        &person.to_string(),
        "--as-of",
        as_of,
        "--on",
        on,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("花子") && !stdout.contains("宮町"), "the command line prints no personal data");
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test]
async fn replay_on_a_day_answers_eligibility_as_recorded_then_before_and_after_a_late_loss_notice() {
    use kokuho_domain::household::{Household, HouseholdCommand};
    use kokuho_domain::person::{LossNotice, PersonCommand};
    use kokuho_events::{Acquisition, LossReason};

    let db = TestDb::fresh().await;
    let clock = TestClock::new();
    let ledgerd = kokuho::Ledgerd::open(&db.config(), clock.as_clock()).await.unwrap();
    let person = kokuho_domain::PersonId::new();
    let source =
        || Acquisition { source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into() };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, register("熊谷 花子"), meta(None)).await.unwrap();
    ledgerd.ledger.execute::<Person>(kumagaya(), person, acquire(), meta(None)).await.unwrap();
    let household = uuid::Uuid::now_v7();
    let establish = HouseholdCommand::Establish {
        head_person_id: person.as_uuid(),
        established_on: date(2025, 4, 1),
        acquisition: source(),
    };
    ledgerd.ledger.execute::<Household>(kumagaya(), household, establish, meta(None)).await.unwrap();
    let certificate = PersonCommand::IssueCertificate {
        certificate_no: "C-0001".into(),
        issued_on: date(2025, 4, 10),
        valid_until: date(2026, 7, 31),
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, certificate, meta(None)).await.unwrap();
    clock.advance(chrono::TimeDelta::seconds(1));
    let before_notice = clock.now();
    clock.advance(chrono::TimeDelta::seconds(1));
    // Moved out on 30 September, notified on 20 November: late (more than 14 days).
    let moved_out = PersonCommand::LoseEligibility {
        loss: LossNotice {
            reason: LossReason::MovedOut,
            event_date: Some(date(2025, 9, 30)),
            notified_on: date(2025, 11, 20),
        },
        acquisition: source(),
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, moved_out, meta(None)).await.unwrap();
    ledgerd.shutdown().await;

    let then = replay(&db, person, &before_notice.to_rfc3339(), "2025-10-15");
    assert_eq!(then["state"]["insured_since"], "2025-04-01", "the existing output is still there");
    let answer = &then["eligibility"];
    assert_eq!(answer["on"], "2025-10-15");
    assert_eq!(answer["insured"], true, "{answer}");
    assert_eq!(answer["period"]["start"]["effective_on"], "2025-04-01");
    assert!(answer["period"]["end"].is_null());
    assert_eq!(answer["household"]["household_id"], household.to_string());
    assert_eq!(answer["household"]["head_person_id"], person.to_string());
    assert_eq!(answer["household"]["is_head"], true);
    assert_eq!(answer["cost_share"]["tenths"], 3);
    assert_eq!(answer["cost_share"]["rule"], "standard");
    assert!(answer["cost_share_refused"].is_null());
    assert_eq!(answer["certificates"][0]["certificate_no"], "C-0001");
    assert_eq!(answer["certificates"][0]["status"], "valid");
    assert!(answer["move"].is_null(), "no move within the prefecture");
    assert_eq!(answer["periods"].as_array().unwrap().len(), 1);

    let now = replay(&db, person, &clock.now().to_rfc3339(), "2025-10-15");
    let answer = &now["eligibility"];
    assert_eq!(answer["insured"], false, "{answer}");
    assert!(answer["period"].is_null());
    assert!(answer["cost_share"].is_null());
    assert_eq!(answer["cost_share_refused"], "not_insured");
    assert_eq!(answer["certificates"][0]["status"], "invalidated_by_loss");
    assert_eq!(answer["certificates"][0]["lost_on"], "2025-10-01");
    let end = &answer["periods"][0]["end"];
    assert_eq!((end["reason"].as_str(), end["lost_on"].as_str()), (Some("moved_out"), Some("2025-10-01")));
    assert_eq!(end["notification_late"], true);
    // The day before the move took effect was insured in both answers.
    assert_eq!(replay(&db, person, &clock.now().to_rfc3339(), "2025-09-30")["eligibility"]["insured"], true);
}

#[tokio::test]
async fn eligibility_run_records_the_loss_at_75_once_and_refuses_a_future_day() {
    let db = TestDb::fresh().await;
    let ledgerd = kokuho::Ledgerd::open(&db.config(), kokuho_ledger::system_clock()).await.unwrap();
    let mut persons = Vec::new();
    for born in [date(1950, 1, 10), date(1980, 5, 5)] {
        let person = kokuho_domain::PersonId::new();
        let kokuho_domain::person::PersonCommand::Register { atena_no, mut details, acquisition } =
            register("熊谷 花子")
        else {
            unreachable!()
        };
        details.date_of_birth = born;
        let register = kokuho_domain::person::PersonCommand::Register { atena_no, details, acquisition };
        ledgerd.ledger.execute::<Person>(kumagaya(), person, register, meta(None)).await.unwrap();
        let kokuho_domain::person::PersonCommand::AcquireEligibility {
            period_id,
            reason,
            notified_on: _,
            acquisition,
            former_municipality,
            loss,
            ..
        } = acquire()
        else {
            unreachable!()
        };
        let since_2020 = kokuho_domain::person::PersonCommand::AcquireEligibility {
            period_id,
            reason,
            event_date: date(2020, 4, 1),
            notified_on: date(2020, 4, 1),
            acquisition,
            former_municipality,
            loss,
        };
        ledgerd.ledger.execute::<Person>(kumagaya(), person, since_2020, meta(None)).await.unwrap();
        persons.push(person);
    }
    ledgerd.shutdown().await;

    let (code, stdout, stderr) = output(kokuho(&db).args(["eligibility", "run", "--tenant", KUMAGAYA]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 persons examined (2 insured), 1 losses at 75 recorded"), "{stdout}");
    let (code, stdout, stderr) = output(kokuho(&db).args(["eligibility", "run", "--tenant", KUMAGAYA]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("2 persons examined (1 insured), 0 losses at 75 recorded, 0 share decisions recorded"),
        "{stdout}"
    );

    let answer = replay(&db, persons[0], &chrono::Utc::now().to_rfc3339(), "2025-01-10")["eligibility"].clone();
    assert_eq!(answer["insured"], false, "NHI ended on the 75th birthday: {answer}");
    assert_eq!(answer["periods"][0]["end"]["reason"], "reached_late_stage_elderly");
    assert_eq!(answer["periods"][0]["end"]["lost_on"], "2025-01-10");

    let (code, _, stderr) =
        output(kokuho(&db).args(["eligibility", "run", "--tenant", KUMAGAYA, "--on", "2999-01-01"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("is after today"), "{stderr}");
}

/// Run from another folder, `kokuho admin create-user` silently started a second ledger and
/// master key there. It now refuses, naming what it did not find, and leaves the folder empty;
/// `--create-database` is how to ask for a new ledger.
#[test]
fn a_command_other_than_serve_refuses_to_start_a_new_ledger_in_the_wrong_folder() {
    let folder = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kokuho"));
        command
            .current_dir(folder.path())
            .env_remove("DATABASE_URL")
            .env_remove("KOKUHO_MASTER_KEY")
            .env_remove("KOKUHO_MASTER_KEY_FILE")
            .env_remove("KOKUHO_CREATE_DATABASE")
            .env("KOKUHO_LOG", "warn")
            .args(extra)
            .args([
                "admin",
                "create-user",
                "--tenant",
                KUMAGAYA,
                "--login",
                "lost",
                "--name",
                "迷子",
                "--role",
                "auditor",
            ]);
        output(&mut command)
    };
    let (code, _, stderr) = run(&[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no ledger at sqlite://kokuho.db"), "{stderr}");
    assert!(stderr.contains("--create-database"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
    assert!(left.is_empty(), "files were created: {left:?}");

    let (code, _, stderr) = run(&["--create-database"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(folder.path().join("kokuho.db").exists() && folder.path().join("kokuho.master.key").exists());
}
