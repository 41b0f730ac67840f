//! Sensitive persons, provisions and inquiries through the information provision network (the
//! provision record of マイナンバー法 §23), and registering a citizen's card key — the staff side.
//!
//! Who may do what, and why (the seed's sections are summarised in docs/seed.md):
//! - sensitivity flags: supervisors only (seed III-6 risk 2: 担当者及び責任者と十分に確認);
//! - recording a provision request: eligibility and benefits clerks and supervisors — the seed's
//!   uses (II-3 ⑤) put 情報提供 in the eligibility affair (資格事務) and the benefits affair
//!   (給付事務) and nowhere else;
//! - approving a waiting provision: supervisors only (the person a no-auto-response flag waits for);
//! - an inquiry: whoever's role serves the declared purpose, and only under a management number
//!   the allow-list permits for that purpose (III-6 risk 1: 目的内の管理番号のみ選択できる);
//! - a citizen's card key: eligibility clerks and supervisors, who check identity at the counter.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::person::Person;
use kokuho_domain::provision::{
    Inquiry, InquiryCommand, Provision, ProvisionCommand, ProvisionRejection, ProvisionRequest, ProvisionState,
};
use kokuho_domain::sensitivity::{Sensitivity, SetFlags};
use kokuho_domain::PersonId;
use kokuho_ledger::{CommandError, Executed};
use kokuho_store::{CommandMeta, Decrypt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::{IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::ApiPath;
use crate::{ApiError, ApiJson, AppState};

/// The affairs an inquiry may be made for: the NHI affairs that use inquiries (seed II-3 ⑤, docs/seed.md).
const INQUIRY_PURPOSES: &[Purpose] =
    &[Purpose::Eligibility, Purpose::Assessment, Purpose::Collection, Purpose::Benefits];
const INQUIRIES_ROUTE: &str = "/v1/{tenant}/persons/{person_id}/inquiries";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/persons/{person_id}/sensitivity", put(set_sensitivity))
        .route("/v1/{tenant}/persons/{person_id}/provisions", post(request_provision))
        .route("/v1/{tenant}/provisions/{provision_id}/approval", post(approve_provision))
        .route(INQUIRIES_ROUTE, post(make_inquiry))
        .route("/v1/{tenant}/persons/{person_id}/citizen-key", post(register_citizen_key))
}

/// `/v1/{tenant}/persons/{person_id}…`
#[derive(Deserialize)]
pub struct PersonPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    person_id: Uuid,
}

/// `/v1/{tenant}/provisions/{provision_id}…`
#[derive(Deserialize)]
pub struct ProvisionPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    provision_id: Uuid,
}

/// The command's metadata, and the id of the stream it creates. With an Idempotency-Key the id
/// is derived from the key, so a retry decides against the stream the first attempt created
/// (and is answered with its result) instead of creating a second one.
fn command_meta(
    staff: &Staff,
    purpose: Purpose,
    key: &IdempotencyKey,
    kind: &str,
) -> Result<(CommandMeta, Uuid), ApiError> {
    Ok((staff.command_meta(purpose, key)?, staff.id_from_key(kind, key)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitivityBody {
    /// 自動応答不可フラグ: provision requests for the person wait for a supervisor's approval.
    no_auto_response: bool,
    /// 不開示該当フラグ: provision records made while it is set are hidden from the person's view.
    non_disclosure: bool,
    /// Why (at most 500 characters). Sealed with the person's key: it may say what happened to them.
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SensitivityFlags {
    person_id: Uuid,
    no_auto_response: bool,
    non_disclosure: bool,
    /// False when the flags already were so: nothing new was recorded.
    changed: bool,
    /// The ledger position of the change, when there was one.
    position: Option<i64>,
}

/// Set or clear a sensitive person's no-auto-response and non-disclosure flags (supervisors).
#[utoipa::path(put, path = "/v1/{tenant}/persons/{person_id}/sensitivity", request_body = SensitivityBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId),
    responses(
        (status = 200, description = "The flags as they now are", body = SensitivityFlags),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        doc::PersonErased,
        (status = 422, description = "`reason_required`, `reason_too_long`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn set_sensitivity(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<SensitivityBody>,
) -> Result<ApiJson<SensitivityFlags>, ApiError> {
    staff.require_role(&state, &[Role::Supervisor]).await?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let meta = CommandMeta {
        actor: staff.principal.actor(),
        purpose: Purpose::Provision.as_str().to_owned(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
    };
    let command = SetFlags {
        no_auto_response: body.no_auto_response,
        non_disclosure: body.non_disclosure,
        set_by: staff.principal.user_id,
        reason: body.reason,
    };
    let executed = state.ledger.execute::<Sensitivity>(tenant, person_id, command.clone(), meta).await?;
    let position = (!executed.is_unchanged()).then_some(executed.outcome.last_position);
    Ok(ApiJson(SensitivityFlags {
        person_id: person_id.as_uuid(),
        no_auto_response: command.no_auto_response,
        non_disclosure: command.non_disclosure,
        changed: position.is_some(),
        position,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    /// The requesting agency (情報照会者), e.g. `全国健康保険協会 埼玉支部`.
    requesting_agency: String,
    /// The row of the provision ordinance's table the request cites (主務省令第2条の表の項番), e.g. `"2"`;
    /// it must be one the allow-list lists.
    legal_basis_row: String,
    /// The categories of information asked for; each must be one the row provides, e.g. `医療保険給付関係情報`.
    items: Vec<String>,
    /// When the agency asked (RFC 3339).
    requested_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ProvisionRecorded {
    provision_id: Uuid,
    person_id: Uuid,
    /// `provided`, or `awaiting_approval` when the person has the no-auto-response flag.
    status: String,
    legal_basis: String,
    /// Once provided: whether the record is hidden from the person's view.
    non_disclosable: Option<bool>,
    provided_at: Option<DateTime<Utc>>,
    /// The ledger position of the command's last event.
    position: i64,
    recorded_at: DateTime<Utc>,
    /// True when this was a retry of an Idempotency-Key already answered: nothing new was recorded.
    duplicate: bool,
}

fn provision_recorded(
    provision_id: Uuid,
    provision: &ProvisionState,
    executed: &Executed,
) -> Result<ProvisionRecorded, ApiError> {
    let request = provision
        .request
        .as_ref()
        .ok_or_else(|| ApiError::Internal(format!("provision {provision_id} has no request")))?;
    Ok(ProvisionRecorded {
        provision_id,
        person_id: request.person_id,
        status: provision.status.map_or("unknown", |status| status.as_str()).to_owned(),
        legal_basis: request.legal_basis.clone(),
        non_disclosable: provision.provided.as_ref().map(|provided| provided.non_disclosable),
        provided_at: provision.provided.as_ref().map(|provided| provided.provided_at),
        position: executed.outcome.last_position,
        recorded_at: executed.outcome.recorded_at,
        duplicate: executed.outcome.duplicate,
    })
}

/// Record another agency's request for a person's information through the provision network:
/// provided at once, or held for a supervisor when the person has the no-auto-response flag
/// (eligibility and benefits clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/provisions", request_body = ProvisionBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Provided", body = ProvisionRecorded),
        (status = 202, description = "Recorded; awaiting a supervisor's approval", body = ProvisionRecorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 422, description = "`provision_basis_not_permitted`, `provision_item_not_permitted`, `empty_field`, `field_too_long`, \
            `too_many_items`, `time_in_future`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn request_provision(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<ProvisionBody>,
) -> Result<(StatusCode, ApiJson<ProvisionRecorded>), ApiError> {
    staff.require_role(&state, &[Role::EligibilityClerk, Role::BenefitsClerk, Role::Supervisor]).await?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let (meta, provision_id) = command_meta(&staff, Purpose::Provision, &key, "provision")?;
    let command = ProvisionCommand::Request(ProvisionRequest {
        person_id,
        requesting_agency: body.requesting_agency,
        legal_basis_row: body.legal_basis_row,
        items: body.items,
        requested_at: body.requested_at,
    });
    let executed = state.ledger.execute::<Provision>(tenant, provision_id, command, meta).await?;
    let current = state.ledger.replay::<Provision>(tenant, provision_id, None, Decrypt::No).await?.state;
    let recorded = provision_recorded(provision_id, &current, &executed)?;
    let status = match (executed.outcome.duplicate, current.status) {
        (false, Some(kokuho_domain::provision::ProvisionStatus::AwaitingApproval)) => StatusCode::ACCEPTED,
        _ => super::created_or_retried(&executed),
    };
    Ok((status, ApiJson(recorded)))
}

/// Approve a provision that waits because the person has the no-auto-response flag; it is then
/// provided, with the person's non-disclosure flag as it is now (supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/provisions/{provision_id}/approval", security(("session" = [])),
    params(doc::Tenant, ("provision_id" = Uuid, Path, description = "the provision")),
    responses(
        (status = 201, description = "Approved and provided", body = ProvisionRecorded),
        doc::RoleNotPermitted,
        (status = 404, description = "`provision_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`provision_not_awaiting_approval`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn approve_provision(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<ProvisionPath>,
) -> Result<(StatusCode, ApiJson<ProvisionRecorded>), ApiError> {
    staff.require_role(&state, &[Role::Supervisor]).await?;
    let tenant = staff.principal.tenant;
    let provision_id = path.provision_id;
    let meta = CommandMeta {
        actor: staff.principal.actor(),
        purpose: Purpose::Provision.as_str().to_owned(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
    };
    let by = staff.principal.user_id;
    let executed =
        state.ledger.execute::<Provision>(tenant, provision_id, ProvisionCommand::Approve { by }, meta).await?;
    let current = state.ledger.replay::<Provision>(tenant, provision_id, None, Decrypt::No).await?.state;
    Ok((super::created_or_retried(&executed), ApiJson(provision_recorded(provision_id, &current, &executed)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryBody {
    /// The management number (a row of the ordinance's table, e.g. `"70"`); the allow-list must
    /// permit it for `purpose`.
    management_number: String,
    /// The NHI affair the inquiry is for; the caller's role must serve it.
    purpose: String,
    /// The agency asked (情報提供者), e.g. `日本年金機構`.
    agency_asked: String,
    /// What is asked for, e.g. `年金給付関係情報`.
    items: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InquiryRecorded {
    inquiry_id: Uuid,
    person_id: Uuid,
    legal_basis: String,
    /// Whether the record is hidden from the person's view (the person's non-disclosure flag).
    non_disclosable: bool,
    position: i64,
    recorded_at: DateTime<Utc>,
    duplicate: bool,
}

/// Record an inquiry the city makes through the provision network, under a management number
/// permitted for the purpose (whoever's role serves the purpose).
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/inquiries", request_body = InquiryBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = InquiryRecorded),
        (status = 400, description = "`invalid_purpose`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`purpose_not_permitted`, `management_number_not_permitted`", body = Problem, content_type = "application/problem+json"),
        doc::PersonNotFound,
        (status = 422, description = "`empty_field`, `field_too_long`, `too_many_items`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn make_inquiry(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<InquiryBody>,
) -> Result<(StatusCode, ApiJson<InquiryRecorded>), ApiError> {
    let purpose: Purpose = body
        .purpose
        .parse()
        .map_err(|error: kokuho_auth::UnknownPurpose| ApiError::bad_request("invalid_purpose", error.to_string()))?;
    staff.require_purpose(&state, purpose, INQUIRY_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let (meta, inquiry_id) = command_meta(&staff, purpose, &key, "inquiry")?;
    let command = InquiryCommand {
        person_id,
        management_number: body.management_number,
        purpose: purpose.as_str().to_owned(),
        agency_asked: body.agency_asked,
        items: body.items,
        made_by: staff.principal.user_id,
        role: staff.principal.role.as_str().to_owned(),
    };
    let executed = match state.ledger.execute::<Inquiry>(tenant, inquiry_id, command, meta).await {
        Ok(executed) => executed,
        Err(CommandError::Refused(rejection)) => {
            if let ProvisionRejection::ManagementNumberNotPermitted { .. } = rejection {
                // A refusal by purpose limitation is part of the record, like a refused role.
                state
                    .staff
                    .record_refusal(&staff.principal, INQUIRIES_ROUTE, "POST", rejection.code(), Some(purpose.as_str()))
                    .await
                    .map_err(|error| ApiError::Internal(error.to_string()))?;
            }
            return Err(ApiError::refused(&rejection));
        }
        Err(error) => return Err(error.into()),
    };
    let inquiry = state.ledger.replay::<Inquiry>(tenant, inquiry_id, None, Decrypt::No).await?.state;
    let inquiry = inquiry.ok_or_else(|| ApiError::Internal(format!("inquiry {inquiry_id} was not recorded")))?;
    Ok((
        super::created_or_retried(&executed),
        ApiJson(InquiryRecorded {
            inquiry_id,
            person_id: inquiry.person_id,
            legal_basis: inquiry.legal_basis,
            non_disclosable: inquiry.non_disclosable,
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenKeyBody {
    /// The card's 32-byte Ed25519 public key, as 64 hex digits or base64.
    public_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct CitizenKeyRegisteredBody {
    person_id: Uuid,
    /// SHA-256 (hex) of the key, as the record names it.
    key_fingerprint: String,
}

/// Register (or replace) the card key a citizen signs in with, after checking their identity
/// at the counter (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/citizen-key", request_body = CitizenKeyBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId),
    responses(
        (status = 201, description = "Registered", body = CitizenKeyRegisteredBody),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 422, description = "`invalid_public_key`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn register_citizen_key(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<CitizenKeyBody>,
) -> Result<(StatusCode, ApiJson<CitizenKeyRegisteredBody>), ApiError> {
    staff.require_role(&state, &[Role::EligibilityClerk, Role::Supervisor]).await?;
    let invalid = |detail: &str| ApiError::BadRequest {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_public_key",
        detail: detail.to_owned(),
    };
    let public_key: [u8; 32] = crate::citizen::decode_bytes(&body.public_key)
        .ok_or_else(|| invalid("public_key must be 32 bytes as 64 hex digits or base64"))?;
    kokuho_auth::check_public_key(&public_key).map_err(|_| invalid("public_key is not a usable Ed25519 public key"))?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    if state.ledger.replay::<Person>(tenant, person_id, None, Decrypt::No).await?.state.registered.is_none() {
        return Err(ApiError::refused(&kokuho_domain::Rejection::PersonNotFound { person_id }));
    }
    let key_fingerprint = crate::citizen::register_key(&state, &staff.principal, person_id, public_key).await?;
    Ok((StatusCode::CREATED, ApiJson(CitizenKeyRegisteredBody { person_id: person_id.as_uuid(), key_fingerprint })))
}
