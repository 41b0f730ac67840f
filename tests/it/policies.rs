//! Policies follow the ledger: a consequence (the 70–74 share decision after an acquisition)
//! issued after a crash that came between the command and its consequence, exactly once, also
//! when the crash came after the consequence but before the policy's checkpoint.

use kokuho_domain::person::Person;

use kokuho::Ledgerd;
use kokuho_domain::person::PersonCommand;
use kokuho_domain::PersonId;
use kokuho_events::{Acquisition, AcquisitionReason, PersonDetails, Sex};
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::support::*;

fn source() -> Acquisition {
    Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() }
}

/// Registers a person born on 1954-05-20 (70–74 share from 2024-06-01) and records that they
/// moved in on 2024-04-01: the command whose consequence is a 70–74 share decision.
async fn acquisition_of_a_70_year_old(ledgerd: &Ledgerd) -> PersonId {
    let person = PersonId::new();
    let register = PersonCommand::Register {
        atena_no: format!("A{}", &Uuid::new_v4().simple().to_string()[..9]),
        details: PersonDetails {
            name: "熊谷 一郎".into(),
            name_kana: "クマガヤ イチロウ".into(),
            sex: Sex::Male,
            date_of_birth: date(1954, 5, 20),
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        },
        acquisition: source(),
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, register, meta(None)).await.unwrap();
    let acquire = PersonCommand::AcquireEligibility {
        period_id: Uuid::now_v7(),
        reason: AcquisitionReason::MovedIn,
        event_date: date(2024, 4, 1),
        notified_on: date(2024, 4, 1),
        acquisition: source(),
        former_municipality: None,
        loss: None,
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, acquire, meta(None)).await.unwrap();
    person
}

async fn share_decisions(ledgerd: &Ledgerd, person: PersonId) -> Vec<(String, String)> {
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), person, None, Decrypt::No).await.unwrap();
    view.events
        .iter()
        .filter(|(recorded, _)| recorded.event_type == "ElderlyCostShareDecided")
        .map(|(recorded, _)| {
            let payload: serde_json::Value = serde_json::from_slice(&recorded.payload).unwrap();
            (payload["valid_from"].as_str().unwrap().to_owned(), recorded.actor.clone())
        })
        .collect()
}

#[tokio::test]
async fn a_consequence_lost_to_a_crash_is_issued_after_the_restart_exactly_once() {
    let db = TestDb::fresh().await;
    let today = date(2025, 9, 10);
    // The process records the command and dies before any policy reacts to it.
    let crashed = ledgerd_on(&db, today).await;
    let person = acquisition_of_a_70_year_old(&crashed).await;
    assert!(share_decisions(&crashed, person).await.is_empty(), "no consequence before the crash");
    drop(crashed);

    // After the restart the policy reacts: the share decided from reaching 70, each 1 August since,
    // by the policy (its own actor).
    let ledgerd = restarted(&db, today).await;
    let decisions = share_decisions(&ledgerd, person).await;
    let days: Vec<&str> = decisions.iter().map(|(day, _)| day.as_str()).collect();
    assert_eq!(days, ["2024-06-01", "2024-08-01", "2025-08-01"], "{decisions:?}");
    assert!(decisions.iter().all(|(_, actor)| actor == "system:policy:elderly_share"), "{decisions:?}");
    // The policy's lag is in /metrics.
    let mut metrics = String::new();
    prometheus_client::encoding::text::encode(&mut metrics, &ledgerd.registry).unwrap();
    assert!(metrics.contains("kokuho_policy_lag_events{policy=\"elderly_share\",tenant=\"112020\"} 0"), "{metrics}");
    ledgerd.shutdown().await;

    // A crash after the consequences but before the checkpoint: the policy reacts again to the
    // same event, and its idempotency keys keep the consequences single.
    let store = db.store().await;
    kokuho_store::on_db!(store.db(), pool => {
        sqlx::query("UPDATE policy_checkpoints SET position = 0").execute(pool).await.unwrap();
    });
    store.db().close().await;
    let ledgerd = restarted(&db, today).await;
    assert_eq!(share_decisions(&ledgerd, person).await, decisions, "each consequence once");
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn kokuho_policies_lists_the_lag_and_a_rerun_issues_nothing_twice() {
    let db = TestDb::fresh().await;
    let crashed = ledgerd_on(&db, date(2025, 9, 10)).await;
    let person = acquisition_of_a_70_year_old(&crashed).await;
    crashed.shutdown().await;

    let (code, listed, stderr) = output(kokuho(&db).args(["policies", "list"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(listed.contains("elderly_share tenant 112020: reacted up to position 0 of 2 (lag 2)"), "{listed}");

    let (code, ran, stderr) = output(kokuho(&db).args(["policies", "run"]));
    assert_eq!(code, 0, "{stderr}");
    // Each policy reads the two events.
    let read = format!("{} events read", 2 * kokuho_ledger::policies::all().len());
    assert!(ran.contains(&read), "{ran}");
    let ledgerd = ledgerd_on(&db, date(2025, 9, 10)).await;
    let first = share_decisions(&ledgerd, person).await;
    assert!(!first.is_empty(), "the run recorded the consequence");
    ledgerd.shutdown().await;

    // From the first event again: every event read again, nothing recorded twice.
    let (code, again, stderr) = output(kokuho(&db).args(["policies", "run", "--from", "0"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(again.contains("0 consequences recorded"), "{again}");
    let ledgerd = ledgerd_on(&db, date(2025, 9, 10)).await;
    assert_eq!(share_decisions(&ledgerd, person).await, first);
    ledgerd.shutdown().await;

    let (_, listed, _) = output(kokuho(&db).args(["policies", "list"]));
    assert!(listed.contains("(lag 0)"), "{listed}");
}

/// Policies at different checkpoints (one rewound, one never started, one at the head) catch up
/// from one read of each page: each reacts only to the events after its own checkpoint, and every
/// checkpoint reaches the head in the one write a page (on both backends).
#[tokio::test]
async fn policies_at_different_checkpoints_each_react_to_their_own_events_once() {
    let db = TestDb::fresh().await;
    let crashed = ledgerd_on(&db, date(2025, 9, 10)).await;
    let person = acquisition_of_a_70_year_old(&crashed).await;
    crashed.shutdown().await;
    // Twice: the second run reads the consequences the first recorded; every policy is at the head.
    for _ in 0..2 {
        let (code, _, stderr) = output(kokuho(&db).args(["policies", "run"]));
        assert_eq!(code, 0, "{stderr}");
    }
    let ledgerd = ledgerd_on(&db, date(2025, 9, 10)).await;
    let first = share_decisions(&ledgerd, person).await;
    ledgerd.shutdown().await;

    let store = db.store().await;
    let head = store.head(kumagaya()).await.unwrap();
    kokuho_store::on_db!(store.db(), pool => {
        sqlx::query("UPDATE policy_checkpoints SET position = 1 WHERE policy = 'elderly_share'")
            .execute(pool).await.unwrap();
        sqlx::query("DELETE FROM policy_checkpoints WHERE policy = 'collection'").execute(pool).await.unwrap();
    });
    store.db().close().await;
    let (code, ran, stderr) = output(kokuho(&db).args(["policies", "run"]));
    assert_eq!(code, 0, "{stderr}");
    // elderly_share reads the events after position 1, collection all of them, tax_reassessment none.
    let read = format!("{} events read", (head - 1) + head);
    assert!(ran.contains(&read), "{ran} (head {head})");
    assert!(ran.contains("0 consequences recorded"), "{ran}");
    let (_, listed, _) = output(kokuho(&db).args(["policies", "list"]));
    assert_eq!(listed.matches("(lag 0)").count(), kokuho_ledger::policies::all().len(), "{listed}");
    let ledgerd = ledgerd_on(&db, date(2025, 9, 10)).await;
    assert_eq!(share_decisions(&ledgerd, person).await, first);
    ledgerd.shutdown().await;
}
