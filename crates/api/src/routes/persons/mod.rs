//! Persons: registration from the resident registry, names and addresses, and reading a person's
//! record (which appends an access event, committed before the answer is sent). Payments are
//! recorded on the household's account (`routes::collection`); a person's record still shows the
//! payments its stream holds from before (ARCHITECTURE.md, "Payments before the household
//! account").

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::person::Person;
use kokuho_domain::person::PersonCommand;
use kokuho_domain::PersonId;
use kokuho_events::{PersonDetails, Sex};
use kokuho_projections::models::PersonRegistry;
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use crate::auth::{parse_purpose, IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::{ApiPath, ApiQuery};
use crate::{ApiError, ApiJson, AppState};

/// A search answers at most this many persons: narrow it down instead.
const SEARCH_RESULTS_MAX: usize = 100;

/// The affairs a person's record may be read for (administration reads no person).
pub(crate) const READ_PURPOSES: &[Purpose] = &[
    Purpose::Eligibility,
    Purpose::Assessment,
    Purpose::Collection,
    Purpose::Benefits,
    Purpose::Provision,
    Purpose::Audit,
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/persons", post(register).get(find))
        .route("/v1/{tenant}/persons/{person_id}", get(read))
        .route("/v1/{tenant}/persons/{person_id}/name", post(change_name))
        .route("/v1/{tenant}/persons/{person_id}/address", post(change_address))
}

/// `/v1/{tenant}/persons/{person_id}…`
#[derive(Deserialize)]
pub struct PersonPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    pub(crate) tenant: String,
    pub(crate) person_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct Recorded {
    pub(crate) person_id: Uuid,
    /// The ledger position of the command's last event.
    pub(crate) position: i64,
    pub(crate) recorded_at: DateTime<Utc>,
    /// True when this was a retry of an Idempotency-Key already answered: nothing new was recorded.
    pub(crate) duplicate: bool,
}

/// The command path every person command shares: role check, metadata, decide and append.
pub(crate) async fn execute(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    roles: &[Role],
    purpose: Purpose,
    person_id: PersonId,
    command: PersonCommand,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    staff.require_role(state, roles).await?;
    let meta = staff.command_meta(purpose, key)?;
    let executed = state.ledger.execute::<Person>(staff.principal.tenant, person_id, command, meta).await?;
    Ok(recorded(person_id, executed))
}

pub(crate) fn recorded(person_id: PersonId, executed: kokuho_ledger::Executed) -> (StatusCode, ApiJson<Recorded>) {
    let status = super::created_or_retried(&executed);
    (
        status,
        ApiJson(Recorded {
            person_id: person_id.as_uuid(),
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
        }),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    /// 宛名番号, the city's internal person number.
    atena_no: String,
    name: String,
    name_kana: String,
    /// `male` or `female`
    #[schema(value_type = String)]
    sex: Sex,
    date_of_birth: NaiveDate,
    address: String,
    /// Where the information came from (入手元), e.g. `resident_registry`.
    source: String,
    /// The law that allows acquiring it.
    legal_basis: String,
}

/// Register a person from the resident registry (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/persons", request_body = NewPerson, security(("session" = [])),
    params(doc::Tenant, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Registered", body = Recorded),
        doc::RoleNotPermitted,
        (status = 409, description = "`atena_no_registered` (the detail names the person registered with it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`empty_field`, `text_too_long`, `control_character`, `date_too_early`, `date_in_future`, `unknown_source`, `unknown_legal_basis`, `invalid_body` (docs/domain.md, \"What the ledger accepts\")", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn register(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<NewPerson>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let command = PersonCommand::Register {
        atena_no: body.atena_no,
        details: PersonDetails {
            name: body.name,
            name_kana: body.name_kana,
            sex: body.sex,
            date_of_birth: body.date_of_birth,
            address: body.address,
        },
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    let roles = [Role::EligibilityClerk, Role::Supervisor];
    // A retried registration must name the person the first attempt created.
    let person_id = PersonId::from_uuid(staff.id_from_key("person", &key));
    execute(&state, &staff, &key, &roles, Purpose::Eligibility, person_id, command).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindQuery {
    /// 宛名番号.
    atena_no: Option<String>,
    /// Name in kanji; spacing and full/half width do not matter. Former names match too.
    name: Option<String>,
    /// Name in kana.
    name_kana: Option<String>,
    date_of_birth: Option<NaiveDate>,
    /// The NHI affair the lookup is for.
    purpose: String,
}

#[derive(Serialize, ToSchema)]
pub struct Found {
    person_id: Uuid,
    atena_no: String,
}

/// Find persons by address number, name, name in kana and/or date of birth (all given criteria
/// must match). Names and dates are matched through a keyed blind index, never stored in clear.
/// The answer shows no personal data (so records no access): open a record to see it.
#[utoipa::path(get, path = "/v1/{tenant}/persons", security(("session" = [])),
    params(doc::Tenant, FindQuery),
    responses(
        (status = 200, description = "The persons filed under that number (normally one)", body = [Found]),
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn find(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<FindQuery>,
) -> Result<ApiJson<Vec<Found>>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, READ_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    let internal = |error: &dyn std::fmt::Display| ApiError::Internal(error.to_string());
    state.projections_current(tenant).await?;
    let tenant_text = tenant.to_string();
    // Each criterion gives a set of persons; the answer is their intersection.
    let mut matches: Option<std::collections::BTreeSet<Uuid>> = None;
    let mut narrow = |found: Vec<Uuid>| {
        let found: std::collections::BTreeSet<Uuid> = found.into_iter().collect();
        matches = Some(match matches.take() {
            None => found,
            Some(previous) => previous.intersection(&found).copied().collect(),
        });
    };
    if let Some(atena_no) = &query.atena_no {
        let rows =
            PersonRegistry::by_atena_no(state.store.db(), &tenant_text, atena_no).await.map_err(|e| internal(&e))?;
        narrow(rows.into_iter().map(|row| row.person_id).collect());
    }
    for (kind, value) in [
        ("name", &query.name),
        ("name_kana", &query.name_kana),
        ("date_of_birth", &query.date_of_birth.map(|d| d.to_string())),
    ] {
        if let Some(value) = value {
            narrow(state.store.search(tenant, kind, value).await.map_err(|e| internal(&e))?);
        }
    }
    let Some(matches) = matches else {
        return Err(ApiError::bad_request(
            "search_criteria_missing",
            "give atena_no, name, name_kana or date_of_birth",
        ));
    };
    let mut found = Vec::with_capacity(matches.len());
    for person_id in matches.into_iter().take(SEARCH_RESULTS_MAX) {
        let atena_no =
            PersonRegistry::atena_no_of(state.store.db(), &tenant_text, person_id).await.map_err(|e| internal(&e))?;
        if let Some(atena_no) = atena_no {
            found.push(Found { person_id, atena_no });
        }
    }
    Ok(ApiJson(found))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    /// The NHI affair this read is for; the caller's role must serve it.
    purpose: String,
    /// Answer as the ledger had it recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonRecord {
    person_id: Uuid,
    atena_no: String,
    /// `null` when the person's data was erased at the end of retention.
    name: Option<String>,
    name_kana: Option<String>,
    sex: Option<String>,
    date_of_birth: Option<NaiveDate>,
    address: Option<String>,
    /// The linked My Number, masked (`********` and the last 4 digits); `null` when none is linked.
    my_number: Option<String>,
    /// For the eligibility affair: the first day of the current insured period.
    #[serde(skip_serializing_if = "Option::is_none")]
    insured_since: Option<NaiveDate>,
    /// For the collection affair: the payments recorded on the person before the household
    /// account (none is recorded there any more; the account route records them now).
    #[serde(skip_serializing_if = "Option::is_none")]
    payments: Option<PaymentsSummary>,
    /// The stream version this answer reflects.
    version: i64,
    as_of: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentsSummary {
    count: u32,
    total_yen: i64,
}

/// Read a person's record for a declared purpose. The access (who, whom, which items, why) is
/// recorded in the ledger before this answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/persons/{person_id}", security(("session" = [])),
    params(doc::Tenant, doc::PersonId, ReadQuery),
    responses(
        (status = 200, description = "The record", body = PersonRecord),
        doc::PurposeNotPermitted,
        doc::PersonNotFound,
    ))]
pub(crate) async fn read(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonPath>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<ApiJson<PersonRecord>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, READ_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    let person_id = PersonId::from_uuid(path.person_id);
    let view = state.ledger.replay::<Person>(tenant, person_id, query.as_of, Decrypt::Yes).await?;
    let Some(registration) = view.state.registered.clone() else {
        return Err(ApiError::refused(&kokuho_domain::Rejection::PersonNotFound { person_id }));
    };
    let details = registration.details.clone();
    let mut items: Vec<&str> = Vec::new();
    if details.is_some() {
        items.extend(["name", "name_kana", "sex", "date_of_birth", "address"]);
    }
    let show_eligibility =
        matches!(purpose, Purpose::Eligibility | Purpose::Assessment | Purpose::Benefits | Purpose::Audit);
    let show_payments = matches!(purpose, Purpose::Collection | Purpose::Assessment | Purpose::Audit);
    if show_eligibility {
        items.push("eligibility");
    }
    if show_payments {
        items.push("payments");
    }
    let my_number = super::my_number::masked_for_record(&state, tenant, person_id, query.as_of).await?;
    if my_number.is_some() {
        items.push("my_number_masked");
    }
    // The access record first: if it cannot be committed, nothing is shown.
    staff
        .record_access(&state, purpose, person_id.as_uuid(), &[staff.accessed(purpose, person_id.as_uuid(), &items)])
        .await?;
    Ok(ApiJson(PersonRecord {
        person_id: person_id.as_uuid(),
        atena_no: registration.atena_no,
        name: details.as_ref().map(|d| d.name.clone()),
        name_kana: details.as_ref().map(|d| d.name_kana.clone()),
        sex: details
            .as_ref()
            .map(|d| serde_json::to_value(d.sex).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),
        date_of_birth: details.as_ref().map(|d| d.date_of_birth),
        address: details.as_ref().map(|d| d.address.clone()),
        my_number,
        insured_since: if show_eligibility { view.state.insured_since } else { None },
        payments: show_payments
            .then(|| PaymentsSummary { count: view.state.payments, total_yen: view.state.paid_total.amount() }),
        version: view.version,
        as_of: query.as_of.unwrap_or_else(|| state.ledger.now()),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameChangeBody {
    name: String,
    name_kana: String,
    /// When the new name took effect in the resident registry.
    effective_on: NaiveDate,
    source: String,
    legal_basis: String,
}

/// Record a change of name from the resident registry (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/name", request_body = NameChangeBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        doc::PersonNotFound,
        (status = 422, description = "`empty_field`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn change_name(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<NameChangeBody>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let command = PersonCommand::ChangeName {
        name: body.name,
        name_kana: body.name_kana,
        effective_on: body.effective_on,
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    let roles = [Role::EligibilityClerk, Role::Supervisor];
    execute(&state, &staff, &key, &roles, Purpose::Eligibility, PersonId::from_uuid(path.person_id), command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressChangeBody {
    address: String,
    effective_on: NaiveDate,
    source: String,
    legal_basis: String,
}

/// Record a move within the municipality (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/address", request_body = AddressChangeBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        doc::PersonNotFound,
        (status = 422, description = "`empty_field`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn change_address(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<AddressChangeBody>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let command = PersonCommand::ChangeAddress {
        address: body.address,
        effective_on: body.effective_on,
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    let roles = [Role::EligibilityClerk, Role::Supervisor];
    execute(&state, &staff, &key, &roles, Purpose::Eligibility, PersonId::from_uuid(path.person_id), command).await
}
