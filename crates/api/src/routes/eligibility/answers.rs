//! The answers: "as recorded at `as_of`, was this person insured on `on`?" with the period,
//! household, cost share and certificates of that day, and a person's full timeline for
//! auditors. Every answer records its access before it is sent.

use super::*;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    /// The NHI affair this read is for; the caller's role must serve it.
    purpose: String,
    /// Answer as the ledger had it recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
    /// The day asked about (valid time); default today in Japan.
    on: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct PeriodStartBody {
    /// `moved_in`, `left_employee_insurance`, `birth`, `public_assistance_ended`
    reason: String,
    event_date: NaiveDate,
    notified_on: NaiveDate,
    notification_late: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PeriodEndBody {
    /// `moved_out`, `joined_employee_insurance`, `death`, `public_assistance_started`, `reached_late_stage_elderly`
    reason: String,
    event_date: NaiveDate,
    notified_on: NaiveDate,
    notification_late: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FormerMunicipalityView {
    municipality_code: String,
    lost_on: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct PeriodView {
    period_id: Uuid,
    /// First day insured.
    effective_on: NaiveDate,
    /// First day not insured; `null` while open.
    lost_on: Option<NaiveDate>,
    acquisition: PeriodStartBody,
    loss: Option<PeriodEndBody>,
    former_municipality: Option<FormerMunicipalityView>,
    /// How many corrections restated this period (the timeline shows them).
    corrections: u32,
}

fn name_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl From<&InsuredPeriod> for PeriodView {
    fn from(period: &InsuredPeriod) -> PeriodView {
        PeriodView {
            period_id: period.period_id,
            effective_on: period.start.effective_on,
            lost_on: period.end.as_ref().map(|end| end.lost_on),
            acquisition: PeriodStartBody {
                reason: name_of(&period.start.reason),
                event_date: period.start.event_date,
                notified_on: period.start.notified_on,
                notification_late: period.start.notification_late,
            },
            loss: period.end.as_ref().map(|end| PeriodEndBody {
                reason: name_of(&end.reason),
                event_date: end.event_date,
                notified_on: end.notified_on,
                notification_late: end.notification_late,
            }),
            former_municipality: period.former_municipality.as_ref().map(|former| FormerMunicipalityView {
                municipality_code: former.municipality_code.clone(),
                lost_on: former.lost_on,
            }),
            corrections: period.corrections,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdOnDay {
    household_id: Uuid,
    /// The head on the day asked about (need not be insured: 擬制世帯主).
    head_person_id: Option<Uuid>,
    is_head: bool,
    /// Members on the day asked about.
    members: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct CostShareView {
    /// `two_tenths` or `three_tenths`
    share: String,
    tenths: u8,
    /// `pre_school`, `standard` or `elderly`
    rule: String,
    /// For `elderly`: the calendar year whose income decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    income_year: Option<i32>,
    /// For `elderly`: `no_member_at_threshold`, `kyu_tadashigaki_within_limit`,
    /// `income_under_application_limit` or `active_income`.
    #[serde(skip_serializing_if = "Option::is_none")]
    basis: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CertificateView {
    certificate_no: String,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    /// On the day asked about: `valid`, `not_yet_valid`, `expired` or `invalidated_by_loss`.
    status: String,
}

#[derive(Serialize, ToSchema)]
pub struct MoveContinuityView {
    /// `continuous`, `gap` or `overlap`
    kind: String,
    /// Days insured by neither city (gap) or by both (overlap); 0 when continuous.
    days: i64,
    /// First such day (inclusive).
    from: Option<NaiveDate>,
    /// Last such day (inclusive).
    to: Option<NaiveDate>,
}

impl From<MoveContinuity> for MoveContinuityView {
    fn from(continuity: MoveContinuity) -> MoveContinuityView {
        match continuity {
            MoveContinuity::Continuous => {
                MoveContinuityView { kind: "continuous".into(), days: 0, from: None, to: None }
            }
            MoveContinuity::Gap { days, from, to } => {
                MoveContinuityView { kind: "gap".into(), days, from: Some(from), to: Some(to) }
            }
            MoveContinuity::Overlap { days, from, to } => {
                MoveContinuityView { kind: "overlap".into(), days, from: Some(from), to: Some(to) }
            }
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EligibilityView {
    person_id: Uuid,
    /// The instant the answer is as recorded at.
    as_of: DateTime<Utc>,
    /// The day the answer is about.
    on: NaiveDate,
    /// Whether the person was insured on `on`, as recorded at `as_of`.
    insured: bool,
    /// The period covering `on`.
    period: Option<PeriodView>,
    /// Every period as recorded at `as_of` (corrections applied, withdrawals removed).
    periods: Vec<PeriodView>,
    household: Option<HouseholdOnDay>,
    cost_share: Option<CostShareView>,
    /// Why there is no cost share on `on` (e.g. `not_insured`, `date_beyond_rule`).
    cost_share_refusal: Option<String>,
    certificates: Vec<CertificateView>,
    /// For a period that began with a move within the prefecture: how it meets the former city's.
    move_continuity: Option<MoveContinuityView>,
    /// The person's stream version this answer reflects.
    version: i64,
}

/// "As recorded at `as_of`, was this person insured on `on`?" — with the period, household,
/// cost share and certificates of that day. The access is recorded before the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/persons/{person_id}/eligibility", security(("session" = [])),
    params(doc::Tenant, doc::PersonId, EligibilityQuery),
    responses(
        (status = 200, description = "The answer", body = EligibilityView),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        doc::PersonNotFound,
    ))]
pub(crate) async fn eligibility(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonPath>,
    ApiQuery(query): ApiQuery<EligibilityQuery>,
) -> Result<ApiJson<EligibilityView>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, READ_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let on = query.on.unwrap_or_else(|| jst_date(state.ledger.now()));
    state.projections_current(tenant).await?;
    let candidates = Households::households_of_person(state.store.db(), &tenant.to_string(), person_id.as_uuid())
        .await
        .map_err(internal)?;
    let answer = state.ledger.eligibility_on(tenant, person_id, Some(as_of), on, &candidates).await?;
    if answer.person.state.registered.is_none() {
        return Err(ApiError::refused(&Rejection::PersonNotFound { person_id }));
    }
    let household = answer.household.as_ref().map(|view| {
        let head = view.state.head_on(on);
        HouseholdOnDay {
            household_id: view.id,
            head_person_id: head,
            is_head: head == Some(person_id.as_uuid()),
            members: view.state.members_on(on),
        }
    });
    let (cost_share, cost_share_refusal) = match &answer.share {
        Ok(share) => {
            let (rule, income_year, basis) = match &share.rule {
                ShareRule::PreSchool => ("pre_school", None, None),
                ShareRule::Standard => ("standard", None, None),
                ShareRule::Elderly { income_year, basis, .. } => {
                    let basis = serde_json::to_value(basis)
                        .ok()
                        .and_then(|v| v.get("basis").and_then(|b| b.as_str()).map(str::to_owned));
                    ("elderly", Some(*income_year), basis)
                }
            };
            let view = CostShareView {
                share: name_of(&share.share),
                tenths: share.share.tenths(),
                rule: rule.into(),
                income_year,
                basis,
            };
            (Some(view), None)
        }
        Err(rejection) => (None, Some(rejection.code().to_owned())),
    };
    let certificates = answer
        .certificates
        .iter()
        .map(|(certificate, status)| CertificateView {
            certificate_no: certificate.certificate_no.clone(),
            valid_from: certificate.valid_from,
            valid_until: certificate.valid_until,
            status: match status {
                CertificateStatus::Valid => "valid",
                CertificateStatus::NotYetValid => "not_yet_valid",
                CertificateStatus::Expired => "expired",
                CertificateStatus::InvalidatedByLoss { .. } => "invalidated_by_loss",
            }
            .to_owned(),
        })
        .collect();
    let view = EligibilityView {
        person_id: person_id.as_uuid(),
        as_of,
        on,
        insured: answer.period.is_some(),
        period: answer.period.as_ref().map(PeriodView::from),
        periods: answer.person.state.periods.iter().map(PeriodView::from).collect(),
        household,
        cost_share,
        cost_share_refusal,
        certificates,
        move_continuity: answer.move_continuity.map(MoveContinuityView::from),
        version: answer.person.version,
    };
    // The access record first: if it cannot be committed, nothing is shown.
    let items = ["eligibility", "household", "cost_share", "certificates"];
    staff
        .record_access(&state, purpose, person_id.as_uuid(), &[staff.accessed(purpose, person_id.as_uuid(), &items)])
        .await?;
    Ok(ApiJson(view))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Must be `audit`.
    purpose: String,
    /// The stream as recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    position: i64,
    stream_version: i64,
    recorded_at: DateTime<Utc>,
    /// `staff:<user id>`, `citizen:<id>` or `system:<job>`.
    actor: String,
    purpose: String,
    event_type: String,
    /// The clear part of the event (never its personal part).
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    /// Whether the event has a personal part: `none`, `sealed` or `erased` (never shown here).
    personal_part: String,
    /// The position of the later event that restated or withdrew this entry (a correction or
    /// withdrawal of its period, a later income report of the same year, a later 70–74 decision
    /// from the same day); `null` while it stands.
    superseded_by: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    person_id: Uuid,
    as_of: DateTime<Utc>,
    version: i64,
    events: Vec<TimelineEntry>,
}

/// Which entries of a stream later entries superseded: index → superseding position.
fn superseded(events: &[(kokuho_store::RecordedEvent, LedgerEvent)]) -> HashMap<usize, i64> {
    let mut superseded = HashMap::new();
    let mut standing_periods: HashMap<Uuid, Vec<usize>> = HashMap::new();
    let mut standing_incomes: HashMap<i32, usize> = HashMap::new();
    let mut standing_shares: HashMap<NaiveDate, usize> = HashMap::new();
    for (index, (recorded, event)) in events.iter().enumerate() {
        match event {
            LedgerEvent::EligibilityAcquired(e) => standing_periods.entry(e.period_id).or_default().push(index),
            LedgerEvent::EligibilityLost(e) => standing_periods.entry(e.period_id).or_default().push(index),
            LedgerEvent::EligibilityCorrected(e) => {
                for earlier in standing_periods.remove(&e.period_id).unwrap_or_default() {
                    superseded.insert(earlier, recorded.position);
                }
                standing_periods.insert(e.period_id, vec![index]);
            }
            LedgerEvent::EligibilityWithdrawn(e) => {
                for earlier in standing_periods.remove(&e.period_id).unwrap_or_default() {
                    superseded.insert(earlier, recorded.position);
                }
            }
            LedgerEvent::IncomeReported(e) => {
                if let Some(earlier) = standing_incomes.insert(e.income_year, index) {
                    superseded.insert(earlier, recorded.position);
                }
            }
            LedgerEvent::ElderlyCostShareDecided(e) => {
                if let Some(earlier) = standing_shares.insert(e.valid_from, index) {
                    superseded.insert(earlier, recorded.position);
                }
            }
            _ => {}
        }
    }
    superseded
}

/// A person's full timeline for auditors (auditors, supervisors; purpose `audit`): every event
/// of their stream as recorded at `as_of`, with who recorded it and why, its clear payload, and
/// which later event superseded it. The access is recorded before the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/persons/{person_id}/timeline", security(("session" = [])),
    params(doc::Tenant, doc::PersonId, TimelineQuery),
    responses(
        (status = 200, description = "The timeline in ledger order", body = Timeline),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        doc::PersonNotFound,
    ))]
pub(crate) async fn timeline(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonPath>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<ApiJson<Timeline>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, &[Purpose::Audit]).await?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let view = state.ledger.replay::<Person>(tenant, person_id, Some(as_of), Decrypt::No).await?;
    if view.events.is_empty() {
        return Err(ApiError::refused(&Rejection::PersonNotFound { person_id }));
    }
    let superseded = superseded(&view.events);
    let events = view
        .events
        .iter()
        .enumerate()
        .map(|(index, (recorded, event))| {
            // The decoded event re-encoded: the current schema's clear part, without `personal`.
            let encoded = event.encode();
            let payload = serde_json::from_slice(&encoded.payload).unwrap_or(serde_json::Value::Null);
            TimelineEntry {
                position: recorded.position,
                stream_version: recorded.stream_version,
                recorded_at: recorded.recorded_at,
                actor: recorded.actor.clone(),
                purpose: recorded.purpose.clone(),
                event_type: recorded.event_type.clone(),
                payload,
                personal_part: match recorded.personal {
                    PersonalData::None => "none",
                    PersonalData::Erased => "erased",
                    PersonalData::Sealed | PersonalData::Plain(_) => "sealed",
                }
                .to_owned(),
                superseded_by: superseded.get(&index).copied(),
            }
        })
        .collect();
    staff
        .record_access(
            &state,
            purpose,
            person_id.as_uuid(),
            &[staff.accessed(purpose, person_id.as_uuid(), &["timeline"])],
        )
        .await?;
    Ok(ApiJson(Timeline { person_id: person_id.as_uuid(), as_of, version: view.version, events }))
}
