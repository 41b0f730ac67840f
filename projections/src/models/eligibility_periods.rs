//! `eligibility_periods`: each person's insured periods in valid time (資格).

use chrono::NaiveDate;
use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct EligibilityPeriods;

const TABLES: &[TableDef] = &[TableDef {
    name: "eligibility_periods",
    ddl: &["CREATE TABLE {table} (
        tenant        TEXT   NOT NULL,
        person_id     TEXT   NOT NULL,
        effective_on  TEXT   NOT NULL,
        reason        TEXT   NOT NULL,
        event_date    TEXT   NOT NULL,
        notified_on   TEXT   NOT NULL,
        recorded_at   BIGINT NOT NULL,
        position      BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id, effective_on))"],
    columns: &["tenant", "person_id", "effective_on", "reason", "event_date", "notified_on", "recorded_at", "position"],
    key: &["tenant", "person_id", "effective_on"],
}];

impl Projection for EligibilityPeriods {
    fn name(&self) -> &'static str {
        "eligibility_periods"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        for projected in events {
            if let LedgerEvent::EligibilityAcquired(event) = &projected.event {
                let reason = serde_json::to_value(event.reason).expect("enums serialize");
                out.insert(
                    "eligibility_periods",
                    "INSERT INTO {table} (tenant, person_id, effective_on, reason, event_date, notified_on, recorded_at, position)",
                    "",
                    vec![
                        SqlValue::Text(tenant.to_owned()),
                        SqlValue::Text(event.person_id.to_string()),
                        SqlValue::Text(event.effective_on.to_string()),
                        SqlValue::Text(reason.as_str().unwrap_or_default().to_owned()),
                        SqlValue::Text(event.event_date.to_string()),
                        SqlValue::Text(event.notified_on.to_string()),
                        SqlValue::Int(projected.recorded_at.timestamp_micros()),
                        SqlValue::Int(projected.position),
                    ],
                );
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EligibilityPeriodRow {
    pub effective_on: NaiveDate,
    pub reason: String,
    pub notified_on: NaiveDate,
}

impl EligibilityPeriods {
    pub async fn of_person(db: &Db, tenant: &str, person_id: Uuid) -> Result<Vec<EligibilityPeriodRow>, ProjectionError> {
        let rows: Vec<(String, String, String)> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT effective_on, reason, notified_on FROM eligibility_periods \
                 WHERE tenant = $1 AND person_id = $2 ORDER BY effective_on",
            )
            .bind(tenant)
            .bind(person_id.to_string())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(effective_on, reason, notified_on)| {
                Ok(EligibilityPeriodRow { effective_on: parse_date(&effective_on)?, reason, notified_on: parse_date(&notified_on)? })
            })
            .collect()
    }

    /// How many persons are insured on `on` (valid time), by the current knowledge.
    pub async fn insured_count(db: &Db, tenant: &str, on: NaiveDate) -> Result<i64, ProjectionError> {
        Ok(on_db!(db, pool => {
            sqlx::query_scalar("SELECT COUNT(DISTINCT person_id) FROM eligibility_periods WHERE tenant = $1 AND effective_on <= $2")
                .bind(tenant)
                .bind(on.to_string())
                .fetch_one(pool)
                .await?
        }))
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, ProjectionError> {
    text.parse().map_err(|_| ProjectionError::Corrupt(format!("{text:?} is not a date")))
}
