//! `kokuho bench http` (issue 13): a small run of the clerk's mix over HTTP against kokuho's own
//! server completes on this backend with every request answered 2xx — in particular no 5xx for
//! concurrent acquisitions, which on PostgreSQL once deadlocked on the projections' checkpoint
//! rows and answered 500 for commands that had committed. Not timed: only what was answered.

use std::sync::Arc;

use kokuho::bench_http::{self, HttpBenchOptions, Kind, PAYMENTS_PER_CYCLE};

use crate::support::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_http_bench_answers_every_request_of_the_mix_without_a_5xx() {
    let db = TestDb::fresh().await;
    let options = HttpBenchOptions { persons: 24, connections: 8 };
    let report = bench_http::run(&db.config(), kokuho_rules::Rules::shipped(), &options, Arc::new(|_, _, _| {}))
        .await
        .expect("the bench runs");
    assert_eq!(report.server_errors, 0, "{:?}", report.non_2xx);
    assert!(report.non_2xx.is_empty(), "every request answered 2xx: {:?}", report.non_2xx);
    let of = |kind| report.kinds.iter().find(|k| k.kind == kind).unwrap().requests;
    assert_eq!(of(Kind::Register), 24);
    assert_eq!(of(Kind::AcquireEligibility), 24);
    assert_eq!(of(Kind::RecordPayment), 24 * PAYMENTS_PER_CYCLE);
    assert_eq!(of(Kind::ReadPerson), 24);
    assert_eq!(of(Kind::EligibilityAsOf), 24);
    assert_eq!(report.requests, 24 * (4 + PAYMENTS_PER_CYCLE));
    assert!(report.in_process_commands_per_s > 0.0);
    // Each read was recorded in the access record: the collection clerk's reads and the
    // eligibility clerk's as-of answers are in the ledger as access events.
    let store = db.store().await;
    let tenant = kokuho_domain::TenantCode::parse(kokuho::bench::BENCH_TENANT).unwrap();
    let (mut accesses, mut payments, mut households, mut person_payments) = (0, 0, 0, 0);
    let mut from = 0;
    loop {
        let page = store.read_clear_page(tenant, from, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.position;
        accesses += page.iter().filter(|event| event.stream_id.starts_with("access-")).count();
        let of_type = |event_type: &str| page.iter().filter(|event| event.event_type == event_type).count();
        payments += of_type("AccountPaymentReceived");
        households += of_type("HouseholdEstablished");
        person_payments += of_type("PaymentReceived");
    }
    assert!(accesses >= 2 * 24, "the reads were recorded as accesses ({accesses})");
    // The payments went to the households' accounts, over HTTP and in process; every bench
    // person heads its own household; nothing was paid on a person.
    assert_eq!(payments, 2 * 24 * PAYMENTS_PER_CYCLE);
    assert_eq!(households, 2 * 24);
    assert_eq!(person_payments, 0);
}

/// `kokuho bench scale` at two small sizes: each size runs in its own process, the table names
/// both, and the chart it draws has one point per size in each of its four panels.
#[test]
fn a_small_scale_run_reports_each_size_and_draws_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("scale.svg");
    let (code, stdout, stderr) = crate::support::output(
        std::process::Command::new(env!("CARGO_BIN_EXE_kokuho"))
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env("KOKUHO_LOG", "warn")
            .args(["bench", "scale", "--persons", "8,16", "--clients", "2", "--as-of-reads", "4", "--json"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--svg")
            .arg(&svg),
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.iter().map(|p| p["persons"].as_u64().unwrap()).collect::<Vec<_>>(), [8, 16]);
    for point in points {
        assert_eq!(point["commands"].as_u64().unwrap(), point["persons"].as_u64().unwrap() * 25);
        assert!(point["peak_rss_mb"].as_f64().unwrap() > 0.0, "{point}");
        assert!(point["peak_rss_mb_by_phase"]["commands"].as_f64().unwrap() > 0.0, "{point}");
    }
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(chart.matches("<circle").count(), 2 * 4, "{chart}");
    assert!(chart.contains("<title>16 persons:"));
    // The throwaway ledgers are removed after each size.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
