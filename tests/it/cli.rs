//! The real `kokuho` binary, as an operator or auditor runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

fn kokuho(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kokuho"));
    command
        .current_dir(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("KOKUHO_MASTER_KEY_FILE", db.key_file())
        .env_remove("KOKUHO_MASTER_KEY")
        .env("KOKUHO_LOG", "warn");
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("kokuho runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn serve_answers_health_openapi_and_metrics_and_stops_cleanly_on_sigterm() {
    let db = TestDb::fresh().await;
    let mut server = kokuho(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kokuho serve starts");
    let stdout = server.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("serve prints where it listens").unwrap();
    let base = first.split_whitespace().last().expect("an address").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");

    let client = reqwest::Client::new();
    let health: serde_json::Value = client.get(format!("{base}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], if db.is_postgres() { "postgres" } else { "sqlite" });
    let openapi: serde_json::Value = client.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/health"].is_object());
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kokuho_commit_seconds"), "{metrics}");

    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = server.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let exited = exited.unwrap_or_else(|| {
        server.kill().ok();
        panic!("kokuho serve did not stop on SIGTERM")
    });
    assert!(exited.success(), "{exited:?}");
}

#[tokio::test]
async fn verify_passes_on_a_bench_filled_ledger_and_names_the_position_an_update_forged() {
    let db = TestDb::fresh().await;
    let (code, stdout, stderr) = run(kokuho(&db).args(["bench", "--persons", "24", "--clients", "4", "--as-of-reads", "10", "--json"]));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("bench --json prints one JSON object");
    for field in ["commands_per_s", "p50_ms", "p99_ms", "rebuild_events_per_s", "as_of_p50_ms", "as_of_p99_ms"] {
        assert!(report[field].as_f64().is_some_and(|value| value > 0.0), "{field} in {report}");
    }
    assert_eq!(report["commands"], 24 * 25);

    let (code, stdout, _) = run(kokuho(&db).arg("verify"));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("624 events, chain intact"), "{stdout}");

    // Backdating one event by a second, with plain SQL.
    assert_eq!(db.raw_execute("UPDATE events SET recorded_at = recorded_at - 1000000 WHERE position = 7").await, 1);
    let (code, stdout, _) = run(kokuho(&db).arg("verify"));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("position 7"), "{stdout}");
}

#[tokio::test]
async fn rebuild_prints_a_summary_and_replay_prints_a_person_as_recorded_then() {
    let db = TestDb::fresh().await;
    let ledgerd = kokuho::Ledgerd::open(&db.config(), kokuho_ledger::system_clock()).await.unwrap();
    let person = kokuho_domain::PersonId::new();
    ledgerd.ledger.execute(kumagaya(), person, register("熊谷 花子"), meta(None)).await.unwrap();
    ledgerd.ledger.execute(kumagaya(), person, acquire(), meta(None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    ledgerd.ledger.execute(kumagaya(), person, pay(7_000), meta(None)).await.unwrap();
    ledgerd.shutdown().await;

    let (code, stdout, stderr) = run(kokuho(&db).args(["rebuild", "--projection", "payment_totals"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rebuilt payment_totals from 3 events of 1 tenant(s)"), "{stdout}");
    let (code, _, stderr) = run(kokuho(&db).args(["rebuild", "--projection", "nonsense"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("no projection is called \"nonsense\""), "{stderr}");

    let as_of = between.to_rfc3339();
    let (code, stdout, stderr) =
        run(kokuho(&db).args(["replay", "--tenant", KUMAGAYA, "--person", &person.to_string(), "--as-of", &as_of]));
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
