//! `payment_totals`: what each person paid per fiscal year (収納).
//!
//! A page of payments is folded in memory first, so a rebuild writes one upsert per person and
//! year per page rather than one per payment.

use std::collections::BTreeMap;

use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct PaymentTotals;

const TABLES: &[TableDef] = &[TableDef {
    name: "payment_totals",
    ddl: &["CREATE TABLE {table} (
        tenant       TEXT   NOT NULL,
        person_id    TEXT   NOT NULL,
        fiscal_year  BIGINT NOT NULL,
        paid_yen     BIGINT NOT NULL,
        payments     BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id, fiscal_year))"],
    columns: &["tenant", "person_id", "fiscal_year", "paid_yen", "payments"],
    key: &["tenant", "person_id", "fiscal_year"],
}];

impl Projection for PaymentTotals {
    fn name(&self) -> &'static str {
        "payment_totals"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        // BTreeMap: the writes come out in key order, the same on every path.
        let mut totals: BTreeMap<(Uuid, i32), (i64, i64)> = BTreeMap::new();
        for projected in events {
            if let LedgerEvent::PaymentReceived(event) = &projected.event {
                let entry = totals.entry((event.person_id, event.fiscal_year)).or_default();
                entry.0 = entry.0.saturating_add(event.amount_yen);
                entry.1 += 1;
            }
        }
        for ((person_id, fiscal_year), (paid_yen, payments)) in totals {
            out.insert(
                "payment_totals",
                "INSERT INTO {table} (tenant, person_id, fiscal_year, paid_yen, payments)",
                "ON CONFLICT (tenant, person_id, fiscal_year) DO UPDATE SET paid_yen = {table}.paid_yen + excluded.paid_yen, payments = {table}.payments + excluded.payments",
                vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Text(person_id.to_string()),
                    SqlValue::Int(i64::from(fiscal_year)),
                    SqlValue::Int(paid_yen),
                    SqlValue::Int(payments),
                ],
            );
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentTotalRow {
    pub fiscal_year: i32,
    pub paid_yen: i64,
    pub payments: i64,
}

impl PaymentTotals {
    pub async fn of_person(db: &Db, tenant: &str, person_id: Uuid) -> Result<Vec<PaymentTotalRow>, ProjectionError> {
        let rows: Vec<(i64, i64, i64)> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT fiscal_year, paid_yen, payments FROM payment_totals \
                 WHERE tenant = $1 AND person_id = $2 ORDER BY fiscal_year",
            )
            .bind(tenant)
            .bind(person_id.to_string())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(fiscal_year, paid_yen, payments)| PaymentTotalRow {
                fiscal_year: fiscal_year as i32,
                paid_yen,
                payments,
            })
            .collect())
    }
}
