//! `collection_accounts`: each household's account per fiscal year (収納) in totals — the tax
//! assessed, the installments' span, what was received (payments, and other years' overpayments
//! applied here), what was settled out (applied to other years, refunded), reminders — for the
//! arrears list and the household's years; `collection_installments` (each installment in the
//! order payments fill them, with the running total up to it) and `collection_entries` (each
//! credit and settlement, dated) say which accounts can be in arrears on a day without
//! replaying any. The figures per installment (paid, in arrears, late fees as of a day) are
//! derived from the account's stream (`kokuho_domain::collection::Account`), which answers
//! `as_of` through `Ledger::replay`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kokuho_events::{LedgerEvent, SettlementKindRecorded};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct CollectionAccounts;

const TABLES: &[TableDef] = &[
    TableDef {
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
        opened_at           BIGINT NOT NULL,
        installments_at     BIGINT NOT NULL,
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
            "opened_at",
            "installments_at",
            "last_position",
        ],
        key: &["tenant", "fiscal_year", "household_id"],
    },
    TableDef {
        name: "collection_installments",
        // The installments of each schedule and re-spread, under its event's position
        // (`restated_at`; the account's `installments_at` names those in force). `running_yen`:
        // Σ amounts of this installment and those before it in the order credits fill them (due
        // date, then number). `ordinary`: 1, or 0 for one withheld from the pension (never the
        // household's arrears).
        ddl: &["CREATE TABLE {table} (
            tenant        TEXT   NOT NULL,
            household_id  TEXT   NOT NULL,
            fiscal_year   BIGINT NOT NULL,
            restated_at   BIGINT NOT NULL,
            number        BIGINT NOT NULL,
            due_on        TEXT   NOT NULL,
            amount_yen    BIGINT NOT NULL,
            running_yen   BIGINT NOT NULL,
            ordinary      BIGINT NOT NULL,
            CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, fiscal_year, household_id, restated_at, number))"],
        columns: &[
            "tenant",
            "household_id",
            "fiscal_year",
            "restated_at",
            "number",
            "due_on",
            "amount_yen",
            "running_yen",
            "ordinary",
        ],
        key: &["tenant", "fiscal_year", "household_id", "restated_at", "number"],
    },
    TableDef {
        name: "collection_entries",
        // One row per credit (a payment, another year's overpayment applied here: positive) or
        // settlement (applied elsewhere, refunded: negative), dated, keyed by its event's position
        // (those before the account's `opened_at`, its schedule, are not the account's).
        ddl: &["CREATE TABLE {table} (
            tenant        TEXT   NOT NULL,
            household_id  TEXT   NOT NULL,
            fiscal_year   BIGINT NOT NULL,
            position      BIGINT NOT NULL,
            entered_on    TEXT   NOT NULL,
            amount_yen    BIGINT NOT NULL,
            CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, fiscal_year, household_id, position))"],
        columns: &["tenant", "household_id", "fiscal_year", "position", "entered_on", "amount_yen"],
        key: &["tenant", "fiscal_year", "household_id", "position"],
    },
];

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
            "opened_at = CASE WHEN excluded.opened_at > {table}.opened_at ",
            "THEN excluded.opened_at ELSE {table}.opened_at END, ",
            "last_position = excluded.last_position"
        )
    };
}
const UPSERT_SETTING_SCHEDULE: &str = upsert!(
    "assessed_total_yen = excluded.assessed_total_yen, installments = excluded.installments, \
     first_due = excluded.first_due, last_due = excluded.last_due, installments_at = excluded.installments_at, "
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
    /// The position of the schedule in the page (0: none), and of the schedule or re-spread
    /// whose installments are in force.
    opened_at: i64,
    installments_at: i64,
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

/// The installments of a schedule or re-spread recorded at `position` (which replace those
/// before: the account's `installments_at`), in the order credits fill them, each with the
/// running total up to it. Nothing is deleted, so a rebuild only inserts.
fn restate_installments(
    out: &mut Writes,
    tenant: &str,
    (fiscal_year, household_id): (i32, Uuid),
    position: i64,
    installments: &[kokuho_events::AccountInstallment],
) {
    let mut ordered: Vec<_> = installments.iter().collect();
    ordered.sort_by_key(|installment| (installment.due_on, installment.number));
    let mut running: i64 = 0;
    for installment in ordered {
        running = running.saturating_add(installment.amount_yen);
        let ordinary = installment.method == kokuho_events::InstallmentMethod::Ordinary;
        out.insert(
            "collection_installments",
            "INSERT INTO {table} (tenant, household_id, fiscal_year, restated_at, number, due_on, amount_yen, \
             running_yen, ordinary)",
            "",
            vec![
                SqlValue::Text(tenant.to_owned()),
                SqlValue::Text(household_id.to_string()),
                SqlValue::Int(i64::from(fiscal_year)),
                SqlValue::Int(position),
                SqlValue::Int(i64::from(installment.number)),
                SqlValue::Text(installment.due_on.to_string()),
                SqlValue::Int(installment.amount_yen),
                SqlValue::Int(running),
                SqlValue::Int(i64::from(ordinary)),
            ],
        );
    }
}

/// A credit (positive) or a settlement (negative) of the account on `on`.
fn enter(
    out: &mut Writes,
    tenant: &str,
    (fiscal_year, household_id): (i32, Uuid),
    position: i64,
    on: NaiveDate,
    amount: i64,
) {
    out.insert(
        "collection_entries",
        "INSERT INTO {table} (tenant, household_id, fiscal_year, position, entered_on, amount_yen)",
        "",
        vec![
            SqlValue::Text(tenant.to_owned()),
            SqlValue::Text(household_id.to_string()),
            SqlValue::Int(i64::from(fiscal_year)),
            SqlValue::Int(position),
            SqlValue::Text(on.to_string()),
            SqlValue::Int(amount),
        ],
    );
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
                    let account = (e.fiscal_year, e.household_id);
                    let change = entry(&mut changes, account, position);
                    change.schedule = Some((e.assessed_total_yen, e.installments.len() as i64, first, last));
                    // A schedule opens the account: credits before it are not its own, as the
                    // aggregate replays it.
                    change.opened_at = position;
                    change.installments_at = position;
                    restate_installments(out, tenant, account, position, &e.installments);
                }
                LedgerEvent::AccountRespread(e) => {
                    let (first, last) = span(&e.installments);
                    let account = (e.fiscal_year, e.household_id);
                    let change = entry(&mut changes, account, position);
                    change.schedule = Some((e.assessed_total_yen, e.installments.len() as i64, first, last));
                    change.installments_at = position;
                    restate_installments(out, tenant, account, position, &e.installments);
                }
                LedgerEvent::AccountPaymentReceived(e) => {
                    let account = (e.fiscal_year, e.household_id);
                    let change = entry(&mut changes, account, position);
                    change.received = change.received.saturating_add(e.amount_yen);
                    change.payments += 1;
                    enter(out, tenant, account, position, e.received_on, e.amount_yen);
                }
                LedgerEvent::OverpaymentSettled(e) => {
                    let account = (e.fiscal_year, e.household_id);
                    let change = entry(&mut changes, account, position);
                    match e.settlement {
                        SettlementKindRecorded::Applied => change.applied_out += e.amount_yen,
                        SettlementKindRecorded::Refunded => change.refunded += e.amount_yen,
                    }
                    enter(out, tenant, account, position, e.decided_on, -e.amount_yen);
                }
                LedgerEvent::OverpaymentApplied(e) => {
                    let account = (e.fiscal_year, e.household_id);
                    entry(&mut changes, account, position).applied_in += e.amount_yen;
                    enter(out, tenant, account, position, e.applied_on, e.amount_yen);
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
                 last_due, received_yen, payments, applied_in_yen, applied_out_yen, refunded_yen, reminders, opened_at, \
                 installments_at, last_position)",
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
                    SqlValue::Int(change.opened_at),
                    SqlValue::Int(change.installments_at),
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

    /// The accounts that can be in arrears on `on` (the candidates of the arrears list on that
    /// day), by (fiscal year, household), after `after` when given, at most `limit`: those whose
    /// credits less settlements dated on or before `on` fall short of the running total up to
    /// their last ordinary installment due before `on`. Credits fill the installments in order
    /// (due date, then number) and a settlement takes back at most its amount, so an account
    /// not listed has every ordinary installment due before `on` paid by then; one listed
    /// almost always has one unpaid (`Account::arrears` of its replay is exact).
    pub async fn in_arrears_on(
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
                "{SELECT} a WHERE tenant = $1 AND first_due < $2 AND installments > 0 \
                 AND (fiscal_year > $3 OR (fiscal_year = $3 AND household_id > $4)) \
                 AND COALESCE((SELECT MAX(i.running_yen) FROM collection_installments i \
                               WHERE i.tenant = a.tenant AND i.fiscal_year = a.fiscal_year \
                               AND i.household_id = a.household_id AND i.restated_at = a.installments_at \
                               AND i.ordinary = 1 AND i.due_on < $2), 0) \
                   > COALESCE((SELECT SUM(c.amount_yen) FROM collection_entries c \
                               WHERE c.tenant = a.tenant AND c.fiscal_year = a.fiscal_year \
                               AND c.household_id = a.household_id AND c.position > a.opened_at \
                               AND c.entered_on <= $2), 0) \
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
