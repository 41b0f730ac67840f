//! `benefits`: every benefit decided, by person and household — a household-month's high-cost
//! benefit (高額療養費), a childbirth (出産育児一時金) or funeral (葬祭費) claim paid or refused —
//! with its amount and where it is paid (`public_funds_account`, `claim_account`, or `null` while
//! no account is known). Amounts only: the calculation, the claim's facts and the accounts stay
//! sealed in the events. As-of answers replay the streams (`benefits-<person>`,
//! `high-cost-<household>-<YYYY-MM>`); this table lists.

use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct Benefits;

const TABLES: &[TableDef] = &[TableDef {
    name: "benefits",
    ddl: &[
        "CREATE TABLE {table} (
        tenant        TEXT   NOT NULL,
        reference     TEXT   NOT NULL,
        kind          TEXT   NOT NULL,
        person_id     TEXT   NOT NULL,
        household_id  TEXT,
        occurred_on   TEXT   NOT NULL,
        outcome       TEXT   NOT NULL,
        amount_yen    BIGINT NOT NULL,
        paid_to       TEXT,
        position      BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, reference))",
        "CREATE INDEX {table}_person_{gen} ON {table} (tenant, person_id)",
        "CREATE INDEX {table}_household_{gen} ON {table} (tenant, household_id)",
    ],
    columns: &[
        "tenant",
        "reference",
        "kind",
        "person_id",
        "household_id",
        "occurred_on",
        "outcome",
        "amount_yen",
        "paid_to",
        "position",
    ],
    key: &["tenant", "reference"],
}];

impl Projection for Benefits {
    fn name(&self) -> &'static str {
        "benefits"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        for projected in events {
            let row = match &projected.event {
                LedgerEvent::HighCostDecided(e) => Some((
                    format!("{}/{}", e.household_id, e.month.format("%Y-%m")),
                    "high_cost",
                    e.head_person_id,
                    Some(e.household_id),
                    e.month.to_string(),
                    "decided",
                    e.benefit_yen,
                )),
                LedgerEvent::BenefitClaimDecided(e) => Some((
                    e.claim_id.to_string(),
                    e.kind.as_str(),
                    e.person_id,
                    None,
                    e.event_on.to_string(),
                    "paid",
                    e.amount_yen,
                )),
                LedgerEvent::BenefitClaimRefused(e) => Some((
                    e.claim_id.to_string(),
                    e.kind.as_str(),
                    e.person_id,
                    None,
                    e.event_on.to_string(),
                    "refused",
                    0,
                )),
                LedgerEvent::BenefitPaymentInstructed(e) => {
                    out.other(
                        "benefits",
                        "UPDATE {table} SET paid_to = $1 WHERE tenant = $2 AND reference = $3",
                        vec![
                            SqlValue::Text(e.account_source.clone()),
                            SqlValue::Text(tenant.to_owned()),
                            SqlValue::Text(e.reference.clone()),
                        ],
                    );
                    None
                }
                _ => None,
            };
            let Some((reference, kind, person_id, household_id, occurred_on, outcome, amount)) = row else { continue };
            out.insert(
                "benefits",
                "INSERT INTO {table} (tenant, reference, kind, person_id, household_id, occurred_on, outcome, amount_yen, paid_to, position)",
                "",
                vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Text(reference),
                    SqlValue::Text(kind.to_owned()),
                    SqlValue::Text(person_id.to_string()),
                    household_id.map_or(SqlValue::NullText, |id| SqlValue::Text(id.to_string())),
                    SqlValue::Text(occurred_on),
                    SqlValue::Text(outcome.to_owned()),
                    SqlValue::Int(amount),
                    SqlValue::NullText,
                    SqlValue::Int(projected.position),
                ],
            );
        }
    }
}

/// One benefit decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BenefitRow {
    /// `<household>/<YYYY-MM>` for a high-cost benefit, the claim's id for a claim.
    pub reference: String,
    /// `high_cost`, `childbirth`, `funeral`.
    pub kind: String,
    /// The head of household (high cost), or the person the claim is for.
    pub person_id: Uuid,
    pub household_id: Option<Uuid>,
    /// The service month's first day, the birth, or the funeral.
    pub occurred_on: String,
    /// `decided`, `paid`, `refused`.
    pub outcome: String,
    pub amount_yen: i64,
    /// `public_funds_account`, `claim_account`, or `None` while no account is known.
    pub paid_to: Option<String>,
    pub position: i64,
}

type Row = (String, String, String, Option<String>, String, String, i64, Option<String>, i64);

fn rows(rows: Vec<Row>) -> Vec<BenefitRow> {
    rows.into_iter()
        .map(|(reference, kind, person_id, household_id, occurred_on, outcome, amount_yen, paid_to, position)| {
            BenefitRow {
                reference,
                kind,
                person_id: Uuid::parse_str(&person_id).unwrap_or_default(),
                household_id: household_id.and_then(|id| Uuid::parse_str(&id).ok()),
                occurred_on,
                outcome,
                amount_yen,
                paid_to,
                position,
            }
        })
        .collect()
}

const SELECT: &str =
    "SELECT reference, kind, person_id, household_id, occurred_on, outcome, amount_yen, paid_to, position FROM benefits";

impl Benefits {
    /// The benefits decided for `person_id` (their claims, and the high-cost benefits paid to
    /// them as head of household), in ledger order.
    pub async fn of_person(db: &Db, tenant: &str, person_id: Uuid) -> Result<Vec<BenefitRow>, ProjectionError> {
        let found: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT} WHERE tenant = $1 AND person_id = $2 ORDER BY position"))
                .bind(tenant)
                .bind(person_id.to_string())
                .fetch_all(pool)
                .await?
        });
        Ok(rows(found))
    }

    /// The high-cost benefits decided for `household_id`, in ledger order.
    pub async fn of_household(db: &Db, tenant: &str, household_id: Uuid) -> Result<Vec<BenefitRow>, ProjectionError> {
        let found: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT} WHERE tenant = $1 AND household_id = $2 ORDER BY position"))
                .bind(tenant)
                .bind(household_id.to_string())
                .fetch_all(pool)
                .await?
        });
        Ok(rows(found))
    }
}
