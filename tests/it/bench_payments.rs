//! `kokuho bench payments` on a small day: every payment is recorded once on its household's
//! account, and the accounts balance (Σ allocated + Σ overpayment = Σ paid). No timing is
//! asserted.

use std::sync::Arc;

use kokuho::bench_payments::{run, PaymentsOptions};

use crate::support::*;

#[tokio::test]
async fn a_small_day_of_payments_is_recorded_and_the_accounts_balance() {
    let db = TestDb::fresh().await;
    let options = PaymentsOptions { households: 20, payments: 100, clients: 4 };
    let report = run(&db.config(), kokuho_ledger::system_clock(), options, Arc::new(|_, _, _| {})).await.unwrap();
    assert_eq!((report.households, report.payments), (20, 100));
    assert_eq!(report.receipts_recorded, 100, "{report:?}");
    assert_eq!(report.received_yen, report.paid_yen, "{report:?}");
    assert_eq!(report.allocated_yen + report.overpayment_yen, report.paid_yen, "{report:?}");
    // 5 payments per household, each its next installment of 8: nothing overpaid.
    assert_eq!(report.overpayment_yen, 0, "{report:?}");
    assert!(report.balanced && report.paid_yen > 0, "{report:?}");
    // Counted in the database itself: one AccountPaymentReceived per payment.
    let recorded = db
        .raw_bytes(&format!(
            "SELECT event_id FROM events WHERE tenant = '{}' AND event_type = 'AccountPaymentReceived'",
            kokuho::bench::BENCH_TENANT
        ))
        .await;
    assert_eq!(recorded.len(), 100);
}
