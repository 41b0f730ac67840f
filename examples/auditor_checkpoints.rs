//! An auditor who keeps signed checkpoints, on an embedded ledger in a temporary directory.
//!
//!     cargo run --example auditor_checkpoints
//!
//! Last month the auditor took a signed checkpoint away. This month they ask for a new one and
//! for the proof that the ledger only grew in between (consistency), then check that each of a
//! person's events is in the ledger the checkpoint signed (inclusion), and replay the person as
//! the ledger had recorded them at a past instant — from events that were each proved. Every
//! check is `kokuho_audit`'s offline verifier, with the municipality's public key only; over HTTP
//! the same proofs come from `GET /v1/{tenant}/audit/checkpoint`, `…/audit/consistency` and
//! `…/audit/inclusion`, and `kokuho audit verify` checks them from files.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use kokuho::{CheckpointKeySource, Config, Ledgerd, MasterKeySource};
use kokuho_audit::verify::{verify_consistency, verify_inclusion};
use kokuho_audit::{origin_for, Checkpoint};
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason, PersonDetails, Sex};
use kokuho_store::{Actor, CommandMeta, Decrypt};

fn meta(clerk: &str, purpose: &str) -> CommandMeta {
    CommandMeta {
        actor: Actor::Staff(clerk.into()),
        purpose: purpose.into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("ledger.db").display()),
        master_key: MasterKeySource::File(dir.path().join("master.key")),
        checkpoint_key: CheckpointKeySource::File(dir.path().join("checkpoint.key")),
        checkpoint_minutes: 10,
        merkle_tree: true,
        metrics_token: None,
        http: Default::default(),
        limits: Default::default(),
    };
    let ledgerd = Ledgerd::open(&config, kokuho_ledger::system_clock()).await?;
    let kumagaya = TenantCode::parse("112020")?;
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    // What the municipality publishes for auditors, out of band (`kokuho audit public-key`).
    let public_key = ledgerd.checkpoint_key.verifier_key(&origin_for("112020"));
    println!("the municipality's checkpoint key: {public_key}");

    // Last month: a person is registered and becomes insured.
    let person = PersonId::new();
    let register = PersonCommand::Register {
        atena_no: "000123".into(),
        details: PersonDetails {
            name: "熊谷 花子".into(),
            name_kana: "クマガヤ ハナコ".into(),
            sex: Sex::Female,
            date_of_birth: date(1980, 5, 5),
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        },
        acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
    };
    ledgerd.ledger.execute::<Person>(kumagaya, person, register, meta("clerk-sato", "eligibility")).await?;
    let acquire = PersonCommand::AcquireEligibility {
        reason: AcquisitionReason::MovedIn,
        event_date: date(2025, 4, 1),
        notified_on: date(2025, 4, 3),
        period_id: uuid::Uuid::now_v7(),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
        former_municipality: None,
        loss: None,
    };
    ledgerd.ledger.execute::<Person>(kumagaya, person, acquire, meta("clerk-sato", "eligibility")).await?;
    let published = ledgerd.store.publish_checkpoint(kumagaya, &ledgerd.checkpoint_key).await?;
    // The auditor keeps the signed note itself, nothing else.
    let last_month_note = published.note.clone();
    println!("\nlast month's checkpoint, kept by the auditor:\n{last_month_note}");

    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // This month: the person's insurance card (被保険者証), and more work on the ledger.
    let card = PersonCommand::IssueCertificate {
        certificate_no: "KG-000123".into(),
        issued_on: date(2025, 4, 10),
        valid_until: date(2026, 3, 31),
    };
    ledgerd.ledger.execute::<Person>(kumagaya, person, card, meta("clerk-suzuki", "eligibility")).await?;
    let this_month_note = ledgerd.store.publish_checkpoint(kumagaya, &ledgerd.checkpoint_key).await?.note;

    // The auditor's checks: signatures, then consistency with what they kept.
    let last_month = Checkpoint::open(&last_month_note, &public_key)?;
    let this_month = Checkpoint::open(&this_month_note, &public_key)?;
    let proof = ledgerd.store.consistency_proof(kumagaya, last_month.size, this_month.size).await?;
    verify_consistency(&last_month, &this_month, &proof)?;
    println!(
        "consistent: this month's ledger of {} events extends last month's {} ({} hashes of proof)",
        this_month.size,
        last_month.size,
        proof.path.len()
    );

    // Inclusion of each of the person's events in this month's checkpoint.
    let stream = ledgerd.store.read_stream(kumagaya, &format!("person-{person}"), Decrypt::No).await?;
    let mut proved = Vec::new();
    for event in &stream {
        let proof = ledgerd.store.inclusion_proof(kumagaya, event.position, this_month.size).await?;
        verify_inclusion(&this_month, &proof)?;
        println!("included: #{} {} ({} hashes of proof)", event.position, event.event_type, proof.path.len());
        proved.push(proof.event);
    }

    // The person as recorded at an instant between the two checkpoints: every event the replay
    // folds is one whose content was just proved (same chain hash).
    let then = ledgerd.ledger.replay::<Person>(kumagaya, person, Some(between), Decrypt::No).await?;
    for (recorded, _) in &then.events {
        let proved = proved.iter().find(|event| event.position == recorded.position);
        anyhow::ensure!(
            proved.is_some_and(|event| event.hash == hex::encode(recorded.hash)),
            "position {} was not proved",
            recorded.position
        );
    }
    println!(
        "\nas recorded at {between}: {} event(s), each proved; insured since {:?}, {} card(s)",
        then.events.len(),
        then.state.insured_since,
        then.state.certificates.len()
    );
    ledgerd.shutdown().await;
    Ok(())
}
