//! The citizen's side: signing in with the card's key (challenge, signature, session) and the
//! person's own access and provision record, as JSON and as a small web page.
//!
//! The record shows, for each entry, when, which organisation and section, which items and for
//! what purpose — for a staff access the municipality and the section the staff member's role
//! works in, never the member's name or id (docs/domain.md §3 rule 5, マイナポータル "やりとり履歴").
//! Entries flagged non-disclosable are left out by the query itself, so they never leave the
//! database. Reading one's own record appends no access event (the reader is the data subject);
//! sign-ins are recorded.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_domain::PersonId;
use kokuho_projections::models::{
    AccessFilter, AccessLog, Disclosure, ProvisionKind, ProvisionRecord, ACCESS_ROWS_MAX,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::tenant_of;
use crate::citizen::{self, Citizen};
use crate::error::Problem;
use crate::{ApiError, ApiJson, AppState};

/// The page: no external resources, the token kept in memory only (see the file's comments).
const PAGE: &str = include_str!("page.html");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/citizen/challenges", post(challenge))
        .route("/v1/{tenant}/citizen/sessions", post(sign_in))
        .route("/v1/{tenant}/citizen/record", get(record))
        .route("/citizen", get(page))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

#[derive(Serialize, ToSchema)]
pub struct CitizenChallenge {
    challenge_id: Uuid,
    /// The random nonce (hex).
    nonce: String,
    /// The exact bytes the card signs (hex): a fixed context string followed by the nonce.
    signing_message: String,
    expires_at: DateTime<Utc>,
}

/// Start a citizen sign-in: a single-use challenge for the card to sign (no sign-in needed).
#[utoipa::path(post, path = "/v1/{tenant}/citizen/challenges",
    params(doc::Tenant),
    responses(
        (status = 201, description = "A challenge, valid for five minutes", body = CitizenChallenge),
        (status = 404, description = "`unknown_tenant`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests` (this client asked too often) or `too_many_challenges` (the municipality holds its maximum of open challenges); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds"))),
    ))]
pub(crate) async fn challenge(
    State(state): State<AppState>,
    client: crate::ClientAddress,
    params: axum::extract::RawPathParams,
) -> Result<(StatusCode, ApiJson<CitizenChallenge>), ApiError> {
    let tenant = tenant_of(&params)?;
    state.admit(&state.limiters.challenges, client)?;
    state.served_tenant(tenant).await?;
    let (challenge_id, challenge) = citizen::issue_challenge(&state, tenant).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CitizenChallenge {
            challenge_id,
            nonce: hex::encode(challenge.nonce()),
            signing_message: hex::encode(challenge.signing_message()),
            expires_at: challenge.expires_at(),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenSignIn {
    challenge_id: Uuid,
    /// The person signing in (their ledger id, as given with the card's registration).
    person_id: Uuid,
    /// The card's Ed25519 signature over `signing_message`: 64 bytes as 128 hex digits or base64.
    signature: String,
}

#[derive(Serialize, ToSchema)]
pub struct CitizenSession {
    /// The bearer token for the citizen endpoints; shown once, stored only as a hash.
    token: String,
    expires_at: DateTime<Utc>,
    /// The record page, with the token in the fragment (which browsers never send to a server).
    page_url: String,
}

/// Answer a challenge with the card's signature and get a short citizen session. Each challenge
/// works once; every outcome about a person is recorded.
#[utoipa::path(post, path = "/v1/{tenant}/citizen/sessions", request_body = CitizenSignIn,
    params(doc::Tenant),
    responses(
        (status = 201, description = "Signed in", body = CitizenSession),
        (status = 401, description = "`challenge_not_found`, `challenge_expired`, `signature_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`malformed_signature`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    params: axum::extract::RawPathParams,
    crate::ApiJson(body): crate::ApiJson<CitizenSignIn>,
) -> Result<(StatusCode, ApiJson<CitizenSession>), ApiError> {
    let tenant = tenant_of(&params)?;
    state.served_tenant(tenant).await?;
    // Checked before the challenge is used up: a garbled signature is the client's mistake.
    let signature: [u8; 64] = citizen::decode_bytes(&body.signature).ok_or_else(|| ApiError::BadRequest {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "malformed_signature",
        detail: "signature must be 64 bytes as 128 hex digits or base64".into(),
    })?;
    let session =
        citizen::sign_in(&state, tenant, body.challenge_id, PersonId::from_uuid(body.person_id), signature).await?;
    let token = session.token.expose().to_owned();
    Ok((
        StatusCode::CREATED,
        ApiJson(CitizenSession {
            page_url: format!("/citizen#tenant={tenant}&token={token}"),
            token,
            expires_at: session.expires_at,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CitizenRecord {
    person_id: Uuid,
    /// The municipality keeping the record.
    municipality: String,
    /// Newest first.
    entries: Vec<CitizenRecordEntry>,
}

/// One entry of a citizen's record.
#[derive(Serialize, ToSchema)]
pub struct CitizenRecordEntry {
    /// `access` (staff of the municipality looked at the record), `provision` (the municipality
    /// provided information to another agency), `inquiry` (the municipality asked another agency).
    kind: String,
    /// When it happened.
    at: DateTime<Utc>,
    /// Provisions: when the agency asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_at: Option<DateTime<Utc>>,
    /// Who looked (access), who asked (provision: the requesting agency; inquiry: the municipality).
    organisation: String,
    /// The municipality's section, for its own staff; never a staff member.
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<String>,
    /// The other side: for a provision who provided (the municipality and section), for an
    /// inquiry the agency asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    counterpart: Option<String>,
    items: Vec<String>,
    /// The NHI affair (access, inquiry), e.g. `benefits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose: Option<String>,
    /// The law allowing it (provision, inquiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    legal_basis: Option<String>,
}

/// The signed-in citizen's own record of accesses, provisions and inquiries, without the
/// entries flagged non-disclosable.
#[utoipa::path(get, path = "/v1/{tenant}/citizen/record", security(("citizen_session" = [])),
    params(doc::Tenant),
    responses(
        (status = 200, description = "The record", body = CitizenRecord),
        (status = 401, description = "`not_signed_in`, `session_expired`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn record(State(state): State<AppState>, citizen: Citizen) -> Result<Response, ApiError> {
    let tenant = citizen.tenant;
    let tenant_text = tenant.to_string();
    let person = citizen.person_id.as_uuid();
    let names = &state.provision.organisations;
    let municipality = names.municipality(tenant);
    // The citizen sees everything committed before they asked.
    state.projections_current(tenant).await?;
    let db = state.store.db();
    let mut entries = Vec::new();
    let mut after_position = 0;
    loop {
        let filter =
            AccessFilter { person_id: Some(person), after_position, limit: ACCESS_ROWS_MAX, ..Default::default() };
        let page = AccessLog::list(db, &tenant_text, &filter).await.map_err(internal)?;
        let full = page.len() as i64 == ACCESS_ROWS_MAX;
        for access in page {
            after_position = access.position;
            // The role names the section; the staff member's id stays with the auditors.
            entries.push(CitizenRecordEntry {
                kind: "access".into(),
                at: access.recorded_at,
                requested_at: None,
                organisation: municipality.clone(),
                section: Some(names.section_of_role(tenant, &access.role)),
                counterpart: None,
                items: access.items,
                purpose: Some(access.purpose),
                legal_basis: None,
            });
        }
        if !full {
            break;
        }
    }
    for row in
        ProvisionRecord::of_person(db, &tenant_text, person, Disclosure::DisclosableOnly).await.map_err(internal)?
    {
        entries.push(match row.kind {
            ProvisionKind::Provision => CitizenRecordEntry {
                kind: "provision".into(),
                at: row.occurred_at,
                requested_at: Some(row.requested_at),
                organisation: row.requester.unwrap_or_default(),
                section: None,
                counterpart: Some(format!("{municipality} {}", names.provision_section(tenant))),
                items: row.items,
                purpose: None,
                legal_basis: Some(row.legal_basis),
            },
            ProvisionKind::Inquiry => CitizenRecordEntry {
                kind: "inquiry".into(),
                at: row.occurred_at,
                requested_at: None,
                organisation: municipality.clone(),
                section: row.role.as_deref().map(|role| names.section_of_role(tenant, role)),
                counterpart: row.provider,
                items: row.items,
                purpose: row.purpose,
                legal_basis: Some(row.legal_basis),
            },
        });
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.at));
    let mut response = ApiJson(CitizenRecord { person_id: person, municipality, entries }).into_response();
    // A person's record is not for shared caches or the browser's disk.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The citizen's record as a web page. It takes the municipality and the session token from the
/// URL fragment (`/citizen#tenant=112020&token=…`), which browsers never send to a server, keeps
/// the token in memory, removes it from the address bar, and fetches the JSON record.
#[utoipa::path(get, path = "/citizen",
    responses((status = 200, description = "The page (HTML, no external resources)", content_type = "text/html")))]
pub(crate) async fn page() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // Only this page's own inline script and style, and requests to this server.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, PAGE).into_response()
}
