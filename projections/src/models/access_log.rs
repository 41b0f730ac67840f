//! `access_log`: who read which person's data, which items, for what purpose, when (the access
//! record, seed III-3 risk 2 in docs/seed.md), for auditors to list by user, by person and by period.

use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::models::person_registry::parse_uuid;
use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct AccessLog;

const TABLES: &[TableDef] = &[TableDef {
    name: "access_log",
    ddl: &[
        "CREATE TABLE {table} (
        tenant       TEXT   NOT NULL,
        position     BIGINT NOT NULL,
        recorded_at  BIGINT NOT NULL,
        user_id      TEXT   NOT NULL,
        role         TEXT   NOT NULL,
        person_id    TEXT   NOT NULL,
        items        TEXT   NOT NULL,
        purpose      TEXT   NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, position))",
        "CREATE INDEX {table}_person_{gen} ON {table} (tenant, person_id, recorded_at)",
        "CREATE INDEX {table}_user_{gen} ON {table} (tenant, user_id, recorded_at)",
    ],
    columns: &["tenant", "position", "recorded_at", "user_id", "role", "person_id", "items", "purpose"],
    key: &["tenant", "position"],
}];

impl Projection for AccessLog {
    fn name(&self) -> &'static str {
        "access_log"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        for projected in events {
            if let LedgerEvent::PersonalDataAccessed(event) = &projected.event {
                out.insert(
                    "access_log",
                    "INSERT INTO {table} (tenant, position, recorded_at, user_id, role, person_id, items, purpose)",
                    "",
                    vec![
                        SqlValue::Text(tenant.to_owned()),
                        SqlValue::Int(projected.position),
                        SqlValue::Int(projected.recorded_at.timestamp_micros()),
                        SqlValue::Text(event.user_id.to_string()),
                        SqlValue::Text(event.role.clone()),
                        SqlValue::Text(event.person_id.to_string()),
                        SqlValue::Text(event.items.join(",")),
                        SqlValue::Text(event.purpose.clone()),
                    ],
                );
            }
        }
    }
}

/// One access, as an auditor lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessRow {
    pub position: i64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub user_id: Uuid,
    pub role: String,
    pub person_id: Uuid,
    pub items: Vec<String>,
    pub purpose: String,
}

/// Which accesses to list; every filter is optional, the page is bounded.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    pub person_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Only accesses at positions after this one (for paging).
    pub after_position: i64,
    pub limit: i64,
}

/// The most rows one listing returns.
pub const ACCESS_ROWS_MAX: i64 = 1_000;

impl AccessLog {
    pub async fn list(db: &Db, tenant: &str, filter: &AccessFilter) -> Result<Vec<AccessRow>, ProjectionError> {
        // Absent filters bind values that match everything, so one statement serves every case.
        let person = filter.person_id.map(|id| id.to_string());
        let user = filter.user_id.map(|id| id.to_string());
        type Row = (i64, i64, String, String, String, String, String);
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT position, recorded_at, user_id, role, person_id, items, purpose FROM access_log \
                 WHERE tenant = $1 AND position > $2 \
                 AND ($3 IS NULL OR person_id = $3) AND ($4 IS NULL OR user_id = $4) \
                 AND recorded_at >= $5 AND recorded_at <= $6 \
                 ORDER BY position LIMIT $7",
            )
            .bind(tenant)
            .bind(filter.after_position)
            .bind(person)
            .bind(user)
            .bind(filter.from.map_or(i64::MIN, |at| at.timestamp_micros()))
            .bind(filter.to.map_or(i64::MAX, |at| at.timestamp_micros()))
            .bind(filter.limit.clamp(1, ACCESS_ROWS_MAX))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(position, recorded_at, user_id, role, person_id, items, purpose)| {
                Ok(AccessRow {
                    position,
                    recorded_at: chrono::DateTime::from_timestamp_micros(recorded_at).unwrap_or_default(),
                    user_id: parse_uuid(&user_id)?,
                    role,
                    person_id: parse_uuid(&person_id)?,
                    items: items.split(',').filter(|item| !item.is_empty()).map(str::to_owned).collect(),
                    purpose,
                })
            })
            .collect()
    }
}
