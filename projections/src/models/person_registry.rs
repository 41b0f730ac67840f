//! `person_registry`: who is on file, by address number (宛名番号). Nothing personal: the five
//! items stay encrypted in the ledger.

use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct PersonRegistry;

const TABLES: &[TableDef] = &[TableDef {
    name: "person_registry",
    ddl: &[
        "CREATE TABLE {table} (
        tenant         TEXT   NOT NULL,
        person_id      TEXT   NOT NULL,
        atena_no       TEXT   NOT NULL,
        registered_at  BIGINT NOT NULL,
        position       BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id))",
        "CREATE INDEX {table}_atena_{gen} ON {table} (tenant, atena_no)",
    ],
    columns: &["tenant", "person_id", "atena_no", "registered_at", "position"],
    key: &["tenant", "person_id"],
}];

impl Projection for PersonRegistry {
    fn name(&self) -> &'static str {
        "person_registry"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        for projected in events {
            if let LedgerEvent::PersonRegistered(event) = &projected.event {
                out.insert(
                    "person_registry",
                    "INSERT INTO {table} (tenant, person_id, atena_no, registered_at, position)",
                    "",
                    vec![
                        SqlValue::Text(tenant.to_owned()),
                        SqlValue::Text(event.person_id.to_string()),
                        SqlValue::Text(event.atena_no.clone()),
                        SqlValue::Int(projected.recorded_at.timestamp_micros()),
                        SqlValue::Int(projected.position),
                    ],
                );
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    pub person_id: Uuid,
    pub atena_no: String,
}

impl PersonRegistry {
    /// The persons filed under an address number (normally one).
    pub async fn by_atena_no(db: &Db, tenant: &str, atena_no: &str) -> Result<Vec<RegistryRow>, ProjectionError> {
        let rows: Vec<(String, String)> = on_db!(db, pool => {
            sqlx::query_as("SELECT person_id, atena_no FROM person_registry WHERE tenant = $1 AND atena_no = $2 ORDER BY person_id")
                .bind(tenant)
                .bind(atena_no)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(person_id, atena_no)| Ok(RegistryRow { person_id: parse_uuid(&person_id)?, atena_no }))
            .collect()
    }

    /// The address number of a person, if registered.
    pub async fn atena_no_of(db: &Db, tenant: &str, person_id: Uuid) -> Result<Option<String>, ProjectionError> {
        Ok(on_db!(db, pool => {
            sqlx::query_scalar("SELECT atena_no FROM person_registry WHERE tenant = $1 AND person_id = $2")
                .bind(tenant)
                .bind(person_id.to_string())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Up to `limit` person ids of the tenant after `after` (exclusive), in id order: a page of
    /// everyone on file, for jobs that walk the whole tenant (`kokuho eligibility run`).
    pub async fn person_ids(
        db: &Db,
        tenant: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Uuid>, ProjectionError> {
        // Hyphenated lowercase UUID text sorts as the UUID does; "" is before every id.
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let rows: Vec<String> = on_db!(db, pool => {
            sqlx::query_scalar(
                "SELECT person_id FROM person_registry WHERE tenant = $1 AND person_id > $2 ORDER BY person_id LIMIT $3",
            )
            .bind(tenant)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.iter().map(|id| parse_uuid(id)).collect()
    }

    pub async fn count(db: &Db, tenant: &str) -> Result<i64, ProjectionError> {
        Ok(on_db!(db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM person_registry WHERE tenant = $1").bind(tenant).fetch_one(pool).await?
        }))
    }
}

pub(crate) fn parse_uuid(text: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(text).map_err(|_| ProjectionError::Corrupt(format!("{text:?} is not a UUID")))
}
