//! An auditor's point-in-time replay, on an embedded ledger in a temporary directory.
//!
//!     cargo run --example auditor_replay
//!
//! A clerk registers a person and records their eligibility; later another clerk issues their
//! insurance card (被保険者証). The auditor asks what the ledger knew at an instant between the two
//! (transaction time), sees the full history with who recorded each fact and why, and verifies
//! the hash chain.

use kokuho_domain::person::Person;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use kokuho::{Config, Ledgerd, MasterKeySource};
use kokuho_domain::person::PersonCommand;
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
        checkpoint_key: kokuho::CheckpointKeySource::File(dir.path().join("checkpoint.key")),
        checkpoint_minutes: 10,
        merkle_tree: true,
        metrics_token: None,
        http: Default::default(),
        limits: Default::default(),
    };
    let ledgerd = Ledgerd::open(&config, kokuho_ledger::system_clock()).await?;
    let kumagaya = TenantCode::parse("112020")?;
    let person = PersonId::new();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");

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

    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let card = PersonCommand::IssueCertificate {
        certificate_no: "KG-000123".into(),
        issued_on: date(2025, 4, 10),
        valid_until: date(2026, 3, 31),
    };
    ledgerd.ledger.execute::<Person>(kumagaya, person, card, meta("clerk-suzuki", "eligibility")).await?;

    let then = ledgerd.ledger.replay::<Person>(kumagaya, person, Some(between), Decrypt::No).await?;
    let now = ledgerd.ledger.replay::<Person>(kumagaya, person, None, Decrypt::No).await?;
    println!(
        "as recorded at {between}: insured since {:?}, {} card(s)",
        then.state.insured_since,
        then.state.certificates.len()
    );
    println!(
        "as recorded now:  insured since {:?}, {} card(s): {:?}",
        now.state.insured_since,
        now.state.certificates.len(),
        now.state.certificates.iter().map(|card| card.certificate_no.as_str()).collect::<Vec<_>>()
    );
    println!("\nhistory (transaction time, who, why, what):");
    for (recorded, _) in &now.events {
        println!(
            "  #{:<3} {}  {:<20} {:<12} {}",
            recorded.position, recorded.recorded_at, recorded.actor, recorded.purpose, recorded.event_type
        );
    }

    let reports = ledgerd.store.verify(&mut |_, _| {}).await?;
    for (tenant, report) in reports {
        match report.first_break {
            None => println!("\ntenant {tenant}: {} events, hash chain intact", report.events),
            Some(chain_break) => println!("\ntenant {tenant}: {chain_break}"),
        }
    }
    ledgerd.shutdown().await;
    Ok(())
}
