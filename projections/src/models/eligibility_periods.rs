//! `eligibility_periods`: each person's insured periods in valid time (資格), one row per period
//! as currently recorded, with the moves and late notifications the prefecture asks about.
//!
//! The row mirrors `kokuho_domain::person::InsuredPeriod` (the aggregate's own fold): the
//! acquisition inserts it, the loss fills its end, a correction restates every column (and
//! counts itself), a withdrawal marks it `withdrawn` — the row stays, so the table shows that
//! the period was entered and taken back, while every query about insured persons skips it.
//! Events for a withdrawn period change nothing, as in the aggregate. The ledger keeps every
//! original event: this table is only the current reading of them.
//!
//! Dates follow the ledger's convention: `effective_on` is the first day insured and `lost_on`
//! the first day *not* insured (NULL while insured). `continuity` compares the former city's loss
//! date with `effective_on` (`kokuho_domain::eligibility::move_continuity`): `continuous`, `gap` or
//! `overlap`, `continuity_days` days (0 when continuous); NULL when the period did not begin with
//! a move from a city of the same prefecture.
//!
//! A page is folded in memory: a period acquired in the page is inserted once, with whatever
//! the page did to it since, so a rebuild writes multi-row inserts; periods of earlier pages get
//! one UPDATE per event. Period ids are unique per person (the API and the bench make them with
//! `Uuid::now_v7`); were one ever reused, the first acquisition keeps the row.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kokuho_domain::eligibility::{move_continuity, MoveContinuity};
use kokuho_events::{
    AcquisitionReason, EligibilityAcquired, EligibilityEnd, EligibilityStart, FormerMunicipality, LedgerEvent,
    LossReason,
};
use kokuho_store::{on_db, Db};
use uuid::Uuid;

use crate::models::person_registry::parse_uuid;
use crate::{Projected, Projection, ProjectionError, SqlValue, TableDef, Writes};

pub struct EligibilityPeriods;

const TABLES: &[TableDef] = &[TableDef {
    name: "eligibility_periods",
    ddl: &[
        "CREATE TABLE {table} (
        tenant                    TEXT   NOT NULL,
        person_id                 TEXT   NOT NULL,
        period_id                 TEXT   NOT NULL,
        effective_on              TEXT   NOT NULL,
        lost_on                   TEXT,
        acquisition_reason        TEXT   NOT NULL,
        acquisition_event_date    TEXT   NOT NULL,
        notified_on               TEXT   NOT NULL,
        notification_late         BIGINT NOT NULL,
        loss_reason               TEXT,
        loss_event_date           TEXT,
        loss_notified_on          TEXT,
        loss_notification_late    BIGINT,
        former_municipality_code  TEXT,
        former_lost_on            TEXT,
        continuity                TEXT,
        continuity_days           BIGINT,
        corrections               BIGINT NOT NULL,
        withdrawn                 BIGINT NOT NULL,
        recorded_at               BIGINT NOT NULL,
        position                  BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id, period_id))",
        "CREATE INDEX {table}_effective_{gen} ON {table} (tenant, effective_on)",
        "CREATE INDEX {table}_notified_{gen} ON {table} (tenant, notified_on)",
        "CREATE INDEX {table}_loss_notified_{gen} ON {table} (tenant, loss_notified_on)",
    ],
    columns: &[
        "tenant",
        "person_id",
        "period_id",
        "effective_on",
        "lost_on",
        "acquisition_reason",
        "acquisition_event_date",
        "notified_on",
        "notification_late",
        "loss_reason",
        "loss_event_date",
        "loss_notified_on",
        "loss_notification_late",
        "former_municipality_code",
        "former_lost_on",
        "continuity",
        "continuity_days",
        "corrections",
        "withdrawn",
        "recorded_at",
        "position",
    ],
    key: &["tenant", "person_id", "period_id"],
}];

const INSERT_HEAD: &str = "INSERT INTO {table} (tenant, person_id, period_id, effective_on, lost_on, acquisition_reason, \
    acquisition_event_date, notified_on, notification_late, loss_reason, loss_event_date, loss_notified_on, \
    loss_notification_late, former_municipality_code, former_lost_on, continuity, continuity_days, corrections, withdrawn, \
    recorded_at, position)";
/// The first acquisition of a period id keeps the row (see the module docs).
const INSERT_TAIL: &str = "ON CONFLICT (tenant, person_id, period_id) DO NOTHING";

/// Statements on periods of earlier pages; `$1…$5` the end, then recorded_at, position, the key.
const UPDATE_LOST: &str =
    "UPDATE {table} SET lost_on = $1, loss_reason = $2, loss_event_date = $3, loss_notified_on = $4, \
    loss_notification_late = $5, recorded_at = $6, position = $7 \
    WHERE tenant = $8 AND person_id = $9 AND period_id = $10 AND withdrawn = 0";
const UPDATE_CORRECTED: &str = "UPDATE {table} SET effective_on = $1, acquisition_reason = $2, acquisition_event_date = $3, \
    notified_on = $4, notification_late = $5, lost_on = $6, loss_reason = $7, loss_event_date = $8, loss_notified_on = $9, \
    loss_notification_late = $10, former_municipality_code = $11, former_lost_on = $12, continuity = $13, \
    continuity_days = $14, corrections = corrections + 1, recorded_at = $15, position = $16 \
    WHERE tenant = $17 AND person_id = $18 AND period_id = $19 AND withdrawn = 0";
const UPDATE_WITHDRAWN: &str = "UPDATE {table} SET withdrawn = 1, recorded_at = $1, position = $2 \
    WHERE tenant = $3 AND person_id = $4 AND period_id = $5 AND withdrawn = 0";

/// One period as the page has folded it (acquired in this page).
struct PeriodRecord {
    start: EligibilityStart,
    end: Option<EligibilityEnd>,
    former_municipality: Option<FormerMunicipality>,
    corrections: i64,
    withdrawn: bool,
    recorded_at: DateTime<Utc>,
    position: i64,
}

impl PeriodRecord {
    fn acquired(event: &EligibilityAcquired, projected: &Projected) -> PeriodRecord {
        PeriodRecord {
            start: EligibilityStart {
                reason: event.reason,
                event_date: event.event_date,
                effective_on: event.effective_on,
                notified_on: event.notified_on,
                notification_late: event.notification_late,
            },
            end: None,
            former_municipality: event.former_municipality.clone(),
            corrections: 0,
            withdrawn: false,
            recorded_at: projected.recorded_at,
            position: projected.position,
        }
    }
}

fn text(value: impl ToString) -> SqlValue {
    SqlValue::Text(value.to_string())
}

fn flag(value: bool) -> SqlValue {
    SqlValue::Int(i64::from(value))
}

/// The snake_case name an enum serializes to (the stored form of reasons and shares).
pub(crate) fn enum_text<T: serde::Serialize>(value: T) -> SqlValue {
    match serde_json::to_value(value).expect("enums serialize") {
        serde_json::Value::String(name) => SqlValue::Text(name),
        other => unreachable!("a unit variant serializes to a string, not {other}"),
    }
}

/// The value of a stored enum name.
pub(crate) fn parse_enum<T: serde::de::DeserializeOwned>(name: &str) -> Result<T, ProjectionError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| ProjectionError::Corrupt(format!("{name:?} is not a known value")))
}

/// `start` columns: effective_on, acquisition_reason, acquisition_event_date, notified_on,
/// notification_late.
fn start_values(start: &EligibilityStart) -> [SqlValue; 5] {
    [
        text(start.effective_on),
        enum_text(start.reason),
        text(start.event_date),
        text(start.notified_on),
        flag(start.notification_late),
    ]
}

/// `end` columns: lost_on, loss_reason, loss_event_date, loss_notified_on, loss_notification_late.
fn end_values(end: Option<&EligibilityEnd>) -> [SqlValue; 5] {
    match end {
        Some(end) => [
            text(end.lost_on),
            enum_text(end.reason),
            text(end.event_date),
            text(end.notified_on),
            flag(end.notification_late),
        ],
        None => [SqlValue::NullText, SqlValue::NullText, SqlValue::NullText, SqlValue::NullText, SqlValue::NullInt],
    }
}

/// Move columns: former_municipality_code, former_lost_on, continuity, continuity_days.
fn move_values(former: Option<&FormerMunicipality>, effective_on: NaiveDate) -> [SqlValue; 4] {
    let Some(former) = former else {
        return [SqlValue::NullText, SqlValue::NullText, SqlValue::NullText, SqlValue::NullInt];
    };
    let (kind, days) = match move_continuity(former.lost_on, effective_on) {
        MoveContinuity::Continuous => ("continuous", 0),
        MoveContinuity::Gap { days, .. } => ("gap", days),
        MoveContinuity::Overlap { days, .. } => ("overlap", days),
    };
    [text(&former.municipality_code), text(former.lost_on), text(kind), SqlValue::Int(days)]
}

impl Projection for EligibilityPeriods {
    fn name(&self) -> &'static str {
        "eligibility_periods"
    }

    fn tables(&self) -> &'static [TableDef] {
        TABLES
    }

    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes) {
        // BTreeMap: the inserts come out in key order, the same on every path.
        let mut acquired: BTreeMap<(Uuid, Uuid), PeriodRecord> = BTreeMap::new();
        let mut updates = Writes::default();
        let key = |person_id: Uuid, period_id: Uuid| [text(tenant), text(person_id), text(period_id)];
        let stamp = |projected: &Projected| {
            [SqlValue::Int(projected.recorded_at.timestamp_micros()), SqlValue::Int(projected.position)]
        };
        for projected in events {
            match &projected.event {
                LedgerEvent::EligibilityAcquired(e) => {
                    acquired.entry((e.person_id, e.period_id)).or_insert_with(|| PeriodRecord::acquired(e, projected));
                }
                LedgerEvent::EligibilityLost(e) => {
                    let end = EligibilityEnd {
                        reason: e.reason,
                        event_date: e.event_date,
                        lost_on: e.lost_on,
                        notified_on: e.notified_on,
                        notification_late: e.notification_late,
                    };
                    match acquired.get_mut(&(e.person_id, e.period_id)) {
                        Some(record) if record.withdrawn => {}
                        Some(record) => {
                            record.end = Some(end);
                            (record.recorded_at, record.position) = (projected.recorded_at, projected.position);
                        }
                        None => {
                            let mut args = Vec::from(end_values(Some(&end)));
                            args.extend(stamp(projected));
                            args.extend(key(e.person_id, e.period_id));
                            updates.other("eligibility_periods", UPDATE_LOST, args);
                        }
                    }
                }
                LedgerEvent::EligibilityCorrected(e) => match acquired.get_mut(&(e.person_id, e.period_id)) {
                    Some(record) if record.withdrawn => {}
                    Some(record) => {
                        record.start = e.start.clone();
                        record.end = e.end.clone();
                        record.former_municipality = e.former_municipality.clone();
                        record.corrections += 1;
                        (record.recorded_at, record.position) = (projected.recorded_at, projected.position);
                    }
                    None => {
                        let mut args = Vec::from(start_values(&e.start));
                        args.extend(end_values(e.end.as_ref()));
                        args.extend(move_values(e.former_municipality.as_ref(), e.start.effective_on));
                        args.extend(stamp(projected));
                        args.extend(key(e.person_id, e.period_id));
                        updates.other("eligibility_periods", UPDATE_CORRECTED, args);
                    }
                },
                LedgerEvent::EligibilityWithdrawn(e) => match acquired.get_mut(&(e.person_id, e.period_id)) {
                    Some(record) if record.withdrawn => {}
                    Some(record) => {
                        record.withdrawn = true;
                        (record.recorded_at, record.position) = (projected.recorded_at, projected.position);
                    }
                    None => {
                        let mut args = Vec::from(stamp(projected));
                        args.extend(key(e.person_id, e.period_id));
                        updates.other("eligibility_periods", UPDATE_WITHDRAWN, args);
                    }
                },
                _ => {}
            }
        }
        for ((person_id, period_id), record) in acquired {
            let mut row = Vec::from(key(person_id, period_id));
            let [effective_on, reason, event_date, notified_on, late] = start_values(&record.start);
            row.push(effective_on);
            row.push(end_values(record.end.as_ref())[0].clone());
            row.extend([reason, event_date, notified_on, late]);
            row.extend(end_values(record.end.as_ref()).into_iter().skip(1));
            row.extend(move_values(record.former_municipality.as_ref(), record.start.effective_on));
            row.extend([
                SqlValue::Int(record.corrections),
                flag(record.withdrawn),
                SqlValue::Int(record.recorded_at.timestamp_micros()),
                SqlValue::Int(record.position),
            ]);
            out.insert("eligibility_periods", INSERT_HEAD, INSERT_TAIL, row);
        }
        // Rows of earlier pages, in event order; none of them is a row inserted above.
        out.statements.extend(updates.statements);
    }
}

/// One insured period as currently recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EligibilityPeriodRow {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub effective_on: NaiveDate,
    /// First day not insured; `None` while insured.
    pub lost_on: Option<NaiveDate>,
    pub acquisition_reason: AcquisitionReason,
    pub acquisition_event_date: NaiveDate,
    pub notified_on: NaiveDate,
    pub notification_late: bool,
    pub loss_reason: Option<LossReason>,
    pub loss_event_date: Option<NaiveDate>,
    pub loss_notified_on: Option<NaiveDate>,
    pub loss_notification_late: Option<bool>,
    pub former_municipality_code: Option<String>,
    pub former_lost_on: Option<NaiveDate>,
    /// How the former city's period meets this one, for a move within the prefecture.
    pub continuity: Option<MoveContinuity>,
    /// How many corrections restated the period.
    pub corrections: i64,
    /// Withdrawn: the period never existed; it counts for nothing.
    pub withdrawn: bool,
    /// When the last event applied to the row was recorded, and its position.
    pub recorded_at: DateTime<Utc>,
    pub position: i64,
}

#[derive(sqlx::FromRow)]
struct StoredPeriod {
    person_id: String,
    period_id: String,
    effective_on: String,
    lost_on: Option<String>,
    acquisition_reason: String,
    acquisition_event_date: String,
    notified_on: String,
    notification_late: i64,
    loss_reason: Option<String>,
    loss_event_date: Option<String>,
    loss_notified_on: Option<String>,
    loss_notification_late: Option<i64>,
    former_municipality_code: Option<String>,
    former_lost_on: Option<String>,
    corrections: i64,
    withdrawn: i64,
    recorded_at: i64,
    position: i64,
}

const ROW_COLUMNS: &str = "person_id, period_id, effective_on, lost_on, acquisition_reason, acquisition_event_date, \
    notified_on, notification_late, loss_reason, loss_event_date, loss_notified_on, loss_notification_late, \
    former_municipality_code, former_lost_on, corrections, withdrawn, recorded_at, position";

impl StoredPeriod {
    fn into_row(self) -> Result<EligibilityPeriodRow, ProjectionError> {
        let effective_on = parse_date(&self.effective_on)?;
        let former_lost_on = parse_optional_date(self.former_lost_on.as_deref())?;
        Ok(EligibilityPeriodRow {
            person_id: parse_uuid(&self.person_id)?,
            period_id: parse_uuid(&self.period_id)?,
            effective_on,
            lost_on: parse_optional_date(self.lost_on.as_deref())?,
            acquisition_reason: parse_enum(&self.acquisition_reason)?,
            acquisition_event_date: parse_date(&self.acquisition_event_date)?,
            notified_on: parse_date(&self.notified_on)?,
            notification_late: self.notification_late != 0,
            loss_reason: self.loss_reason.as_deref().map(parse_enum).transpose()?,
            loss_event_date: parse_optional_date(self.loss_event_date.as_deref())?,
            loss_notified_on: parse_optional_date(self.loss_notified_on.as_deref())?,
            loss_notification_late: self.loss_notification_late.map(|late| late != 0),
            former_municipality_code: self.former_municipality_code,
            continuity: former_lost_on.map(|lost_on| move_continuity(lost_on, effective_on)),
            former_lost_on,
            corrections: self.corrections,
            withdrawn: self.withdrawn != 0,
            recorded_at: DateTime::from_timestamp_micros(self.recorded_at)
                .ok_or_else(|| ProjectionError::Corrupt(format!("{} is not an instant", self.recorded_at)))?,
            position: self.position,
        })
    }
}

/// A period that began with a move from another city of the same prefecture, as the
/// aggregation system (国保情報集約システム) checks it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MoveRow {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub former_municipality_code: String,
    /// First day not insured in the former city.
    pub former_lost_on: NaiveDate,
    /// First day insured here.
    pub effective_on: NaiveDate,
    pub continuity: MoveContinuity,
}

/// Whether a late notification was of the period's start or of its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Acquisition,
    Loss,
}

/// A notification that reached the city after the deadline (施行規則 §2); its dates still hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LateNotificationRow {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub kind: NotificationKind,
    /// The acquisition or loss reason, as stored (`moved_in`, `moved_out`, …).
    pub reason: String,
    pub event_date: NaiveDate,
    pub notified_on: NaiveDate,
}

impl EligibilityPeriods {
    /// The person's periods, withdrawn ones included (flagged), by first insured day.
    pub async fn of_person(
        db: &Db,
        tenant: &str,
        person_id: Uuid,
    ) -> Result<Vec<EligibilityPeriodRow>, ProjectionError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM eligibility_periods WHERE tenant = $1 AND person_id = $2 ORDER BY effective_on, period_id"
        );
        let rows: Vec<StoredPeriod> = on_db!(db, pool => {
            sqlx::query_as(&sql).bind(tenant).bind(person_id.to_string()).fetch_all(pool).await?
        });
        rows.into_iter().map(StoredPeriod::into_row).collect()
    }

    /// How many persons are insured on `on` (valid time), by the current knowledge.
    pub async fn insured_count(db: &Db, tenant: &str, on: NaiveDate) -> Result<i64, ProjectionError> {
        Ok(on_db!(db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(DISTINCT person_id) FROM eligibility_periods WHERE tenant = $1 AND effective_on <= $2 \
                 AND (lost_on IS NULL OR lost_on > $3) AND withdrawn = 0",
            )
            .bind(tenant)
            .bind(on.to_string())
            .bind(on.to_string())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Every period (not withdrawn) that began with a move from a city of the same prefecture,
    /// with its gap or overlap, by first insured day: the aggregation system's report.
    pub async fn moves(db: &Db, tenant: &str) -> Result<Vec<MoveRow>, ProjectionError> {
        let rows: Vec<(String, String, String, String, String)> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT person_id, period_id, former_municipality_code, former_lost_on, effective_on FROM eligibility_periods \
                 WHERE tenant = $1 AND former_municipality_code IS NOT NULL AND withdrawn = 0 \
                 ORDER BY effective_on, person_id, period_id",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(person_id, period_id, former_municipality_code, former_lost_on, effective_on)| {
                let (former_lost_on, effective_on) = (parse_date(&former_lost_on)?, parse_date(&effective_on)?);
                Ok(MoveRow {
                    person_id: parse_uuid(&person_id)?,
                    period_id: parse_uuid(&period_id)?,
                    former_municipality_code,
                    former_lost_on,
                    effective_on,
                    continuity: move_continuity(former_lost_on, effective_on),
                })
            })
            .collect()
    }

    /// Acquisitions and losses notified late, notified from `from` through `to` (both
    /// inclusive), of periods not withdrawn, by notification day.
    pub async fn late_notifications(
        db: &Db,
        tenant: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LateNotificationRow>, ProjectionError> {
        let rows: Vec<(String, String, String, String, String, String)> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT person_id, period_id, 'acquisition' AS kind, acquisition_reason AS reason, \
                        acquisition_event_date AS event_date, notified_on \
                 FROM eligibility_periods \
                 WHERE tenant = $1 AND withdrawn = 0 AND notification_late = 1 AND notified_on >= $2 AND notified_on <= $3 \
                 UNION ALL \
                 SELECT person_id, period_id, 'loss' AS kind, loss_reason AS reason, \
                        loss_event_date AS event_date, loss_notified_on AS notified_on \
                 FROM eligibility_periods \
                 WHERE tenant = $4 AND withdrawn = 0 AND loss_notification_late = 1 \
                   AND loss_notified_on >= $5 AND loss_notified_on <= $6 \
                 ORDER BY notified_on, person_id, period_id, kind",
            )
            .bind(tenant)
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(tenant)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(person_id, period_id, kind, reason, event_date, notified_on)| {
                Ok(LateNotificationRow {
                    person_id: parse_uuid(&person_id)?,
                    period_id: parse_uuid(&period_id)?,
                    kind: if kind == "loss" { NotificationKind::Loss } else { NotificationKind::Acquisition },
                    reason,
                    event_date: parse_date(&event_date)?,
                    notified_on: parse_date(&notified_on)?,
                })
            })
            .collect()
    }
}

pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, ProjectionError> {
    text.parse().map_err(|_| ProjectionError::Corrupt(format!("{text:?} is not a date")))
}

pub(crate) fn parse_optional_date(text: Option<&str>) -> Result<Option<NaiveDate>, ProjectionError> {
    text.map(parse_date).transpose()
}

/// The columns other projections keep of each period, in a table of their own (each projection
/// is rebuilt alone, so none reads another's tables): `(tenant, person_id, period_id, lost_on,
/// withdrawn)`, keyed by the first three. Certificates and retention need only this much.
pub(crate) const PERIOD_ENDS_DDL: &str = "CREATE TABLE {table} (
        tenant     TEXT   NOT NULL,
        person_id  TEXT   NOT NULL,
        period_id  TEXT   NOT NULL,
        lost_on    TEXT,
        withdrawn  BIGINT NOT NULL,
        CONSTRAINT {table}_pk_{gen} PRIMARY KEY (tenant, person_id, period_id))";

pub(crate) const PERIOD_END_COLUMNS: &[&str] = &["tenant", "person_id", "period_id", "lost_on", "withdrawn"];
pub(crate) const PERIOD_END_KEY: &[&str] = &["tenant", "person_id", "period_id"];

/// How a page changed one period of an earlier page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeriodEndChange {
    /// Lost (`Some`), or restated by a correction (`None`: open again).
    Ends(Option<NaiveDate>),
    Withdrawn,
}

/// A page's eligibility events folded into period ends, with the aggregate's semantics: a loss
/// or correction sets the end, a withdrawal removes the period, and nothing changes a withdrawn
/// one. Periods acquired in the page are inserted once with their final end.
#[derive(Debug, Default)]
pub(crate) struct PeriodEndFold {
    /// Acquired in this page: (lost_on, withdrawn) after the page.
    pub acquired: BTreeMap<(Uuid, Uuid), (Option<NaiveDate>, bool)>,
    /// Periods of earlier pages: (person, period, change), in event order.
    pub changed: Vec<(Uuid, Uuid, PeriodEndChange)>,
}

impl PeriodEndFold {
    /// Folds `event` when it is about a period; returns the person and period it touched.
    pub fn observe(&mut self, event: &LedgerEvent) -> Option<(Uuid, Uuid)> {
        let (person_id, period_id, change) = match event {
            LedgerEvent::EligibilityAcquired(e) => {
                self.acquired.entry((e.person_id, e.period_id)).or_insert((None, false));
                return Some((e.person_id, e.period_id));
            }
            LedgerEvent::EligibilityLost(e) => (e.person_id, e.period_id, PeriodEndChange::Ends(Some(e.lost_on))),
            LedgerEvent::EligibilityCorrected(e) => {
                (e.person_id, e.period_id, PeriodEndChange::Ends(e.end.as_ref().map(|end| end.lost_on)))
            }
            LedgerEvent::EligibilityWithdrawn(e) => (e.person_id, e.period_id, PeriodEndChange::Withdrawn),
            _ => return None,
        };
        match self.acquired.get_mut(&(person_id, period_id)) {
            Some((_, true)) => {}
            Some((lost_on, withdrawn)) => match change {
                PeriodEndChange::Ends(end) => *lost_on = end,
                PeriodEndChange::Withdrawn => *withdrawn = true,
            },
            None => self.changed.push((person_id, period_id, change)),
        }
        Some((person_id, period_id))
    }

    /// The writes on `table` (made by [`PERIOD_ENDS_DDL`]): inserts, then updates in event order.
    pub fn write(&self, table: &'static str, tenant: &str, out: &mut Writes) {
        for ((person_id, period_id), (lost_on, withdrawn)) in &self.acquired {
            out.insert(
                table,
                "INSERT INTO {table} (tenant, person_id, period_id, lost_on, withdrawn)",
                "ON CONFLICT (tenant, person_id, period_id) DO NOTHING",
                vec![
                    text(tenant),
                    text(person_id),
                    text(period_id),
                    lost_on.map_or(SqlValue::NullText, text),
                    flag(*withdrawn),
                ],
            );
        }
        for (person_id, period_id, change) in &self.changed {
            let key = [text(tenant), text(person_id), text(period_id)];
            match change {
                PeriodEndChange::Ends(lost_on) => {
                    let mut args = vec![lost_on.map_or(SqlValue::NullText, text)];
                    args.extend(key);
                    out.other(
                        table,
                        "UPDATE {table} SET lost_on = $1 WHERE tenant = $2 AND person_id = $3 AND period_id = $4 AND withdrawn = 0",
                        args,
                    );
                }
                PeriodEndChange::Withdrawn => out.other(
                    table,
                    "UPDATE {table} SET withdrawn = 1 WHERE tenant = $1 AND person_id = $2 AND period_id = $3",
                    Vec::from(key),
                ),
            }
        }
    }
}
