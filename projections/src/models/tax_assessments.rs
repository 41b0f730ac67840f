//! `tax_assessments`: each household's NHI tax per fiscal year as issued (the assessment or its
//! latest correction), and a correction held for a person to decide. Amounts only: the
//! breakdown by member stays sealed in the events.

use std::collections::BTreeMap;

use kokuho_events::{LedgerEvent, TaxFigures};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct TaxAssessments;

const TABLES: &[TableDef] = &[TableDef {
    name: "tax_assessments",
    ddl: &["CREATE TABLE {table} (
        tenant              TEXT   NOT NULL,
        household_id        TEXT   NOT NULL,
        fiscal_year         BIGINT NOT NULL,
        taxpayer_person_id  TEXT   NOT NULL,
        total_yen           BIGINT NOT NULL,
        medical_yen         BIGINT NOT NULL,
        support_yen         BIGINT NOT NULL,
        care_yen            BIGINT NOT NULL,
        child_support_yen   BIGINT NOT NULL,
        statutory_reduction TEXT,
        rules_file          TEXT   NOT NULL,
        rules_sha256        TEXT   NOT NULL,
        corrections         BIGINT NOT NULL,
        held_total_yen      BIGINT,
        last_position       BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, fiscal_year, household_id))"],
    columns: &[
        "tenant",
        "household_id",
        "fiscal_year",
        "taxpayer_person_id",
        "total_yen",
        "medical_yen",
        "support_yen",
        "care_yen",
        "child_support_yen",
        "statutory_reduction",
        "rules_file",
        "rules_sha256",
        "corrections",
        "held_total_yen",
        "last_position",
    ],
    key: &["tenant", "fiscal_year", "household_id"],
}];

/// One household's tax of a fiscal year as issued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaxAssessmentRow {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub taxpayer_person_id: Uuid,
    pub total_yen: i64,
    pub medical_yen: i64,
    pub support_yen: i64,
    pub care_yen: i64,
    pub child_support_yen: i64,
    pub statutory_reduction: Option<String>,
    pub rules_file: String,
    pub rules_sha256: String,
    /// Corrections (更正) issued after the assessment.
    pub corrections: i64,
    /// The total of a correction held for a person to decide, if any.
    pub held_total_yen: Option<i64>,
}

fn amount(figures: &TaxFigures, part: &str) -> i64 {
    figures.parts.iter().find(|p| p.part == part).map_or(0, |p| p.amount_yen)
}

/// Every column the figures carry, taken from the new row on conflict; corrections add up.
macro_rules! upsert {
    ($held:literal) => {
        concat!(
            "ON CONFLICT (tenant, fiscal_year, household_id) DO UPDATE SET ",
            "taxpayer_person_id = excluded.taxpayer_person_id, total_yen = excluded.total_yen, ",
            "medical_yen = excluded.medical_yen, support_yen = excluded.support_yen, ",
            "care_yen = excluded.care_yen, child_support_yen = excluded.child_support_yen, ",
            "statutory_reduction = excluded.statutory_reduction, rules_file = excluded.rules_file, ",
            "rules_sha256 = excluded.rules_sha256, corrections = {table}.corrections + excluded.corrections, ",
            $held,
            ", last_position = excluded.last_position"
        )
    };
}
const UPSERT_SETTING_HELD: &str = upsert!("held_total_yen = excluded.held_total_yen");
const UPSERT_KEEPING_HELD: &str = upsert!("held_total_yen = {table}.held_total_yen");

impl Projection for TaxAssessments {
    fn name(&self) -> &'static str {
        "tax_assessments"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        // Fold the page first: one upsert per household and year, in key order.
        #[derive(Default)]
        struct Change {
            issued: Option<(Uuid, TaxFigures)>,
            corrections: i64,
            held: Option<Option<i64>>,
            position: i64,
        }
        let mut changes: BTreeMap<(i32, Uuid), Change> = BTreeMap::new();
        for projected in events {
            let (key, change) = match &projected.event {
                LedgerEvent::TaxAssessed(e) => {
                    ((e.fiscal_year, e.household_id), (Some((e.taxpayer_person_id, &e.figures)), 0, None))
                }
                LedgerEvent::TaxReassessed(e) => {
                    ((e.fiscal_year, e.household_id), (Some((e.taxpayer_person_id, &e.figures)), 1, Some(None)))
                }
                LedgerEvent::TaxReassessmentHeld(e) => {
                    ((e.fiscal_year, e.household_id), (None, 0, Some(Some(e.figures.total_yen))))
                }
                _ => continue,
            };
            let entry = changes.entry(key).or_default();
            if let Some((taxpayer, figures)) = change.0 {
                entry.issued = Some((taxpayer, figures.clone()));
            }
            entry.corrections += change.1;
            if let Some(held) = change.2 {
                entry.held = Some(held);
            }
            entry.position = projected.position;
        }
        for ((fiscal_year, household_id), change) in changes {
            let held = |value: Option<i64>| value.map_or(SqlValue::NullInt, SqlValue::Int);
            match change.issued {
                Some((taxpayer, figures)) => {
                    let (held_value, tail) = match change.held {
                        Some(value) => (held(value), UPSERT_SETTING_HELD),
                        None => (SqlValue::NullInt, UPSERT_KEEPING_HELD),
                    };
                    out.insert(
                        "tax_assessments",
                        "INSERT INTO {table} (tenant, household_id, fiscal_year, taxpayer_person_id, total_yen, \
                         medical_yen, support_yen, care_yen, child_support_yen, statutory_reduction, rules_file, \
                         rules_sha256, corrections, held_total_yen, last_position)",
                        tail,
                        vec![
                            SqlValue::Text(tenant.to_owned()),
                            SqlValue::Text(household_id.to_string()),
                            SqlValue::Int(i64::from(fiscal_year)),
                            SqlValue::Text(taxpayer.to_string()),
                            SqlValue::Int(figures.total_yen),
                            SqlValue::Int(amount(&figures, "medical")),
                            SqlValue::Int(amount(&figures, "support")),
                            SqlValue::Int(amount(&figures, "care")),
                            SqlValue::Int(amount(&figures, "child_support")),
                            figures.statutory_reduction.clone().map_or(SqlValue::NullText, SqlValue::Text),
                            SqlValue::Text(figures.rules_file.clone()),
                            SqlValue::Text(figures.rules_sha256.clone()),
                            SqlValue::Int(change.corrections),
                            held_value,
                            SqlValue::Int(change.position),
                        ],
                    );
                }
                None => {
                    if let Some(value) = change.held {
                        out.other(
                            "tax_assessments",
                            "UPDATE {table} SET held_total_yen = $1, last_position = $2 \
                             WHERE tenant = $3 AND fiscal_year = $4 AND household_id = $5",
                            vec![
                                held(value),
                                SqlValue::Int(change.position),
                                SqlValue::Text(tenant.to_owned()),
                                SqlValue::Int(i64::from(fiscal_year)),
                                SqlValue::Text(household_id.to_string()),
                            ],
                        );
                    }
                }
            }
        }
    }
}

type Row = (String, i64, String, i64, i64, i64, i64, i64, Option<String>, String, String, i64, Option<i64>);

fn row(raw: Row) -> Result<TaxAssessmentRow, ProjectionError> {
    let uuid = |text: &str| {
        Uuid::parse_str(text)
            .map_err(|_| ProjectionError::Corrupt("tax_assessments holds an id that is not a UUID".into()))
    };
    Ok(TaxAssessmentRow {
        household_id: uuid(&raw.0)?,
        fiscal_year: raw.1 as i32,
        taxpayer_person_id: uuid(&raw.2)?,
        total_yen: raw.3,
        medical_yen: raw.4,
        support_yen: raw.5,
        care_yen: raw.6,
        child_support_yen: raw.7,
        statutory_reduction: raw.8,
        rules_file: raw.9,
        rules_sha256: raw.10,
        corrections: raw.11,
        held_total_yen: raw.12,
    })
}

const SELECT: &str = "SELECT household_id, fiscal_year, taxpayer_person_id, total_yen, medical_yen, support_yen, \
     care_yen, child_support_yen, statutory_reduction, rules_file, rules_sha256, corrections, held_total_yen \
     FROM tax_assessments";

impl TaxAssessments {
    /// The households assessed for `fiscal_year`, by household id, from `after` (exclusive), at
    /// most `limit`.
    pub async fn of_year(
        db: &Db,
        tenant: &str,
        fiscal_year: i32,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<TaxAssessmentRow>, ProjectionError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(&format!(
                "{SELECT} WHERE tenant = $1 AND fiscal_year = $2 AND household_id > $3 ORDER BY household_id LIMIT $4"
            ))
            .bind(tenant)
            .bind(i64::from(fiscal_year))
            .bind(&after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(row).collect()
    }

    /// The years a household was assessed for.
    pub async fn of_household(
        db: &Db,
        tenant: &str,
        household_id: Uuid,
    ) -> Result<Vec<TaxAssessmentRow>, ProjectionError> {
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT} WHERE tenant = $1 AND household_id = $2 ORDER BY fiscal_year"))
                .bind(tenant)
                .bind(household_id.to_string())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(row).collect()
    }
}
