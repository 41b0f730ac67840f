//! `elderly_cost_shares`: the 70–74 cost-share decisions (前期高齢者の一部負担金割合), one row per
//! decision, and the table in force on a day: per person, the decision with the latest
//! `valid_from` on or before that day, the latest recorded among equals (a re-decision of the
//! same day supersedes the earlier one). This mirrors `PersonState::elderly_share_on`.
//!
//! Nothing personal: the decision records the rule's branch (`basis`), the income year and the
//! rules' hash; the income figures compared stay sealed in the income reports.

use chrono::NaiveDate;
use kokuho_events::{CostShare, LedgerEvent};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::models::eligibility_periods::{enum_text, parse_date, parse_enum};
use crate::models::person_registry::parse_uuid;
use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct ElderlyCostShares;

const TABLES: &[TableDef] = &[TableDef {
    name: "elderly_cost_shares",
    ddl: &["CREATE TABLE {table} (
        tenant        TEXT   NOT NULL,
        person_id     TEXT   NOT NULL,
        valid_from    TEXT   NOT NULL,
        position      BIGINT NOT NULL,
        share         TEXT   NOT NULL,
        basis         TEXT   NOT NULL,
        household_id  TEXT,
        income_year   BIGINT NOT NULL,
        rules_sha256  TEXT   NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id, valid_from, position))"],
    columns: &[
        "tenant",
        "person_id",
        "valid_from",
        "position",
        "share",
        "basis",
        "household_id",
        "income_year",
        "rules_sha256",
    ],
    key: &["tenant", "person_id", "valid_from", "position"],
}];

impl Projection for ElderlyCostShares {
    fn name(&self) -> &'static str {
        "elderly_cost_shares"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        for projected in events {
            if let LedgerEvent::ElderlyCostShareDecided(e) = &projected.event {
                out.insert(
                    "elderly_cost_shares",
                    "INSERT INTO {table} (tenant, person_id, valid_from, position, share, basis, household_id, income_year, rules_sha256)",
                    "",
                    vec![
                        SqlValue::Text(tenant.to_owned()),
                        SqlValue::Text(e.person_id.to_string()),
                        SqlValue::Text(e.valid_from.to_string()),
                        SqlValue::Int(projected.position),
                        enum_text(e.share),
                        SqlValue::Text(e.basis.clone()),
                        e.household_id.map_or(SqlValue::NullText, |id| SqlValue::Text(id.to_string())),
                        SqlValue::Int(i64::from(e.income_year)),
                        SqlValue::Text(e.rules_sha256.clone()),
                    ],
                );
            }
        }
    }
}

/// One decision of a person's 70–74 share.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ElderlyCostShareRow {
    pub person_id: Uuid,
    pub valid_from: NaiveDate,
    pub share: CostShare,
    /// The branch of the rule that decided it (`active_income`, …).
    pub basis: String,
    pub household_id: Option<Uuid>,
    /// The calendar year whose income decided it.
    pub income_year: i32,
    pub rules_sha256: String,
    /// The decision's position in the ledger.
    pub position: i64,
}

type StoredDecision = (String, String, String, String, Option<String>, i64, String, i64);

const ROW_COLUMNS: &str = "person_id, valid_from, share, basis, household_id, income_year, rules_sha256, position";

fn into_row(
    (person_id, valid_from, share, basis, household_id, income_year, rules_sha256, position): StoredDecision,
) -> Result<ElderlyCostShareRow, ProjectionError> {
    Ok(ElderlyCostShareRow {
        person_id: parse_uuid(&person_id)?,
        valid_from: parse_date(&valid_from)?,
        share: parse_enum(&share)?,
        basis,
        household_id: household_id.as_deref().map(parse_uuid).transpose()?,
        income_year: i32::try_from(income_year)
            .map_err(|_| ProjectionError::Corrupt(format!("{income_year} is not a year")))?,
        rules_sha256,
        position,
    })
}

impl ElderlyCostShares {
    /// Every decision for the person, in the order they take effect (then as recorded).
    pub async fn of_person(
        db: &Db,
        tenant: &str,
        person_id: Uuid,
    ) -> Result<Vec<ElderlyCostShareRow>, ProjectionError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM elderly_cost_shares WHERE tenant = $1 AND person_id = $2 ORDER BY valid_from, position"
        );
        let rows: Vec<StoredDecision> = on_db!(db, pool => {
            sqlx::query_as(&sql).bind(tenant).bind(person_id.to_string()).fetch_all(pool).await?
        });
        rows.into_iter().map(into_row).collect()
    }

    /// The 70–74 cost-share table on `on`: per person, the decision in force that day (the
    /// latest `valid_from` on or before it; among equals the latest recorded), by person.
    pub async fn in_force(db: &Db, tenant: &str, on: NaiveDate) -> Result<Vec<ElderlyCostShareRow>, ProjectionError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM elderly_cost_shares s WHERE s.tenant = $1 AND s.valid_from <= $2 \
             AND NOT EXISTS (SELECT 1 FROM elderly_cost_shares later WHERE later.tenant = s.tenant \
                 AND later.person_id = s.person_id AND later.valid_from <= $3 \
                 AND (later.valid_from > s.valid_from OR (later.valid_from = s.valid_from AND later.position > s.position))) \
             ORDER BY s.person_id"
        );
        let on = on.to_string();
        let rows: Vec<StoredDecision> = on_db!(db, pool => {
            sqlx::query_as(&sql).bind(tenant).bind(&on).bind(&on).fetch_all(pool).await?
        });
        rows.into_iter().map(into_row).collect()
    }
}
