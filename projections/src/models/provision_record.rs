//! `provision_record`: the provision record of マイナンバー法 §23 (情報提供等記録, docs/domain.md §3
//! rule 5), per tenant and person — every provision made to another agency and every inquiry
//! the city made, with requester, provider, times, items and whether the entry is
//! non-disclosable. The citizen's view reads it (without the non-disclosable entries),
//! together with `access_log` for staff accesses.
//!
//! Nothing personal: agencies, legal bases and item categories are not about the person, the
//! person is their pseudonymous ledger id, and of the staff member only the role is kept (the
//! citizen's view names the section from it, never the member).

use chrono::{DateTime, Utc};
use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct ProvisionRecord;

const TABLES: &[TableDef] = &[TableDef {
    name: "provision_record",
    ddl: &[
        "CREATE TABLE {table} (
        tenant           TEXT   NOT NULL,
        position         BIGINT NOT NULL,
        person_id        TEXT   NOT NULL,
        kind             TEXT   NOT NULL,
        occurred_at      BIGINT NOT NULL,
        requested_at     BIGINT NOT NULL,
        requester        TEXT,
        provider         TEXT,
        role             TEXT,
        purpose          TEXT,
        legal_basis      TEXT   NOT NULL,
        items            TEXT   NOT NULL,
        non_disclosable  BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, position))",
        "CREATE INDEX {table}_person_{gen} ON {table} (tenant, person_id, occurred_at)",
    ],
    columns: &[
        "tenant",
        "position",
        "person_id",
        "kind",
        "occurred_at",
        "requested_at",
        "requester",
        "provider",
        "role",
        "purpose",
        "legal_basis",
        "items",
        "non_disclosable",
    ],
    key: &["tenant", "position"],
}];

const INSERT: &str =
    "INSERT INTO {table} (tenant, position, person_id, kind, occurred_at, requested_at, requester, provider, role, \
                      purpose, legal_basis, items, non_disclosable)";

/// The most entries one listing returns: far more than a person gathers in the seven years
/// the record is kept.
pub const PROVISION_ROWS_MAX: i64 = 10_000;

fn micros(at: DateTime<Utc>) -> SqlValue {
    SqlValue::Int(at.timestamp_micros())
}

fn optional(text: Option<&str>) -> SqlValue {
    text.map_or(SqlValue::NullText, |text| SqlValue::Text(text.to_owned()))
}

fn items(items: &[String]) -> SqlValue {
    // JSON, because an item's name may hold any separator.
    SqlValue::Text(serde_json::to_string(items).expect("strings serialize"))
}

impl Projection for ProvisionRecord {
    fn name(&self) -> &'static str {
        "provision_record"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        for projected in events {
            let row = match &projected.event {
                // Provided to another agency: it requested, this municipality provided.
                LedgerEvent::ProvisionProvided(e) => vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Int(projected.position),
                    SqlValue::Text(e.person_id.to_string()),
                    SqlValue::Text(ProvisionKind::Provision.as_str().to_owned()),
                    micros(e.provided_at),
                    micros(e.requested_at),
                    SqlValue::Text(e.requesting_agency.clone()),
                    SqlValue::NullText,
                    SqlValue::NullText,
                    SqlValue::NullText,
                    SqlValue::Text(e.legal_basis.clone()),
                    items(&e.items),
                    SqlValue::Int(i64::from(e.non_disclosable)),
                ],
                // Asked of another agency: this municipality (a section, from the role) requested.
                // An inquiry is sent when it is recorded, so both times are `recorded_at`.
                LedgerEvent::InquiryMade(e) => vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Int(projected.position),
                    SqlValue::Text(e.person_id.to_string()),
                    SqlValue::Text(ProvisionKind::Inquiry.as_str().to_owned()),
                    micros(projected.recorded_at),
                    micros(projected.recorded_at),
                    SqlValue::NullText,
                    SqlValue::Text(e.agency_asked.clone()),
                    optional(Some(&e.role)),
                    optional(Some(&e.purpose)),
                    SqlValue::Text(e.legal_basis.clone()),
                    items(&e.items),
                    SqlValue::Int(i64::from(e.non_disclosable)),
                ],
                _ => continue,
            };
            out.insert("provision_record", INSERT, "", row);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionKind {
    /// This municipality provided the person's information to another agency.
    Provision,
    /// This municipality asked another agency for the person's information.
    Inquiry,
}

impl ProvisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionKind::Provision => "provision",
            ProvisionKind::Inquiry => "inquiry",
        }
    }
}

/// One entry of a person's provision record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionRecordRow {
    pub position: i64,
    pub kind: ProvisionKind,
    /// When provided (provisions) or made (inquiries).
    pub occurred_at: DateTime<Utc>,
    pub requested_at: DateTime<Utc>,
    /// The requesting agency; `None` when this municipality requested (an inquiry).
    pub requester: Option<String>,
    /// The providing agency; `None` when this municipality provided (a provision).
    pub provider: Option<String>,
    /// The inquiring staff member's role (inquiries only).
    pub role: Option<String>,
    /// The NHI affair (inquiries only).
    pub purpose: Option<String>,
    pub legal_basis: String,
    pub items: Vec<String>,
    pub non_disclosable: bool,
}

/// Which entries a listing includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Everything, for staff and auditors.
    All,
    /// Only what the person may be shown: non-disclosable entries never leave the database.
    DisclosableOnly,
}

impl ProvisionRecord {
    /// A person's entries, oldest first.
    pub async fn of_person(
        db: &Db,
        tenant: &str,
        person_id: Uuid,
        disclosure: Disclosure,
    ) -> Result<Vec<ProvisionRecordRow>, ProjectionError> {
        let largest_flag = match disclosure {
            Disclosure::All => 1,
            Disclosure::DisclosableOnly => 0,
        };
        type Row = (
            i64,
            String,
            i64,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT position, kind, occurred_at, requested_at, requester, provider, role, purpose, legal_basis, items, \
                 non_disclosable FROM provision_record \
                 WHERE tenant = $1 AND person_id = $2 AND non_disclosable <= $3 \
                 ORDER BY occurred_at, position LIMIT $4",
            )
            .bind(tenant)
            .bind(person_id.to_string())
            .bind(largest_flag)
            .bind(PROVISION_ROWS_MAX)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(
                |(
                    position,
                    kind,
                    occurred_at,
                    requested_at,
                    requester,
                    provider,
                    role,
                    purpose,
                    legal_basis,
                    items,
                    non_disclosable,
                )| {
                    let kind = match kind.as_str() {
                        "provision" => ProvisionKind::Provision,
                        "inquiry" => ProvisionKind::Inquiry,
                        other => {
                            return Err(ProjectionError::Corrupt(format!("unknown provision record kind {other:?}")))
                        }
                    };
                    let items: Vec<String> = serde_json::from_str(&items)
                        .map_err(|_| ProjectionError::Corrupt("provision record items are not a JSON list".into()))?;
                    let instant = |micros: i64| {
                        DateTime::from_timestamp_micros(micros)
                            .ok_or_else(|| ProjectionError::Corrupt(format!("{micros} is not an instant")))
                    };
                    Ok(ProvisionRecordRow {
                        position,
                        kind,
                        occurred_at: instant(occurred_at)?,
                        requested_at: instant(requested_at)?,
                        requester,
                        provider,
                        role,
                        purpose,
                        legal_basis,
                        items,
                        non_disclosable: non_disclosable != 0,
                    })
                },
            )
            .collect()
    }
}
