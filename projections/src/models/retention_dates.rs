//! `retention_dates`: per person, the latest date of each kind of record that keeps their data
//! (`rules/retention.toml`), whether they are insured, and whether they were erased.
//!
//! It lets `kokuho retention run` find the persons whose retention has ended with one query
//! instead of reading every stream. Nothing personal: ids, dates and flags only.
//!
//! Which date each event contributes (the rule itself is in `crates/jobs/src/retention.rs`):
//! - `PersonRegistered`: registration, the JST date the ledger recorded it;
//! - eligibility: the record's retention runs from the day eligibility **ended**, so what counts
//!   is each insured period as currently recorded (`EligibilityAcquired` opens one,
//!   `EligibilityLost` sets its loss date, `EligibilityCorrected` restates it — a loss entered in
//!   error and corrected away reopens it — and `EligibilityWithdrawn` removes it: a period that
//!   never existed keeps no one). The person is insured while any period is open; otherwise the
//!   eligibility date is the latest loss date of their periods;
//! - `PersonDied`: nobody is insured after their death, so a period still open at death (a
//!   retroactive acquisition recorded afterwards, say) counts as ended on the death's loss date
//!   (the day after, 国民健康保険法 §8①);
//! - `PaymentReceived`: payment, the day it was received;
//! - `PersonErased`: the position of the erasure.
//!
//! [`RetentionFold`] is that rule over a whole stream (`kokuho retention run`'s re-check). The
//! projection keeps the same facts in two tables: `retention_dates` (per person, folded per page
//! and upserted: latest date, first erasure, last death) and `retention_periods` (per period:
//! its loss date and whether it was withdrawn, `eligibility_periods::PERIOD_ENDS_DDL`), and its
//! queries derive the eligibility date and the insured flag from them exactly as
//! [`RetentionFold::dates`] does. So a rebuild gives the same rows as the incremental path
//! whatever the page boundaries.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use kokuho_domain::eligibility::{loss_effective_on, EligibilityRules};
use kokuho_events::{LedgerEvent, LossReason, RetentionKind};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::models::eligibility_periods::{PeriodEndFold, PERIOD_ENDS_DDL, PERIOD_END_COLUMNS, PERIOD_END_KEY};
use crate::models::person_registry::parse_uuid;
use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct RetentionDates;

const TABLES: &[TableDef] = &[
    TableDef {
        name: "retention_dates",
        ddl: &["CREATE TABLE {table} (
            tenant           TEXT   NOT NULL,
            person_id        TEXT   NOT NULL,
            registered_on    TEXT,
            payment_on       TEXT,
            death_lost_on    TEXT,
            erased_position  BIGINT,
            CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id))"],
        columns: &["tenant", "person_id", "registered_on", "payment_on", "death_lost_on", "erased_position"],
        key: &["tenant", "person_id"],
    },
    TableDef { name: "retention_periods", ddl: &[PERIOD_ENDS_DDL], columns: PERIOD_END_COLUMNS, key: PERIOD_END_KEY },
];

/// Keeps the later of the stored and the new date; either may be NULL.
macro_rules! later {
    ($column:literal) => {
        concat!(
            $column,
            " = CASE WHEN excluded.",
            $column,
            " > {table}.",
            $column,
            " THEN excluded.",
            $column,
            " ELSE COALESCE({table}.",
            $column,
            ", excluded.",
            $column,
            ") END"
        )
    };
}

const UPSERT_HEAD: &str =
    "INSERT INTO {table} (tenant, person_id, registered_on, payment_on, death_lost_on, erased_position)";
const UPSERT_TAIL: &str = concat!(
    "ON CONFLICT (tenant, person_id) DO UPDATE SET ",
    later!("registered_on"),
    ", ",
    later!("payment_on"),
    ", ",
    // The last death recorded counts, as in the person aggregate.
    "death_lost_on = COALESCE(excluded.death_lost_on, {table}.death_lost_on), ",
    // The first erasure is the one that counts.
    "erased_position = COALESCE({table}.erased_position, excluded.erased_position)"
);

/// The eligibility date and the insured flag from `retention_dates d` and its periods: the
/// same rule as [`RetentionFold::dates`].
const DERIVED_COLUMNS: &str = "(SELECT MAX(COALESCE(p.lost_on, d.death_lost_on)) FROM retention_periods p \
        WHERE p.tenant = d.tenant AND p.person_id = d.person_id AND p.withdrawn = 0) AS eligibility_on, \
    CASE WHEN NOT EXISTS (SELECT 1 FROM retention_periods p WHERE p.tenant = d.tenant AND p.person_id = d.person_id) \
         THEN NULL \
         WHEN EXISTS (SELECT 1 FROM retention_periods p WHERE p.tenant = d.tenant AND p.person_id = d.person_id \
             AND p.withdrawn = 0 AND p.lost_on IS NULL AND d.death_lost_on IS NULL) \
         THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS insured";

/// What the ledger holds about one person that decides when their retention ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRetentionDates {
    pub registered_on: Option<NaiveDate>,
    /// When the person's eligibility last ended: the latest loss date of their periods as now
    /// recorded (withdrawn ones left out). Meaningless while insured.
    pub eligibility_on: Option<NaiveDate>,
    /// `Some(true)` while a period is open; `None` when no period was ever recorded.
    pub insured: Option<bool>,
    pub payment_on: Option<NaiveDate>,
    /// The position of the person's `PersonErased`, once erased.
    pub erased_position: Option<i64>,
}

impl PersonRetentionDates {
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

/// Folds one person's events, in stream order, into their [`PersonRetentionDates`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionFold {
    registered_on: Option<NaiveDate>,
    payment_on: Option<NaiveDate>,
    erased_position: Option<i64>,
    /// The first day not insured by death (the day after it), once dead.
    death_lost_on: Option<NaiveDate>,
    /// The current periods: their loss date, `None` while open. Withdrawn ones are removed.
    periods: BTreeMap<Uuid, Option<NaiveDate>>,
    /// Whether any period was ever recorded (withdrawn ones included).
    eligibility_recorded: bool,
}

impl RetentionFold {
    /// The person an event counts for, when it counts for retention.
    pub fn person_of(event: &LedgerEvent) -> Option<Uuid> {
        match event {
            LedgerEvent::PersonRegistered(e) => Some(e.person_id),
            LedgerEvent::EligibilityAcquired(e) => Some(e.person_id),
            LedgerEvent::EligibilityLost(e) => Some(e.person_id),
            LedgerEvent::EligibilityCorrected(e) => Some(e.person_id),
            LedgerEvent::EligibilityWithdrawn(e) => Some(e.person_id),
            LedgerEvent::PersonDied(e) => Some(e.person_id),
            LedgerEvent::PaymentReceived(e) => Some(e.person_id),
            LedgerEvent::PersonErased(e) => Some(e.person_id),
            _ => None,
        }
    }

    /// Folds one event (at `position`, recorded at `recorded_at`).
    pub fn observe(&mut self, event: &LedgerEvent, position: i64, recorded_at: DateTime<Utc>) {
        match event {
            LedgerEvent::PersonRegistered(_) => later(&mut self.registered_on, jst_date(recorded_at)),
            LedgerEvent::EligibilityAcquired(e) => {
                self.periods.entry(e.period_id).or_insert(None);
                self.eligibility_recorded = true;
            }
            LedgerEvent::EligibilityLost(e) => {
                if let Some(lost_on) = self.periods.get_mut(&e.period_id) {
                    *lost_on = Some(e.lost_on);
                }
            }
            LedgerEvent::EligibilityCorrected(e) => {
                if let Some(lost_on) = self.periods.get_mut(&e.period_id) {
                    *lost_on = e.end.as_ref().map(|end| end.lost_on);
                }
            }
            LedgerEvent::EligibilityWithdrawn(e) => {
                self.periods.remove(&e.period_id);
            }
            LedgerEvent::PersonDied(e) => self.death_lost_on = Some(death_lost_on(e.died_on)),
            LedgerEvent::PaymentReceived(e) => later(&mut self.payment_on, e.received_on),
            LedgerEvent::PersonErased(_) => {
                self.erased_position.get_or_insert(position);
            }
            _ => {}
        }
    }

    pub fn dates(&self) -> PersonRetentionDates {
        // A period still open at death ends with it.
        let ends = || self.periods.values().map(|lost_on| lost_on.or(self.death_lost_on));
        PersonRetentionDates {
            registered_on: self.registered_on,
            eligibility_on: ends().flatten().max(),
            insured: self.eligibility_recorded.then(|| ends().any(|end| end.is_none())),
            payment_on: self.payment_on,
            erased_position: self.erased_position,
        }
    }
}

/// The first day not insured after dying on `died_on`.
fn death_lost_on(died_on: NaiveDate) -> NaiveDate {
    // The death rule takes no setting; the national defaults are as good as any tenant's.
    loss_effective_on(LossReason::Death, died_on, &EligibilityRules::national_defaults())
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
        // BTreeMap: the writes come out in key order, the same on every path. The page's fold of
        // each person gives the dates that only grow (and the death); periods go to their table.
        let mut persons: BTreeMap<Uuid, RetentionFold> = BTreeMap::new();
        let mut periods = PeriodEndFold::default();
        for projected in events {
            if let Some(person_id) = RetentionFold::person_of(&projected.event) {
                persons.entry(person_id).or_default().observe(
                    &projected.event,
                    projected.position,
                    projected.recorded_at,
                );
                periods.observe(&projected.event);
            }
        }
        for (person_id, fold) in persons {
            out.insert(
                "retention_dates",
                UPSERT_HEAD,
                UPSERT_TAIL,
                vec![
                    SqlValue::Text(tenant.to_owned()),
                    SqlValue::Text(person_id.to_string()),
                    date_value(fold.registered_on),
                    date_value(fold.payment_on),
                    date_value(fold.death_lost_on),
                    fold.erased_position.map_or(SqlValue::NullInt, SqlValue::Int),
                ],
            );
        }
        periods.write("retention_periods", tenant, out);
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

type StoredDates = (String, Option<String>, Option<String>, Option<i64>, Option<String>, Option<i64>);

fn into_dates(
    (person_id, registered_on, payment_on, erased_position, eligibility_on, insured): StoredDates,
) -> Result<(Uuid, PersonRetentionDates), ProjectionError> {
    Ok((
        parse_uuid(&person_id)?,
        PersonRetentionDates {
            registered_on: registered_on.as_deref().map(parse_date).transpose()?,
            eligibility_on: eligibility_on.as_deref().map(parse_date).transpose()?,
            insured: insured.map(|flag| flag != 0),
            payment_on: payment_on.as_deref().map(parse_date).transpose()?,
            erased_position,
        },
    ))
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
        let sql = format!(
            "SELECT d.person_id, d.registered_on, d.payment_on, d.erased_position, {DERIVED_COLUMNS} \
             FROM retention_dates d \
             WHERE d.tenant = $1 AND d.person_id > $2 AND d.erased_position IS NULL \
             AND (d.registered_on IS NULL OR d.registered_on <= $3) \
             AND (d.payment_on IS NULL OR d.payment_on <= $4) \
             AND NOT EXISTS (SELECT 1 FROM retention_periods p WHERE p.tenant = d.tenant AND p.person_id = d.person_id \
                 AND p.withdrawn = 0 \
                 AND (COALESCE(p.lost_on, d.death_lost_on) IS NULL OR COALESCE(p.lost_on, d.death_lost_on) > $5)) \
             ORDER BY d.person_id LIMIT $6"
        );
        let rows: Vec<StoredDates> = on_db!(db, pool => {
            sqlx::query_as(&sql)
                .bind(tenant)
                // Hyphenated UUIDs sort as text; the empty string precedes them all.
                .bind(after.map(|id| id.to_string()).unwrap_or_default())
                .bind(cutoffs.registration.to_string())
                .bind(cutoffs.payment.to_string())
                .bind(cutoffs.eligibility.to_string())
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(into_dates).collect()
    }

    /// One person's row, if the projection has seen them.
    pub async fn of_person(
        db: &Db,
        tenant: &str,
        person_id: Uuid,
    ) -> Result<Option<PersonRetentionDates>, ProjectionError> {
        let sql = format!(
            "SELECT d.person_id, d.registered_on, d.payment_on, d.erased_position, {DERIVED_COLUMNS} \
             FROM retention_dates d WHERE d.tenant = $1 AND d.person_id = $2"
        );
        let row: Option<StoredDates> = on_db!(db, pool => {
            sqlx::query_as(&sql).bind(tenant).bind(person_id.to_string()).fetch_optional(pool).await?
        });
        row.map(|row| into_dates(row).map(|(_, dates)| dates)).transpose()
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, ProjectionError> {
    text.parse().map_err(|_| ProjectionError::Corrupt(format!("{text:?} is not a date")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuho_events::{
        Acquisition, AcquisitionReason, CorrectionReason, EligibilityAcquired, EligibilityCorrected, EligibilityEnd,
        EligibilityLost, EligibilityStart, EligibilityWithdrawn, PaymentChannel, PaymentReceived, PersonDied,
        PersonErased,
    };

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn source() -> Acquisition {
        Acquisition { source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into() }
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

    fn acquired(period: u128, effective_on: NaiveDate) -> LedgerEvent {
        LedgerEvent::EligibilityAcquired(EligibilityAcquired {
            person_id: Uuid::nil(),
            reason: AcquisitionReason::MovedIn,
            event_date: effective_on,
            effective_on,
            notified_on: effective_on,
            period_id: Uuid::from_u128(period),
            notification_late: false,
            acquisition: source(),
            former_municipality: None,
        })
    }

    fn lost(period: u128, lost_on: NaiveDate) -> LedgerEvent {
        LedgerEvent::EligibilityLost(EligibilityLost {
            person_id: Uuid::nil(),
            period_id: Uuid::from_u128(period),
            reason: LossReason::MovedOut,
            event_date: lost_on.pred_opt().unwrap(),
            lost_on,
            notified_on: lost_on,
            notification_late: false,
            acquisition: source(),
        })
    }

    fn corrected(period: u128, effective_on: NaiveDate, lost_on: Option<NaiveDate>) -> LedgerEvent {
        LedgerEvent::EligibilityCorrected(EligibilityCorrected {
            person_id: Uuid::nil(),
            period_id: Uuid::from_u128(period),
            start: EligibilityStart {
                reason: AcquisitionReason::MovedIn,
                event_date: effective_on,
                effective_on,
                notified_on: effective_on,
                notification_late: false,
            },
            end: lost_on.map(|lost_on| EligibilityEnd {
                reason: LossReason::MovedOut,
                event_date: lost_on.pred_opt().unwrap(),
                lost_on,
                notified_on: lost_on,
                notification_late: false,
            }),
            former_municipality: None,
            correction_reason: CorrectionReason::EntryError,
        })
    }

    fn withdrawn(period: u128) -> LedgerEvent {
        LedgerEvent::EligibilityWithdrawn(EligibilityWithdrawn {
            person_id: Uuid::nil(),
            period_id: Uuid::from_u128(period),
            correction_reason: CorrectionReason::EntryError,
        })
    }

    fn died(died_on: NaiveDate) -> LedgerEvent {
        LedgerEvent::PersonDied(PersonDied {
            person_id: Uuid::nil(),
            died_on,
            notified_on: died_on,
            acquisition: source(),
        })
    }

    #[test]
    fn eligibility_counts_from_the_end_of_the_periods_as_now_recorded() {
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        // (events, insured, eligibility date): what each history leaves for retention.
        type Case = (&'static str, Vec<LedgerEvent>, Option<bool>, Option<NaiveDate>);
        let table: Vec<Case> = vec![
            ("never insured", vec![], None, None),
            ("open period", vec![acquired(1, date(2020, 4, 1))], Some(true), None),
            (
                "lost",
                vec![acquired(1, date(2020, 4, 1)), lost(1, date(2022, 7, 1))],
                Some(false),
                Some(date(2022, 7, 1)),
            ),
            (
                "the latest loss of two periods",
                vec![
                    acquired(1, date(2018, 1, 1)),
                    lost(1, date(2019, 1, 1)),
                    acquired(2, date(2020, 4, 1)),
                    lost(2, date(2022, 7, 1)),
                ],
                Some(false),
                Some(date(2022, 7, 1)),
            ),
            (
                "re-acquired after a loss",
                vec![acquired(1, date(2018, 1, 1)), lost(1, date(2019, 1, 1)), acquired(2, date(2020, 4, 1))],
                Some(true),
                Some(date(2019, 1, 1)),
            ),
            (
                "a loss entered in error, corrected away",
                vec![acquired(1, date(2020, 4, 1)), lost(1, date(2022, 7, 1)), corrected(1, date(2020, 4, 1), None)],
                Some(true),
                None,
            ),
            (
                "a correction moves the loss earlier",
                vec![
                    acquired(1, date(2020, 4, 1)),
                    lost(1, date(2030, 7, 1)),
                    corrected(1, date(2020, 4, 1), Some(date(2021, 7, 1))),
                ],
                Some(false),
                Some(date(2021, 7, 1)),
            ),
            ("the only period withdrawn", vec![acquired(1, date(2020, 4, 1)), withdrawn(1)], Some(false), None),
            (
                "the open period withdrawn, a lost one stays",
                vec![
                    acquired(1, date(2018, 1, 1)),
                    lost(1, date(2019, 1, 1)),
                    acquired(2, date(2020, 4, 1)),
                    withdrawn(2),
                ],
                Some(false),
                Some(date(2019, 1, 1)),
            ),
            (
                "a withdrawn period is not lost again",
                vec![acquired(1, date(2020, 4, 1)), withdrawn(1), lost(1, date(2022, 1, 1))],
                Some(false),
                None,
            ),
            (
                "death ends an open period the next day",
                vec![acquired(1, date(2020, 4, 1)), died(date(2024, 2, 28))],
                Some(false),
                Some(date(2024, 2, 29)),
            ),
            ("death without a period", vec![died(date(2024, 2, 28))], None, None),
            (
                "death keeps an earlier loss",
                vec![acquired(1, date(2020, 4, 1)), lost(1, date(2022, 7, 1)), died(date(2024, 2, 28))],
                Some(false),
                Some(date(2022, 7, 1)),
            ),
        ];
        for (name, events, insured, eligibility_on) in table {
            let mut fold = RetentionFold::default();
            for (index, event) in events.iter().enumerate() {
                fold.observe(event, index as i64 + 1, at);
            }
            let dates = fold.dates();
            assert_eq!((dates.insured, dates.eligibility_on), (insured, eligibility_on), "{name}");
            assert_eq!(dates.latest(RetentionKind::Eligibility), eligibility_on, "{name}");
        }
    }

    #[test]
    fn dates_keep_the_latest_and_the_first_erasure_whatever_the_order() {
        let person = Uuid::nil();
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let erased = |ended| {
            LedgerEvent::PersonErased(PersonErased {
                person_id: person,
                retention_kind: RetentionKind::Payment,
                retention_ended_on: ended,
                rule_source: "s".into(),
                rules_sha256: "h".into(),
            })
        };
        let events = [
            payment(person, date(2025, 9, 1)),
            acquired(1, date(2025, 4, 1)),
            payment(person, date(2025, 7, 31)),
            erased(date(2030, 9, 1)),
        ];
        let mut forward = RetentionFold::default();
        for (index, event) in events.iter().enumerate() {
            forward.observe(event, index as i64 + 1, at);
        }
        let dates = forward.dates();
        assert_eq!(
            dates.payment_on,
            Some(date(2025, 9, 1)),
            "a late-recorded earlier payment does not move the date back"
        );
        assert!(dates.is_insured());
        assert_eq!(dates.erased_position, Some(4));
        forward.observe(&erased(date(2031, 1, 1)), 9, at);
        assert_eq!(forward.dates().erased_position, Some(4), "the first erasure counts");
        assert_eq!(dates.latest(RetentionKind::Payment), Some(date(2025, 9, 1)));
        assert_eq!(dates.latest(RetentionKind::Registration), None);
    }

    #[test]
    fn registration_counts_from_the_japanese_date_it_was_recorded() {
        let registered = LedgerEvent::PersonRegistered(kokuho_events::PersonRegistered {
            person_id: Uuid::nil(),
            atena_no: "1".into(),
            acquisition: kokuho_events::Acquisition { source: "resident_registry".into(), legal_basis: "b".into() },
            personal: kokuho_events::Personal::Unavailable,
        });
        let mut fold = RetentionFold::default();
        // 2025-03-31 20:00 UTC is already 1 April in Japan.
        fold.observe(&registered, 1, "2025-03-31T20:00:00Z".parse().unwrap());
        assert_eq!(fold.dates().registered_on, Some(date(2025, 4, 1)));
    }
}
