//! My Number (個人番号): linking one to a person through a request, two confirmations by other
//! staff and a supervisor's approval (docs/domain.md §3 rule 3), the trail of each request, and the
//! reveal of a person's full number for a stated reason.
//!
//! The number travels only in request and response bodies, never in a path or query (URLs end up
//! in proxies' and browsers' logs), and no error message quotes it: a body's `my_number` is read
//! as a raw JSON value and parsed here, so even a wrong JSON type is refused without serde
//! echoing it. Everything that shows the number, masked or in full, appends an access event to
//! `access-<person id>` before the answer is sent (architecture invariant 8).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::my_number::MyNumber;
use kokuho_domain::my_number_link::{self, LinkCommand, LinkDecision, LinkRejection, LinkState, MyNumberLink};
use kokuho_domain::person::Person;
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{LedgerEvent, MyNumberLinked, MyNumberRevealed};
use kokuho_ledger::{Executed, LedgerError, View};
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use crate::auth::{parse_purpose, IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::{ApiPath, ApiQuery};
use crate::{ApiError, ApiJson, AppState};

/// Who may ask for a link: the eligibility affair keeps the address number (宛名番号) records.
const REQUESTERS: &[Role] = &[Role::EligibilityClerk, Role::Supervisor];
/// Who may confirm (or turn down) a request: any clerk or supervisor other than the requester.
const CONFIRMERS: &[Role] =
    &[Role::EligibilityClerk, Role::TaxClerk, Role::BenefitsClerk, Role::CollectionClerk, Role::Supervisor];
/// The final approval is the section chief's (課長の最終確認).
const APPROVERS: &[Role] = &[Role::Supervisor];
/// Who may see the full number: never line staff of other affairs (§3 rule 3).
const REVEALERS: &[Role] = &[Role::EligibilityClerk, Role::Supervisor];
/// The affairs a full number may be revealed for: those that use My Numbers under 番号利用法
/// 別表第一 for NHI. Provision goes through the intermediate server's codes, not the number, and
/// an audit has no need of the digits.
const REVEAL_PURPOSES: &[Purpose] =
    &[Purpose::Eligibility, Purpose::Assessment, Purpose::Collection, Purpose::Benefits];
/// The affairs a request's trail may be read for.
const TRAIL_PURPOSES: &[Purpose] = &[Purpose::Eligibility, Purpose::Audit];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/persons/{person_id}/my-number-links", post(request_link))
        .route("/v1/{tenant}/my-number-links/{request_id}", get(trail))
        .route("/v1/{tenant}/my-number-links/{request_id}/confirmations", post(confirm))
        .route("/v1/{tenant}/my-number-links/{request_id}/approval", post(approve))
        .route("/v1/{tenant}/my-number-links/{request_id}/rejection", post(reject))
        .route("/v1/{tenant}/persons/{person_id}/my-number/reveal", post(reveal))
}

/// `/v1/{tenant}/persons/{person_id}/…`
#[derive(Deserialize)]
pub struct PersonPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    person_id: Uuid,
}

/// `/v1/{tenant}/my-number-links/{request_id}…`
#[derive(Deserialize)]
pub struct LinkPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    request_id: Uuid,
}

/// Reads a body's `my_number`. Only a string is accepted, and `MyNumberError` describes what is
/// wrong without quoting the input.
fn parse_my_number(value: &Value) -> Result<MyNumber, ApiError> {
    let invalid = |detail: String| ApiError::BadRequest {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_my_number",
        detail,
    };
    match value {
        Value::String(text) => MyNumber::parse(text).map_err(|error| invalid(error.to_string())),
        _ => Err(invalid("a My Number must be given as a string of 12 digits".to_owned())),
    }
}

/// A link request's stream, folded, with its events for the trail (its number decrypted).
async fn load(
    state: &AppState,
    tenant: TenantCode,
    request_id: Uuid,
    as_of: Option<DateTime<Utc>>,
) -> Result<View<MyNumberLink>, ApiError> {
    Ok(state.ledger.replay::<MyNumberLink>(tenant, request_id, as_of, Decrypt::Yes).await?)
}

/// One ledger call for a link command (with the request's Idempotency-Key), answering the
/// request's state after it.
async fn execute_link(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    request_id: Uuid,
    command: LinkCommand,
) -> Result<(Executed, LinkState), ApiError> {
    let tenant = staff.principal.tenant;
    let meta = staff.command_meta(Purpose::Eligibility, key)?;
    let executed = state.ledger.execute::<MyNumberLink>(tenant, request_id, command, meta).await?;
    Ok((executed, load(state, tenant, request_id, None).await?.state))
}

/// Appends the approved request to the person's index. Idempotent (one entry per request), so
/// an approval retried after this failed repairs the index without a second entry.
async fn index_link(state: &AppState, staff: &Staff, person_id: PersonId, request_id: Uuid) -> Result<(), ApiError> {
    let entry = LedgerEvent::MyNumberLinked(MyNumberLinked { person_id: person_id.as_uuid(), request_id });
    let mut meta = staff.meta(Purpose::Eligibility);
    meta.idempotency_key = Some(format!("mynumber-linked:{request_id}"));
    state.ledger.record(staff.principal.tenant, my_number_link::index_stream_id(person_id), &[entry], meta).await?;
    Ok(())
}

/// A person's effective link: the newest approved request in their index.
pub(crate) struct Linked {
    /// `None` when the person's data was erased.
    pub my_number: Option<MyNumber>,
}

/// The person's linked My Number as recorded at `as_of` (default now): the newest index entry
/// whose request's own stream holds the approval (the index is written after the approval, so
/// the first entry read normally answers). Reads stay bounded by the person's approvals.
pub(crate) async fn linked(
    state: &AppState,
    tenant: TenantCode,
    person_id: PersonId,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<Linked>, ApiError> {
    let stream_id = my_number_link::index_stream_id(person_id);
    let index = match as_of {
        None => state.store.read_stream(tenant, &stream_id, Decrypt::No).await,
        Some(at) => state.store.read_stream_as_of(tenant, &stream_id, at, Decrypt::No).await,
    }
    .map_err(LedgerError::from)?;
    for entry in index.iter().rev() {
        let LedgerEvent::MyNumberLinked(entry) = kokuho_ledger::decode(entry)? else { continue };
        let link = load(state, tenant, entry.request_id, as_of).await?;
        let Some(request) = link.state.request.as_ref().filter(|request| request.person_id == person_id) else {
            continue;
        };
        if link.state.is_approved() {
            return Ok(Some(Linked { my_number: request.my_number.clone() }));
        }
    }
    Ok(None)
}

/// For a person's record: the masked form of their linked My Number, `None` when none is linked
/// (or it was erased). The caller lists `my_number_masked` in its access event when shown.
pub(crate) async fn masked_for_record(
    state: &AppState,
    tenant: TenantCode,
    person_id: PersonId,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<String>, ApiError> {
    Ok(linked(state, tenant, person_id, as_of).await?.and_then(|link| link.my_number).map(|number| number.masked()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinkBody {
    /// 個人番号: a string of 12 half-width digits with a valid check digit.
    #[schema(value_type = String)]
    my_number: Value,
}

#[derive(Serialize, ToSchema)]
pub struct MyNumberLinkCreated {
    request_id: Uuid,
}

/// Request a My Number link for a person (eligibility clerks, supervisors). Nothing is linked
/// until two other staff confirm and a supervisor approves.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/my-number-links", request_body = MyNumberLinkBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Requested", body = MyNumberLinkCreated),
        (status = 200, description = "A retry with the same Idempotency-Key: the request it created", body = MyNumberLinkCreated),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        doc::PersonErased,
        (status = 422, description = "`invalid_my_number`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn request_link(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<MyNumberLinkBody>,
) -> Result<(StatusCode, ApiJson<MyNumberLinkCreated>), ApiError> {
    staff.require_role(&state, REQUESTERS).await?;
    let my_number = parse_my_number(&body.my_number)?;
    let person_id = PersonId::from_uuid(path.person_id);
    // With an Idempotency-Key the request's id is derived from it: a retry names the same request.
    let request_id = staff.id_from_key("my-number-link", &key);
    let command = LinkCommand::Request { person_id, my_number, requested_by: staff.principal.user_id };
    let (executed, _) = execute_link(&state, &staff, &key, request_id, command).await?;
    let status = super::created_or_retried(&executed);
    Ok((status, ApiJson(MyNumberLinkCreated { request_id })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyNumberConfirmationBody {
    /// The number as the confirmer reads it from the documents, keyed independently; it must
    /// match the requested one. Compared, never stored again.
    #[schema(value_type = String)]
    my_number: Value,
}

/// Where a request stands; holds nothing personal.
#[derive(Serialize, ToSchema)]
pub struct MyNumberLinkProgress {
    request_id: Uuid,
    /// `requested`, `approved` or `rejected`
    status: String,
    confirmations: usize,
}

fn progress(request_id: Uuid, link: &LinkState) -> ApiJson<MyNumberLinkProgress> {
    ApiJson(MyNumberLinkProgress {
        request_id,
        status: status(link).to_owned(),
        confirmations: link.confirmed_by.len(),
    })
}

fn status(link: &LinkState) -> &'static str {
    link.decision.as_ref().map_or("requested", LinkDecision::as_str)
}

/// Confirm a link request (any clerk or supervisor except the requester, once each).
#[utoipa::path(post, path = "/v1/{tenant}/my-number-links/{request_id}/confirmations", request_body = MyNumberConfirmationBody, security(("session" = [])),
    params(doc::Tenant, doc::LinkRequestId, doc::IdempotencyKey),
    responses(
        (status = 200, description = "Confirmed", body = MyNumberLinkProgress),
        doc::RoleNotPermitted,
        doc::LinkRequestNotFound,
        (status = 409, description = "`already_confirmed`, `link_already_decided`", body = Problem, content_type = "application/problem+json"),
        doc::MyNumberUnavailable,
        (status = 422, description = "`self_confirmation`, `my_number_mismatch`, `invalid_my_number`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<LinkPath>,
    ApiJson(body): ApiJson<MyNumberConfirmationBody>,
) -> Result<ApiJson<MyNumberLinkProgress>, ApiError> {
    staff.require_role(&state, CONFIRMERS).await?;
    let my_number = parse_my_number(&body.my_number)?;
    let command = LinkCommand::Confirm { by: staff.principal.user_id, my_number };
    let (_, link) = execute_link(&state, &staff, &key, path.request_id, command).await?;
    Ok(progress(path.request_id, &link))
}

/// Approve a link request (supervisors who neither requested nor confirmed it, after two
/// confirmations): the request's number becomes the person's My Number.
#[utoipa::path(post, path = "/v1/{tenant}/my-number-links/{request_id}/approval", security(("session" = [])),
    params(doc::Tenant, doc::LinkRequestId, doc::IdempotencyKey),
    responses(
        (status = 200, description = "Approved and linked", body = MyNumberLinkProgress),
        doc::RoleNotPermitted,
        doc::LinkRequestNotFound,
        (status = 409, description = "`link_already_decided`", body = Problem, content_type = "application/problem+json"),
        doc::MyNumberUnavailable,
        (status = 422, description = "`self_approval`, `approver_confirmed`, `confirmations_missing`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<LinkPath>,
) -> Result<ApiJson<MyNumberLinkProgress>, ApiError> {
    staff.require_role(&state, APPROVERS).await?;
    let tenant = staff.principal.tenant;
    // An approval whose index entry could not be appended (a crash between the two appends) is
    // completed by any later approval attempt, which is then refused as already decided.
    let current = load(&state, tenant, path.request_id, None).await?;
    if let (true, Some(request)) = (current.state.is_approved(), &current.state.request) {
        index_link(&state, &staff, request.person_id, path.request_id).await?;
    }
    let command = LinkCommand::Approve { by: staff.principal.user_id };
    let (_, link) = execute_link(&state, &staff, &key, path.request_id, command).await?;
    let person_id = link.request.as_ref().expect("an approved request was requested").person_id;
    index_link(&state, &staff, person_id, path.request_id).await?;
    Ok(progress(path.request_id, &link))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinkRejectionBody {
    /// Why the request is turned down; kept in clear, so it must not hold a My Number.
    reason: String,
}

/// Turn a link request down (any clerk or supervisor; the requester withdraws it this way).
#[utoipa::path(post, path = "/v1/{tenant}/my-number-links/{request_id}/rejection", request_body = MyNumberLinkRejectionBody, security(("session" = [])),
    params(doc::Tenant, doc::LinkRequestId, doc::IdempotencyKey),
    responses(
        (status = 200, description = "Turned down", body = MyNumberLinkProgress),
        doc::RoleNotPermitted,
        doc::LinkRequestNotFound,
        (status = 409, description = "`link_already_decided`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason_required`, `reason_too_long`, `reason_contains_my_number`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<LinkPath>,
    ApiJson(body): ApiJson<MyNumberLinkRejectionBody>,
) -> Result<ApiJson<MyNumberLinkProgress>, ApiError> {
    staff.require_role(&state, CONFIRMERS).await?;
    let command = LinkCommand::Reject { by: staff.principal.user_id, reason: body.reason };
    let (_, link) = execute_link(&state, &staff, &key, path.request_id, command).await?;
    Ok(progress(path.request_id, &link))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrailQuery {
    /// The NHI affair this read is for (`eligibility` or `audit`); the caller's role must serve it.
    purpose: String,
}

/// One step of a request's trail: who, and when the ledger recorded it.
#[derive(Serialize, ToSchema)]
pub struct MyNumberLinkStep {
    by: Uuid,
    at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct MyNumberLinkRejectionStep {
    by: Uuid,
    at: DateTime<Utc>,
    reason: String,
}

/// The whole trail of a link request. The number is masked.
#[derive(Serialize, ToSchema)]
pub struct MyNumberLinkTrail {
    request_id: Uuid,
    person_id: Uuid,
    /// `********` and the last 4 digits; `null` when the person's data was erased.
    my_number: Option<String>,
    /// `requested`, `approved` or `rejected`
    status: String,
    requested: MyNumberLinkStep,
    confirmations: Vec<MyNumberLinkStep>,
    approval: Option<MyNumberLinkStep>,
    rejection: Option<MyNumberLinkRejectionStep>,
}

/// Read a link request's trail: who requested, confirmed, approved or turned it down, and when
/// (purposes `eligibility`, `audit`). Recorded as an access to the person before the answer.
#[utoipa::path(get, path = "/v1/{tenant}/my-number-links/{request_id}", security(("session" = [])),
    params(doc::Tenant, doc::LinkRequestId, TrailQuery),
    responses(
        (status = 200, description = "The trail", body = MyNumberLinkTrail),
        doc::PurposeNotPermitted,
        doc::LinkRequestNotFound,
    ))]
pub(crate) async fn trail(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<LinkPath>,
    ApiQuery(query): ApiQuery<TrailQuery>,
) -> Result<ApiJson<MyNumberLinkTrail>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, TRAIL_PURPOSES).await?;
    let loaded = load(&state, staff.principal.tenant, path.request_id, None).await?;
    let Some(request) = &loaded.state.request else {
        return Err(ApiError::refused(&LinkRejection::RequestNotFound { request_id: path.request_id }));
    };
    let masked = request.my_number.as_ref().map(MyNumber::masked);
    let mut requested = None;
    let mut confirmations = Vec::new();
    let mut approval = None;
    let mut rejection = None;
    for (recorded, event) in &loaded.events {
        let at = recorded.recorded_at;
        match event {
            LedgerEvent::MyNumberLinkRequested(e) => requested = Some(MyNumberLinkStep { by: e.requested_by, at }),
            LedgerEvent::MyNumberLinkConfirmed(e) => confirmations.push(MyNumberLinkStep { by: e.confirmed_by, at }),
            LedgerEvent::MyNumberLinkApproved(e) => approval = Some(MyNumberLinkStep { by: e.approved_by, at }),
            LedgerEvent::MyNumberLinkRejected(e) => {
                rejection = Some(MyNumberLinkRejectionStep { by: e.rejected_by, at, reason: e.reason.clone() })
            }
            _ => {}
        }
    }
    let requested = requested.expect("a request's state comes from its MyNumberLinkRequested");
    let items: &[&str] = if masked.is_some() { &["my_number_link", "my_number_masked"] } else { &["my_number_link"] };
    let person = request.person_id.as_uuid();
    staff.record_access(&state, purpose, person, &[staff.accessed(purpose, person, items)]).await?;
    Ok(ApiJson(MyNumberLinkTrail {
        request_id: path.request_id,
        person_id: request.person_id.as_uuid(),
        my_number: masked,
        status: status(&loaded.state).to_owned(),
        requested,
        confirmations,
        approval,
        rejection,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyNumberRevealBody {
    /// The NHI affair the number is needed for; the caller's role must serve it.
    purpose: String,
    /// Why the full number is needed; recorded with the access, kept in clear, so it must not
    /// hold a My Number.
    reason: String,
}

/// The full number. Sent with `Cache-Control: no-store`.
#[derive(Serialize, ToSchema)]
pub struct RevealedMyNumber {
    my_number: String,
}

/// Reveal a person's full My Number (eligibility clerks, supervisors) for a declared purpose and
/// a stated reason. The access (item `my_number`) and the reason are recorded before the answer.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/my-number/reveal", request_body = MyNumberRevealBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId),
    responses(
        (status = 200, description = "The full number", body = RevealedMyNumber),
        (status = 403, description = "`role_not_permitted`, `purpose_not_permitted`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`person_not_found`, `my_number_not_linked`", body = Problem, content_type = "application/problem+json"),
        doc::MyNumberUnavailable,
        (status = 422, description = "`reason_required`, `reason_too_long`, `reason_contains_my_number`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn reveal(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<MyNumberRevealBody>,
) -> Result<impl IntoResponse, ApiError> {
    staff.require_role(&state, REVEALERS).await?;
    let purpose = parse_purpose(&body.purpose)?;
    staff.require_purpose(&state, purpose, REVEAL_PURPOSES).await?;
    let reason = my_number_link::stated_reason(&body.reason).map_err(|rejection| ApiError::refused(&rejection))?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let person = state.ledger.replay::<Person>(tenant, person_id, None, Decrypt::No).await?;
    if person.state.registered.is_none() {
        return Err(ApiError::refused(&LinkRejection::PersonNotFound { person_id }));
    }
    let Some(link) = linked(&state, tenant, person_id, None).await? else {
        return Err(ApiError::BadRequest {
            status: StatusCode::NOT_FOUND,
            code: "my_number_not_linked",
            detail:
                "no My Number is linked to this person (a link needs two confirmations and a supervisor's approval)"
                    .into(),
        });
    };
    let Some(my_number) = link.my_number else {
        return Err(ApiError::refused(&LinkRejection::MyNumberUnavailable));
    };
    // One command, so the access record and its reason commit together, before the digits go out.
    let revealed = LedgerEvent::MyNumberRevealed(MyNumberRevealed {
        person_id: person_id.as_uuid(),
        user_id: staff.principal.user_id,
        reason,
    });
    let person = person_id.as_uuid();
    staff.record_access(&state, purpose, person, &[staff.accessed(purpose, person, &["my_number"]), revealed]).await?;
    let body = RevealedMyNumber { my_number: my_number.reveal().to_owned() };
    // Not kept by the browser or any cache between: the next look is a new, recorded reveal.
    Ok(([(header::CACHE_CONTROL, "no-store")], ApiJson(body)))
}
