//! `certificates`: the eligibility certificates (資格確認書) issued to each person, and from
//! when each is no longer valid because its period ended.
//!
//! A certificate outlives nothing: `invalidated_on` is its period's loss date (the first day
//! not insured) once the period is lost, NULL while the period is open, and `valid_from` when
//! the period was withdrawn (it never existed, so the certificate never held). It is always
//! derived from the period as currently recorded, so a correction that moves or removes the end
//! moves or clears it, and a certificate issued for a period already lost is invalid from the
//! loss. This mirrors `PersonState::certificate_status`.
//!
//! The projection keeps the periods' ends in `certificate_periods` (see
//! `eligibility_periods::PERIOD_ENDS_DDL`); each page inserts its certificates, then recomputes
//! `invalidated_on` for those and for the certificates of every earlier period the page changed.

use chrono::NaiveDate;
use kokuho_events::LedgerEvent;
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::models::eligibility_periods::{
    parse_date, parse_optional_date, PeriodEndFold, PERIOD_ENDS_DDL, PERIOD_END_COLUMNS, PERIOD_END_KEY,
};
use crate::models::person_registry::parse_uuid;
use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct Certificates;

const TABLES: &[TableDef] = &[
    TableDef { name: "certificate_periods", ddl: &[PERIOD_ENDS_DDL], columns: PERIOD_END_COLUMNS, key: PERIOD_END_KEY },
    TableDef {
        name: "certificates",
        ddl: &[
            "CREATE TABLE {table} (
            tenant          TEXT   NOT NULL,
            person_id       TEXT   NOT NULL,
            certificate_no  TEXT   NOT NULL,
            period_id       TEXT   NOT NULL,
            issued_on       TEXT   NOT NULL,
            valid_from      TEXT   NOT NULL,
            valid_until     TEXT   NOT NULL,
            invalidated_on  TEXT,
            position        BIGINT NOT NULL,
            CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id, certificate_no))",
            "CREATE INDEX {table}_period_{gen} ON {table} (tenant, person_id, period_id)",
            "CREATE INDEX {table}_position_{gen} ON {table} (tenant, position)",
            "CREATE INDEX {table}_valid_{gen} ON {table} (tenant, valid_from)",
        ],
        columns: &[
            "tenant",
            "person_id",
            "certificate_no",
            "period_id",
            "issued_on",
            "valid_from",
            "valid_until",
            "invalidated_on",
            "position",
        ],
        key: &["tenant", "person_id", "certificate_no"],
    },
];

/// `invalidated_on` from the certificate's period as currently recorded.
macro_rules! invalidated_on {
    () => {
        "invalidated_on = CASE WHEN EXISTS (SELECT 1 FROM {table:certificate_periods} p \
             WHERE p.tenant = {table}.tenant AND p.person_id = {table}.person_id AND p.period_id = {table}.period_id \
             AND p.withdrawn = 0) \
         THEN (SELECT p.lost_on FROM {table:certificate_periods} p \
             WHERE p.tenant = {table}.tenant AND p.person_id = {table}.person_id AND p.period_id = {table}.period_id \
             AND p.withdrawn = 0) \
         ELSE {table}.valid_from END"
    };
}

impl Projection for Certificates {
    fn name(&self) -> &'static str {
        "certificates"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        let text = |value: String| SqlValue::Text(value);
        let mut periods = PeriodEndFold::default();
        let mut issued = Writes::default();
        let mut first_issued: Option<i64> = None;
        for projected in events {
            if let LedgerEvent::CertificateIssued(e) = &projected.event {
                first_issued.get_or_insert(projected.position);
                issued.insert(
                    "certificates",
                    "INSERT INTO {table} (tenant, person_id, certificate_no, period_id, issued_on, valid_from, valid_until, invalidated_on, position)",
                    // Certificate numbers are unique per person (the aggregate refuses a second).
                    "ON CONFLICT (tenant, person_id, certificate_no) DO NOTHING",
                    vec![
                        text(tenant.to_owned()),
                        text(e.person_id.to_string()),
                        text(e.certificate_no.clone()),
                        text(e.period_id.to_string()),
                        text(e.issued_on.to_string()),
                        text(e.valid_from.to_string()),
                        text(e.valid_until.to_string()),
                        SqlValue::NullText,
                        SqlValue::Int(projected.position),
                    ],
                );
            } else {
                periods.observe(&projected.event);
            }
        }
        periods.write("certificate_periods", tenant, out);
        out.statements.extend(issued.statements);
        // The certificates of earlier periods this page changed (each once, in key order).
        let mut changed: Vec<(Uuid, Uuid)> =
            periods.changed.iter().map(|(person, period, _)| (*person, *period)).collect();
        changed.sort();
        changed.dedup();
        for (person_id, period_id) in changed {
            out.other(
                "certificates",
                concat!(
                    "UPDATE {table} SET ",
                    invalidated_on!(),
                    " WHERE tenant = $1 AND person_id = $2 AND period_id = $3"
                ),
                vec![text(tenant.to_owned()), text(person_id.to_string()), text(period_id.to_string())],
            );
        }
        // The certificates this page issued: every row at or after the first one's position.
        if let Some(first) = first_issued {
            out.other(
                "certificates",
                concat!("UPDATE {table} SET ", invalidated_on!(), " WHERE tenant = $1 AND position >= $2"),
                vec![text(tenant.to_owned()), SqlValue::Int(first)],
            );
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateRow {
    pub person_id: Uuid,
    pub certificate_no: String,
    pub period_id: Uuid,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    /// The last valid day.
    pub valid_until: NaiveDate,
    /// The first day it is no longer valid because its period ended or was withdrawn.
    pub invalidated_on: Option<NaiveDate>,
}

type StoredCertificate = (String, String, String, String, String, String, Option<String>);

const ROW_COLUMNS: &str = "person_id, certificate_no, period_id, issued_on, valid_from, valid_until, invalidated_on";

fn into_row(
    (person_id, certificate_no, period_id, issued_on, valid_from, valid_until, invalidated_on): StoredCertificate,
) -> Result<CertificateRow, ProjectionError> {
    Ok(CertificateRow {
        person_id: parse_uuid(&person_id)?,
        certificate_no,
        period_id: parse_uuid(&period_id)?,
        issued_on: parse_date(&issued_on)?,
        valid_from: parse_date(&valid_from)?,
        valid_until: parse_date(&valid_until)?,
        invalidated_on: parse_optional_date(invalidated_on.as_deref())?,
    })
}

impl Certificates {
    /// Every certificate issued to the person, by issue day.
    pub async fn of_person(db: &Db, tenant: &str, person_id: Uuid) -> Result<Vec<CertificateRow>, ProjectionError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM certificates WHERE tenant = $1 AND person_id = $2 ORDER BY issued_on, certificate_no"
        );
        let rows: Vec<StoredCertificate> = on_db!(db, pool => {
            sqlx::query_as(&sql).bind(tenant).bind(person_id.to_string()).fetch_all(pool).await?
        });
        rows.into_iter().map(into_row).collect()
    }

    /// The certificates that can be used on `on`: within their validity and not invalidated by
    /// then, by person and number.
    pub async fn outstanding(db: &Db, tenant: &str, on: NaiveDate) -> Result<Vec<CertificateRow>, ProjectionError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM certificates WHERE tenant = $1 AND valid_from <= $2 AND valid_until >= $3 \
             AND (invalidated_on IS NULL OR invalidated_on > $4) ORDER BY person_id, certificate_no"
        );
        let on = on.to_string();
        let rows: Vec<StoredCertificate> = on_db!(db, pool => {
            sqlx::query_as(&sql).bind(tenant).bind(&on).bind(&on).bind(&on).fetch_all(pool).await?
        });
        rows.into_iter().map(into_row).collect()
    }
}
