//! `household_members` and `household_heads`: household composition over time (世帯, valid time).
//! Nothing personal: person ids and dates only.

use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct Households;

const TABLES: &[TableDef] = &[
    TableDef {
        name: "household_members",
        ddl: &[
            "CREATE TABLE {table} (
            tenant        TEXT   NOT NULL,
            household_id  TEXT   NOT NULL,
            person_id     TEXT   NOT NULL,
            joined_on     TEXT   NOT NULL,
            left_on       TEXT,
            position      BIGINT NOT NULL,
            CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, household_id, person_id, joined_on))",
            "CREATE INDEX {table}_person_{gen} ON {table} (tenant, person_id)",
        ],
        columns: &["tenant", "household_id", "person_id", "joined_on", "left_on", "position"],
        key: &["tenant", "household_id", "person_id", "joined_on"],
    },
    TableDef {
        name: "household_heads",
        ddl: &["CREATE TABLE {table} (
            tenant          TEXT   NOT NULL,
            household_id    TEXT   NOT NULL,
            head_from       TEXT   NOT NULL,
            head_person_id  TEXT   NOT NULL,
            position        BIGINT NOT NULL,
            CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, household_id, position))"],
        columns: &["tenant", "household_id", "head_from", "head_person_id", "position"],
        key: &["tenant", "household_id", "position"],
    },
];

impl Projection for Households {
    fn name(&self) -> &'static str {
        "households"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        let text = |value: String| SqlValue::Text(value);
        for projected in events {
            let position = SqlValue::Int(projected.position);
            match &projected.event {
                LedgerEvent::HouseholdEstablished(e) => {
                    out.insert(
                        "household_members",
                        "INSERT INTO {table} (tenant, household_id, person_id, joined_on, left_on, position)",
                        "",
                        vec![text(tenant.to_owned()), text(e.household_id.to_string()), text(e.head_person_id.to_string()), text(e.established_on.to_string()), SqlValue::NullText, position.clone()],
                    );
                    out.insert(
                        "household_heads",
                        "INSERT INTO {table} (tenant, household_id, head_from, head_person_id, position)",
                        "",
                        vec![text(tenant.to_owned()), text(e.household_id.to_string()), text(e.established_on.to_string()), text(e.head_person_id.to_string()), position],
                    );
                }
                LedgerEvent::HouseholdMemberJoined(e) => out.insert(
                    "household_members",
                    "INSERT INTO {table} (tenant, household_id, person_id, joined_on, left_on, position)",
                    "",
                    vec![text(tenant.to_owned()), text(e.household_id.to_string()), text(e.person_id.to_string()), text(e.joined_on.to_string()), SqlValue::NullText, position],
                ),
                LedgerEvent::HouseholdMemberLeft(e) => out.other(
                    "household_members",
                    "UPDATE {table} SET left_on = $1 WHERE tenant = $2 AND household_id = $3 AND person_id = $4 AND left_on IS NULL",
                    vec![text(e.left_on.to_string()), text(tenant.to_owned()), text(e.household_id.to_string()), text(e.person_id.to_string())],
                ),
                LedgerEvent::HouseholdHeadChanged(e) => out.insert(
                    "household_heads",
                    "INSERT INTO {table} (tenant, household_id, head_from, head_person_id, position)",
                    "",
                    vec![text(tenant.to_owned()), text(e.household_id.to_string()), text(e.changed_on.to_string()), text(e.head_person_id.to_string()), position],
                ),
                _ => {}
            }
        }
    }
}

impl Households {
    /// Every household the person ever joined, by what is recorded now (the candidates an
    /// as-of question folds at its own instant).
    pub async fn households_of_person(db: &Db, tenant: &str, person_id: Uuid) -> Result<Vec<Uuid>, ProjectionError> {
        let rows: Vec<String> = on_db!(db, pool => {
            sqlx::query_scalar(
                "SELECT household_id FROM household_members WHERE tenant = $1 AND person_id = $2 \
                 GROUP BY household_id ORDER BY MAX(joined_on) DESC",
            )
            .bind(tenant)
            .bind(person_id.to_string())
            .fetch_all(pool)
            .await?
        });
        rows.iter()
            .map(|id| id.parse().map_err(|_| ProjectionError::Corrupt(format!("{id:?} is not a household id"))))
            .collect()
    }
}
