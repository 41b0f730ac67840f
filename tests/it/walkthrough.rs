//! `examples/staff_walkthrough.rs`, the compiled example, against the real `kokuho serve` over
//! HTTP, signed in as an eligibility clerk created with `kokuho admin create-user` and enrolled
//! over HTTP with the enrolment code it printed.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// `cargo test` builds the examples next to the binaries: target/<profile>/examples/.
fn example(name: &str) -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_kokuho"));
    let path = binary
        .parent()
        .expect("the binary's directory")
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build the examples (cargo test --workspace, or cargo build --examples)",
        path.display()
    );
    path
}

/// The value after `label` on the line that starts with it.
fn printed<'a>(output: &'a str, label: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("{label:?} is not in {output}"))
}

#[tokio::test]
async fn the_staff_walkthrough_runs_against_a_live_server_and_shows_what_changed() {
    let db = TestDb::fresh().await;
    let created = kokuho(&db)
        .args([
            "admin",
            "create-user",
            "--tenant",
            KUMAGAYA,
            "--login",
            "clerk-walk",
            "--name",
            "熊谷 職員",
            "--role",
            "eligibility_clerk",
        ])
        .output()
        .expect("kokuho admin runs");
    let created_out = String::from_utf8_lossy(&created.stdout).into_owned();
    assert!(created.status.success(), "{created_out}{}", String::from_utf8_lossy(&created.stderr));
    let enrolment_code = printed(&created_out, "enrolment code:").to_owned();

    let server = serve(&db);
    let base = server.base.clone();
    let transport = Transport::Http { client: reqwest::Client::new(), base: base.clone() };
    let (password, secret) =
        enrol_over_http(&transport, KUMAGAYA, "clerk-walk", &enrolment_code, chrono::Utc::now).await;
    let secret = secret.to_base32().to_string();

    let walkthrough = tokio::task::spawn_blocking(move || {
        Command::new(example("staff_walkthrough"))
            .args(["--url", &base, "--tenant", KUMAGAYA, "--login", "clerk-walk"])
            .env("KOKUHO_PASSWORD", &password)
            .env("KOKUHO_TOTP_SECRET", &secret)
            .output()
            .expect("the example runs")
    })
    .await
    .unwrap();
    drop(server);
    let out = String::from_utf8_lossy(&walkthrough.stdout).into_owned();
    let err = String::from_utf8_lossy(&walkthrough.stderr).into_owned();
    assert!(walkthrough.status.success(), "the walk-through failed:\n{out}\n{err}");
    assert!(out.contains("role eligibility_clerk"), "{out}");
    assert!(out.contains("notified 2026-05-20, notification_late: true"), "the late notice is shown:\n{out}");
    assert!(out.contains("notified 2026-04-03, notification_late: false"), "{out}");
    assert!(out.contains("lost on 2026-10-01"), "{out}");
    // Each change is shown as the answer before → after.
    let changes = |from: &str, to: &str| {
        let change = format!("{from}  →  {to}   (changed)");
        out.lines().filter(|line| line.trim_start().starts_with("insured ") && line.ends_with(&change)).count()
    };
    assert_eq!(changes("false", "true"), 1, "the acquisition:\n{out}");
    assert_eq!(changes("true", "false"), 2, "the correction and the loss:\n{out}");
    let late_shown = out
        .lines()
        .any(|line| line.trim_start().starts_with("notification_late ") && line.ends_with("—  →  true   (changed)"));
    assert!(late_shown, "the answer shows the late notification:\n{out}");
    assert!(
        out.contains("—  →  moved_out on 2026-09-30, notified 2026-10-02, late false   (changed)"),
        "the loss in the answer:\n{out}"
    );
    assert!(out.contains("walk-through complete"), "{out}");
}
