//! Domain commands and metadata for tests that drive the ledger directly, and waiting.

use chrono::NaiveDate;
use kokuho_domain::person::PersonCommand;
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason, LedgerEvent, PaymentChannel, PaymentReceived, PersonDetails, Sex};
use kokuho_store::{Actor, AppendOutcome, AppendRequest, CommandMeta, ExpectedVersion};
use uuid::Uuid;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn meta(key: Option<&str>) -> CommandMeta {
    CommandMeta {
        actor: Actor::Staff("tester".into()),
        purpose: "eligibility".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: key.map(str::to_owned),
    }
}

pub fn register(name: &str) -> PersonCommand {
    PersonCommand::Register {
        atena_no: format!("A{}", &Uuid::new_v4().simple().to_string()[..9]),
        details: PersonDetails {
            name: name.to_owned(),
            name_kana: "クマガヤ ハナコ".into(),
            sex: Sex::Female,
            date_of_birth: date(1980, 5, 5),
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        },
        acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
    }
}

pub fn acquire() -> PersonCommand {
    PersonCommand::AcquireEligibility {
        reason: AcquisitionReason::MovedIn,
        event_date: date(2025, 4, 1),
        notified_on: date(2025, 4, 3),
        period_id: uuid::Uuid::now_v7(),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
        former_municipality: None,
        loss: None,
    }
}

/// A legacy fixture: a payment of `amount` yen for FY2025 on the person's own stream, as ledgers
/// recorded payments before the household account (`PaymentReceived`). No command records one
/// any more (payments go to the household's account), so it is appended through the store as an
/// older release wrote it; the tests that use it also check that such events are still read —
/// by the person's state, the `payment_totals` projection, retention and the person's record
/// (ARCHITECTURE.md, "Payments before the household account"). Answers the append.
pub async fn legacy_payment(
    ledger: &kokuho_ledger::Ledger,
    tenant: TenantCode,
    person: PersonId,
    amount: i64,
) -> AppendOutcome {
    let event = LedgerEvent::PaymentReceived(PaymentReceived {
        person_id: person.as_uuid(),
        fiscal_year: 2025,
        amount_yen: amount,
        received_on: date(2025, 7, 31),
        channel: PaymentChannel::BankTransfer,
    });
    let request = AppendRequest {
        stream_id: person.stream_id(),
        expected_version: ExpectedVersion::Any,
        meta: CommandMeta { purpose: "collection".into(), ..meta(None) },
        events: vec![kokuho_ledger::to_new_event(&event)],
        search_tokens: vec![],
        command_fingerprint: None,
    };
    ledger.store().append(tenant, request).await.expect("the legacy payment is appended")
}

/// Waits (bounded) until `check` holds; panics with `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
