//! `retention_dates`: per person, the latest date of each kind of record that keeps their data
//! (`projections/rules/retention.toml`), whether they are insured, and whether they were erased.
//!
//! It lets `kokuho retention run` find the persons whose retention has ended with one query
//! instead of reading every stream. Nothing personal: ids, dates and flags only.
//!
//! Which date each event contributes (the rule itself is in `src/retention.rs`):
//! - `PersonRegistered`: registration, the JST date the ledger recorded it;
//! - `EligibilityAcquired`: eligibility, its effective date, and insured from then on;
//! - `PaymentReceived`: payment, the day it was received;
//! - `PersonErased`: the position of the erasure.
//!
//! A page is folded per person in memory first (one upsert per person per page), and every fold
//! is order-insensitive across pages (latest date, first erasure, last eligibility event), so a
//! rebuild gives the same rows as the incremental path whatever the page boundaries.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use kokuho_events::{LedgerEvent, RetentionKind};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::models::person_registry::parse_uuid;
use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct RetentionDates;

const TABLES: &[TableDef] = &[TableDef {
    name: "retention_dates",
    ddl: &["CREATE TABLE {table} (
        tenant           TEXT   NOT NULL,
        person_id        TEXT   NOT NULL,
        registered_on    TEXT,
        eligibility_on   TEXT,
        insured          BIGINT,
        payment_on       TEXT,
        erased_position  BIGINT,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id))"],
    columns: &["tenant", "person_id", "registered_on", "eligibility_on", "insured", "payment_on", "erased_position"],
    key: &["tenant", "person_id"],
}];

/// Keeps the later of the stored and the new date; either may be NULL.
macro_rules! later {
    ($column:literal) => {
        concat!(
            $column, " = CASE WHEN excluded.", $column, " > {table}.", $column, " THEN excluded.", $column,
            " ELSE COALESCE({table}.", $column, ", excluded.", $column, ") END"
        )
    };
}

const UPSERT_HEAD: &str =
    "INSERT INTO {table} (tenant, person_id, registered_on, eligibility_on, insured, payment_on, erased_position)";
const UPSERT_TAIL: &str = concat!(
    "ON CONFLICT (tenant, person_id) DO UPDATE SET ",
    later!("registered_on"),
    ", ",
    later!("eligibility_on"),
    ", ",
    // The page's last eligibility event decides; a page without one leaves the flag alone.
    "insured = COALESCE(excluded.insured, {table}.insured), ",
    later!("payment_on"),
    ", ",
    // The first erasure is the one that counts.
    "erased_position = COALESCE({table}.erased_position, excluded.erased_position)"
);

/// What the ledger holds about one person that decides when their retention ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRetentionDates {
    pub registered_on: Option<NaiveDate>,
    /// When the person's eligibility last started or ended.
    pub eligibility_on: Option<NaiveDate>,
    /// `Some(true)` while insured; `None` when no eligibility event was seen.
    pub insured: Option<bool>,
    pub payment_on: Option<NaiveDate>,
    /// The position of the person's `PersonErased`, once erased.
    pub erased_position: Option<i64>,
}

impl PersonRetentionDates {
    /// The person an event counts for, when it counts for retention.
    pub fn person_of(event: &LedgerEvent) -> Option<Uuid> {
        match event {
            LedgerEvent::PersonRegistered(e) => Some(e.person_id),
            LedgerEvent::EligibilityAcquired(e) => Some(e.person_id),
            LedgerEvent::PaymentReceived(e) => Some(e.person_id),
            LedgerEvent::PersonErased(e) => Some(e.person_id),
            _ => None,
        }
    }

    /// Folds one event (at `position`, recorded at `recorded_at`) into the dates. The same fold
    /// serves the projection and `kokuho retention run`'s re-check of a person's own stream.
    pub fn observe(&mut self, event: &LedgerEvent, position: i64, recorded_at: DateTime<Utc>) {
        match event {
            LedgerEvent::PersonRegistered(_) => later(&mut self.registered_on, jst_date(recorded_at)),
            LedgerEvent::EligibilityAcquired(e) => {
                later(&mut self.eligibility_on, e.effective_on);
                self.insured = Some(true);
            }
            // The loss of eligibility (another issue) adds one arm here: its effective date into
            // `eligibility_on`, and `insured = Some(false)`.
            LedgerEvent::PaymentReceived(e) => later(&mut self.payment_on, e.received_on),
            LedgerEvent::PersonErased(_) => {
                self.erased_position.get_or_insert(position);
            }
            _ => {}
        }
    }

    /// The latest date of a kind of record, if the person has one.
    pub fn latest(&self, kind: RetentionKind) -> Option<NaiveDate> {
        match kind {
            RetentionKind::Registration => self.registered_on,
            RetentionKind::Eligibility => self.eligibility_on,
            RetentionKind::Payment => self.payment_on,
            // No event records a provision yet.
            RetentionKind::Provision => None,
        }
    }

    pub fn is_insured(&self) -> bool {
        self.insured == Some(true)
    }
}

fn later(slot: &mut Option<NaiveDate>, date: NaiveDate) {
    if !matches!(slot, Some(known) if *known >= date) {
        *slot = Some(date);
    }
}

/// Japan Standard Time: the civil date of every rule in this domain.
fn jst_date(at: DateTime<Utc>) -> NaiveDate {
    let jst = FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    at.with_timezone(&jst).date_naive()
}

fn date_value(date: Option<NaiveDate>) -> SqlValue {
    date.map_or(SqlValue::NullText, |date| SqlValue::Text(date.to_string()))
}

impl Projection for RetentionDates {
    fn name(&self) -> &'static str {
        "retention_dates"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        // BTreeMap: the writes come out in key order, the same on every path.
        let mut persons: BTreeMap<Uuid, PersonRetentionDates> = BTreeMap::new();
        for projected in events {
            if let Some(person_id) = PersonRetentionDates::person_of(&projected.event) {
                persons.entry(person_id).or_default().observe(&projected.event, projected.position, projected.recorded_at);
            }
        }
        for (person_id, dates) in persons {
            out.insert(
                "retention_dates",
                UPSERT_HEAD,
                UPSERT_TAIL,
                vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Text(person_id.to_string()),
                    date_value(dates.registered_on),
                    date_value(dates.eligibility_on),
                    dates.insured.map_or(SqlValue::NullInt, |insured| SqlValue::Int(i64::from(insured))),
                    date_value(dates.payment_on),
                    dates.erased_position.map_or(SqlValue::NullInt, SqlValue::Int),
                ],
            );
        }
    }
}

/// For each kind, the latest date that can still have run out by the day asked about: a person
/// with a later date of that kind is certainly still within retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCutoffs {
    pub registration: NaiveDate,
    pub eligibility: NaiveDate,
    pub payment: NaiveDate,
}

impl RetentionDates {
    /// Persons on file not yet erased.
    pub async fn count_not_erased(db: &Db, tenant: &str) -> Result<i64, ProjectionError> {
        Ok(on_db!(db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM retention_dates WHERE tenant = $1 AND erased_position IS NULL")
                .bind(tenant)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Up to `limit` persons after `after` (by id) who are neither erased nor insured and whose
    /// every date is at or before its kind's cutoff: the candidates, for the exact rule to judge.
    pub async fn candidates(
        db: &Db,
        tenant: &str,
        cutoffs: &RetentionCutoffs,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<(Uuid, PersonRetentionDates)>, ProjectionError> {
        type Row = (String, Option<String>, Option<String>, Option<i64>, Option<String>);
        let rows: Vec<Row> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT person_id, registered_on, eligibility_on, insured, payment_on FROM retention_dates \
                 WHERE tenant = $1 AND person_id > $2 AND erased_position IS NULL \
                 AND (insured IS NULL OR insured = 0) \
                 AND (registered_on IS NULL OR registered_on <= $3) \
                 AND (eligibility_on IS NULL OR eligibility_on <= $4) \
                 AND (payment_on IS NULL OR payment_on <= $5) \
                 ORDER BY person_id LIMIT $6",
            )
            .bind(tenant)
            // Hyphenated UUIDs sort as text; the empty string precedes them all.
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(cutoffs.registration.to_string())
            .bind(cutoffs.eligibility.to_string())
            .bind(cutoffs.payment.to_string())
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(person_id, registered_on, eligibility_on, insured, payment_on)| {
                Ok((
                    parse_uuid(&person_id)?,
                    PersonRetentionDates {
                        registered_on: registered_on.as_deref().map(parse_date).transpose()?,
                        eligibility_on: eligibility_on.as_deref().map(parse_date).transpose()?,
                        insured: insured.map(|flag| flag != 0),
                        payment_on: payment_on.as_deref().map(parse_date).transpose()?,
                        erased_position: None,
                    },
                ))
            })
            .collect()
    }

    /// One person's row, if the projection has seen them.
    pub async fn of_person(db: &Db, tenant: &str, person_id: Uuid) -> Result<Option<PersonRetentionDates>, ProjectionError> {
        type Row = (Option<String>, Option<String>, Option<i64>, Option<String>, Option<i64>);
        let row: Option<Row> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT registered_on, eligibility_on, insured, payment_on, erased_position FROM retention_dates \
                 WHERE tenant = $1 AND person_id = $2",
            )
            .bind(tenant)
            .bind(person_id.to_string())
            .fetch_optional(pool)
            .await?
        });
        row.map(|(registered_on, eligibility_on, insured, payment_on, erased_position)| {
            Ok(PersonRetentionDates {
                registered_on: registered_on.as_deref().map(parse_date).transpose()?,
                eligibility_on: eligibility_on.as_deref().map(parse_date).transpose()?,
                insured: insured.map(|flag| flag != 0),
                payment_on: payment_on.as_deref().map(parse_date).transpose()?,
                erased_position,
            })
        })
        .transpose()
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, ProjectionError> {
    text.parse().map_err(|_| ProjectionError::Corrupt(format!("{text:?} is not a date")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuho_events::{AcquisitionReason, EligibilityAcquired, PaymentChannel, PaymentReceived, PersonErased};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn payment(person_id: Uuid, received_on: NaiveDate) -> LedgerEvent {
        LedgerEvent::PaymentReceived(PaymentReceived {
            person_id,
            fiscal_year: 2025,
            amount_yen: 1_000,
            received_on,
            channel: PaymentChannel::Counter,
        })
    }

    #[test]
    fn dates_keep_the_latest_and_the_first_erasure_whatever_the_order() {
        let person = Uuid::nil();
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let acquired = LedgerEvent::EligibilityAcquired(EligibilityAcquired {
            person_id: person,
            reason: AcquisitionReason::MovedIn,
            event_date: date(2025, 4, 1),
            effective_on: date(2025, 4, 1),
            notified_on: date(2025, 4, 3),
            period_id: Uuid::nil(),
            notification_late: false,
            acquisition: kokuho_events::Acquisition { source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into() },
            former_municipality: None,
        });
        let erased = |ended| {
            LedgerEvent::PersonErased(PersonErased {
                person_id: person,
                retention_kind: RetentionKind::Payment,
                retention_ended_on: ended,
                rule_source: "s".into(),
                rules_sha256: "h".into(),
            })
        };
        let events = [payment(person, date(2025, 9, 1)), acquired, payment(person, date(2025, 7, 31)), erased(date(2030, 9, 1))];
        let mut forward = PersonRetentionDates::default();
        for (index, event) in events.iter().enumerate() {
            forward.observe(event, index as i64 + 1, at);
        }
        assert_eq!(forward.payment_on, Some(date(2025, 9, 1)), "a late-recorded earlier payment does not move the date back");
        assert_eq!(forward.eligibility_on, Some(date(2025, 4, 1)));
        assert!(forward.is_insured());
        assert_eq!(forward.erased_position, Some(4));
        forward.observe(&erased(date(2031, 1, 1)), 9, at);
        assert_eq!(forward.erased_position, Some(4), "the first erasure counts");
        assert_eq!(forward.latest(RetentionKind::Payment), Some(date(2025, 9, 1)));
        assert_eq!(forward.latest(RetentionKind::Registration), None);
    }

    #[test]
    fn registration_counts_from_the_japanese_date_it_was_recorded() {
        let registered = LedgerEvent::PersonRegistered(kokuho_events::PersonRegistered {
            person_id: Uuid::nil(),
            atena_no: "1".into(),
            acquisition: kokuho_events::Acquisition { source: "resident_registry".into(), legal_basis: "b".into() },
            personal: kokuho_events::Personal::Unavailable,
        });
        let mut dates = PersonRetentionDates::default();
        // 2025-03-31 20:00 UTC is already 1 April in Japan.
        dates.observe(&registered, 1, "2025-03-31T20:00:00Z".parse().unwrap());
        assert_eq!(dates.registered_on, Some(date(2025, 4, 1)));
    }
}
