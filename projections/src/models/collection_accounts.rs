//! `collection_accounts`: each household's account per fiscal year (収納) in totals — the tax
//! assessed, the installments' span, what was received (payments, and other years' overpayments
//! applied here), what was settled out (applied to other years, refunded), reminders — for the
//! arrears list and the household's years. The figures per installment (paid, in arrears, late
//! fees as of a day) are derived from the account's stream (`kokuho_domain::collection::Account`),
//! which answers `as_of` through `Ledger::replay`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kokuho_events::{LedgerEvent, SettlementKindRecorded};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct CollectionAccounts;

const TABLES: &[TableDef] = &[TableDef {
    name: "collection_accounts",
    ddl: &["CREATE TABLE {table} (
        tenant              TEXT   NOT NULL,
        household_id        TEXT   NOT NULL,
        fiscal_year         BIGINT NOT NULL,
        assessed_total_yen  BIGINT NOT NULL,
        installments        BIGINT NOT NULL,
        first_due           TEXT   NOT NULL,
        last_due            TEXT   NOT NULL,
        received_yen        BIGINT NOT NULL,
        payments            BIGINT NOT NULL,
        applied_in_yen      BIGINT NOT NULL,
        applied_out_yen     BIGINT NOT NULL,
        refunded_yen        BIGINT NOT NULL,
        reminders           BIGINT NOT NULL,
        last_position       BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, fiscal_year, household_id))"],
    columns: &[
        "tenant",
        "household_id",
        "fiscal_year",
        "assessed_total_yen",
        "installments",
        "first_due",
        "last_due",
        "received_yen",
        "payments",
        "applied_in_yen",
        "applied_out_yen",
        "refunded_yen",
        "reminders",
        "last_position",
    ],
    key: &["tenant", "fiscal_year", "household_id"],
}];

/// One household's account of a fiscal year, in totals.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionAccountRow {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub assessed_total_yen: i64,
    pub installments: i64,
    pub first_due: NaiveDate,
    pub last_due: NaiveDate,
    /// Σ payments received (not counting other years' overpayments applied here).
    pub received_yen: i64,
    pub payments: i64,
    pub applied_in_yen: i64,
    pub applied_out_yen: i64,
    pub refunded_yen: i64,
    pub reminders: i64,
}

macro_rules! upsert {
    ($schedule:literal) => {
        concat!(
            "ON CONFLICT (tenant, fiscal_year, household_id) DO UPDATE SET ",
            $schedule,
            "received_yen = {table}.received_yen + excluded.received_yen, ",
            "payments = {table}.payments + excluded.payments, ",
            "applied_in_yen = {table}.applied_in_yen + excluded.applied_in_yen, ",
            "applied_out_yen = {table}.applied_out_yen + excluded.applied_out_yen, ",
            "refunded_yen = {table}.refunded_yen + excluded.refunded_yen, ",
            "reminders = {table}.reminders + excluded.reminders, ",
            "last_position = excluded.last_position"
        )
    };
}
const UPSERT_SETTING_SCHEDULE: &str = upsert!(
    "assessed_total_yen = excluded.assessed_total_yen, installments = excluded.installments, \
     first_due = excluded.first_due, last_due = excluded.last_due, "
);
const UPSERT_KEEPING_SCHEDULE: &str = upsert!("");

#[derive(Default)]
struct Change {
    /// (assessed, installments, first due, last due) when (re)scheduled in the page.
    schedule: Option<(i64, i64, NaiveDate, NaiveDate)>,
    received: i64,
    payments: i64,
    applied_in: i64,
    applied_out: i64,
    refunded: i64,
    reminders: i64,
    position: i64,
}

fn entry(changes: &mut BTreeMap<(i32, Uuid), Change>, key: (i32, Uuid), position: i64) -> &mut Change {
    let change = changes.entry(key).or_default();
    change.position = position;
    change
}

fn span(installments: &[kokuho_events::AccountInstallment]) -> (NaiveDate, NaiveDate) {
    let first = installments.iter().map(|i| i.due_on).min().unwrap_or(NaiveDate::MIN);
    let last = installments.iter().map(|i| i.due_on).max().unwrap_or(NaiveDate::MIN);
    (first, last)
}

impl Projection for CollectionAccounts {
    fn name(&self) -> &'static str {
        "collection_accounts"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        let mut changes: BTreeMap<(i32, Uuid), Change> = BTreeMap::new();
        for projected in events {
            let position = projected.position;
            match &projected.event {
                LedgerEvent::AccountScheduled(e) => {
                    let (first, last) = span(&e.installments);
                    entry(&mut changes, (e.fiscal_year, e.household_id), position).schedule =
                        Some((e.assessed_total_yen, e.installments.len() as i64, first, last));
                }
                LedgerEvent::AccountRespread(e) => {
                    let (first, last) = span(&e.installments);
                    entry(&mut changes, (e.fiscal_year, e.household_id), position).schedule =
                        Some((e.assessed_total_yen, e.installments.len() as i64, first, last));
                }
                LedgerEvent::AccountPaymentReceived(e) => {
                    let change = entry(&mut changes, (e.fiscal_year, e.household_id), position);
                    change.received = change.received.saturating_add(e.amount_yen);
                    change.payments += 1;
                }
                LedgerEvent::OverpaymentSettled(e) => {
                    let change = entry(&mut changes, (e.fiscal_year, e.household_id), position);
                    match e.settlement {
                        SettlementKindRecorded::Applied => change.applied_out += e.amount_yen,
                        SettlementKindRecorded::Refunded => change.refunded += e.amount_yen,
                    }
                }
                LedgerEvent::OverpaymentApplied(e) => {
                    entry(&mut changes, (e.fiscal_year, e.household_id), position).applied_in += e.amount_yen;
                }
                LedgerEvent::CollectionReminderIssued(e) => {
                    entry(&mut changes, (e.fiscal_year, e.household_id), position).reminders += 1;
                }
                _ => {}
            }
        }
        for ((fiscal_year, household_id), change) in changes {
            let (assessed, count, first, last) = change.schedule.unwrap_or((0, 0, NaiveDate::MIN, NaiveDate::MIN));
            let upsert = if change.schedule.is_some() { UPSERT_SETTING_SCHEDULE } else { UPSERT_KEEPING_SCHEDULE };
            out.insert(
                "collection_accounts",
                "INSERT INTO {table} (tenant, household_id, fiscal_year, assessed_total_yen, installments, first_due, \
                 last_due, received_yen, payments, applied_in_yen, applied_out_yen, refunded_yen, reminders, last_position)",
                upsert,
                vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Text(household_id.to_string()),
                    SqlValue::Int(i64::from(fiscal_year)),
                    SqlValue::Int(assessed),
                    SqlValue::Int(count),
                    SqlValue::Text(first.to_string()),
                    SqlValue::Text(last.to_string()),
                    SqlValue::Int(change.received),
                    SqlValue::Int(change.payments),
                    SqlValue::Int(change.applied_in),
                    SqlValue::Int(change.applied_out),
                    SqlValue::Int(change.refunded),
                    SqlValue::Int(change.reminders),
                    SqlValue::Int(change.position),
                ],
            );
        }
    }
}

type Row = (String, i64, i64, i64, String, String, i64, i64, i64, i64, i64, i64);

const SELECT: &str = "SELECT household_id, fiscal_year, assessed_total_yen, installments, first_due, last_due, \
                      received_yen, payments, applied_in_yen, applied_out_yen, refunded_yen, reminders \
                      FROM collection_accounts";

fn row(row: Row) -> Result<CollectionAccountRow, ProjectionError> {
    let (
        household,
        year,
        assessed,
        installments,
        first,
        last,
        received,
        payments,
        applied_in,
        applied_out,
        refunded,
        reminders,
    ) = row;
    let bad = |what: &str| ProjectionError::Corrupt(format!("collection_accounts.{what} does not parse"));
    Ok(CollectionAccountRow {
        household_id: Uuid::parse_str(&household).map_err(|_| bad("household_id"))?,
        fiscal_year: i32::try_from(year).map_err(|_| bad("fiscal_year"))?,
        assessed_total_yen: assessed,
        installments,
        first_due: first.parse().map_err(|_| bad("first_due"))?,
        last_due: last.parse().map_err(|_| bad("last_due"))?,
        received_yen: received,
        payments,
        applied_in_yen: applied_in,
        applied_out_yen: applied_out,
        refunded_yen: refunded,
        reminders,
    })
}

impl CollectionAccounts {
    /// The household's accounts, by fiscal year.
    pub async fn of_household(
        db: &Db,
        tenant: &str,
        household_id: Uuid,
    ) -> Result<Vec<CollectionAccountRow>, ProjectionError> {
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT} WHERE tenant = $1 AND household_id = $2 ORDER BY fiscal_year"))
                .bind(tenant)
                .bind(household_id.to_string())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(row).collect()
    }

    /// The accounts with an installment due before `on` (the candidates of the arrears list on
    /// that day), by (fiscal year, household), after `after` when given, at most `limit`.
    pub async fn with_installments_due_before(
        db: &Db,
        tenant: &str,
        on: NaiveDate,
        after: Option<(i32, Uuid)>,
        limit: i64,
    ) -> Result<Vec<CollectionAccountRow>, ProjectionError> {
        let (after_year, after_household) =
            after.map_or((i64::MIN, String::new()), |(year, household)| (i64::from(year), household.to_string()));
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(&format!(
                "{SELECT} WHERE tenant = $1 AND first_due < $2 AND installments > 0 \
                 AND (fiscal_year > $3 OR (fiscal_year = $3 AND household_id > $4)) \
                 ORDER BY fiscal_year, household_id LIMIT $5"
            ))
            .bind(tenant)
            .bind(on.to_string())
            .bind(after_year)
            .bind(after_household)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(row).collect()
    }
}
