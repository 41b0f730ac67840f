//! The reads: a household-month's records, decision and payment, and a person's benefits (the
//! 公金受取口座 masked, claims, payments), each as recorded at an instant; the reveal of the
//! account number, recorded in the access record before it is shown.

use std::collections::BTreeSet;

use axum::extract::State;
use chrono::{DateTime, Utc};
use kokuho_auth::Purpose;
use kokuho_domain::benefits::claims::BenefitClaims;
use kokuho_domain::benefits::month::HighCostMonth;
use kokuho_domain::PersonId;
use kokuho_events::LedgerEvent;
use kokuho_ledger::View;
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{payment_view, AccountBody, HighCostPath, MaskedAccount, PaymentView, PersonBenefitsPath};
use crate::auth::{parse_purpose, Staff};
use crate::error::Problem;
use crate::json::{ApiPath, ApiQuery};
use crate::routes::doc;
use crate::{ApiError, ApiJson, AppState};

/// The affairs benefits may be read for.
const BENEFIT_READ_PURPOSES: &[Purpose] = &[Purpose::Benefits, Purpose::Audit];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BenefitsQuery {
    /// The NHI affair this read is for (`benefits`, `audit`); the caller's role must serve it.
    purpose: String,
    /// As recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct MedicalCostView {
    record_id: String,
    person_id: Uuid,
    batch_id: String,
    care: String,
    total_cost_yen: i64,
    paid_yen: i64,
    /// `null` when the person's personal data was erased.
    provider: Option<String>,
    position: i64,
    recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonBenefitView {
    person_id: Uuid,
    paid_yen: i64,
    benefit_yen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct HighCostDecisionView {
    head_person_id: Uuid,
    paid_yen: i64,
    counted_yen: i64,
    benefit_yen: i64,
    limit_yen: Option<i64>,
    many_times: bool,
    counts_toward_many_times: bool,
    persons: Vec<PersonBenefitView>,
    rules_file: String,
    rules_sha256: String,
    national_sha256: String,
    period_assumed: bool,
    /// The classes with their ground and every step of the calculation; `null` when the head's
    /// personal data was erased.
    #[schema(value_type = Option<Object>)]
    calculation: Option<serde_json::Value>,
    position: i64,
    recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct HighCostMonthView {
    household_id: Uuid,
    /// `YYYY-MM`.
    month: String,
    as_of: DateTime<Utc>,
    records: Vec<MedicalCostView>,
    pub(crate) decision: Option<HighCostDecisionView>,
    payment: Option<PaymentView>,
    version: i64,
}

pub(crate) fn month_view(view: &View<HighCostMonth>, as_of: DateTime<Utc>) -> HighCostMonthView {
    let mut answer = HighCostMonthView {
        household_id: view.id.household_id,
        month: view.id.month.format("%Y-%m").to_string(),
        as_of,
        records: Vec::new(),
        decision: None,
        payment: None,
        version: view.version,
    };
    for (recorded, event) in &view.events {
        match event {
            LedgerEvent::MedicalCostRecorded(e) => answer.records.push(MedicalCostView {
                record_id: e.record_id.clone(),
                person_id: e.person_id,
                batch_id: e.batch_id.clone(),
                care: e.care.clone(),
                total_cost_yen: e.total_cost_yen,
                paid_yen: e.paid_yen,
                provider: e.personal.as_present().map(|d| d.provider.clone()),
                position: recorded.position,
                recorded_at: recorded.recorded_at,
            }),
            LedgerEvent::HighCostDecided(e) => {
                answer.decision = Some(HighCostDecisionView {
                    head_person_id: e.head_person_id,
                    paid_yen: e.paid_yen,
                    counted_yen: e.counted_yen,
                    benefit_yen: e.benefit_yen,
                    limit_yen: e.limit_yen,
                    many_times: e.many_times,
                    counts_toward_many_times: e.counts_toward_many_times,
                    persons: e
                        .persons
                        .iter()
                        .map(|p| PersonBenefitView {
                            person_id: p.person_id,
                            paid_yen: p.paid_yen,
                            benefit_yen: p.benefit_yen,
                        })
                        .collect(),
                    rules_file: e.rules_file.clone(),
                    rules_sha256: e.rules_sha256.clone(),
                    national_sha256: e.national_sha256.clone(),
                    period_assumed: e.period_assumed,
                    calculation: e.personal.as_present().cloned(),
                    position: recorded.position,
                    recorded_at: recorded.recorded_at,
                })
            }
            LedgerEvent::BenefitPaymentInstructed(_) => answer.payment = payment_view(event),
            _ => {}
        }
    }
    answer
}

/// Records an access for every person a household-month's answer shows.
pub(crate) async fn record_month_access(
    state: &AppState,
    staff: &Staff,
    purpose: Purpose,
    month: &HighCostMonthView,
) -> Result<(), ApiError> {
    let persons: BTreeSet<Uuid> = month
        .records
        .iter()
        .map(|r| r.person_id)
        .chain(
            month
                .decision
                .iter()
                .flat_map(|d| std::iter::once(d.head_person_id).chain(d.persons.iter().map(|p| p.person_id))),
        )
        .collect();
    super::super::reports::record_accesses(state, staff, purpose, persons.into_iter().collect(), "high_cost_benefit")
        .await
}

/// A household-month's high-cost benefit as recorded at an instant: its medical-cost records,
/// the decision with every step, and the payment (account masked). An access is recorded for
/// every person shown before the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/households/{household_id}/benefits/high-cost/{month}", security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, ("month" = String, Path, description = "the service month, YYYY-MM"), BenefitsQuery),
    responses(
        (status = 200, description = "The household-month", body = HighCostMonthView),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        (status = 404, description = "`high_cost_month_not_found`: nothing recorded (as recorded at `as_of`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_month`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn high_cost_month(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<HighCostPath>,
    ApiQuery(query): ApiQuery<BenefitsQuery>,
) -> Result<ApiJson<HighCostMonthView>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, BENEFIT_READ_PURPOSES).await?;
    let id = path.id()?;
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let view = state.ledger.replay::<HighCostMonth>(staff.principal.tenant, id, Some(as_of), Decrypt::Yes).await?;
    if view.version == 0 {
        return Err(ApiError::BadRequest {
            status: axum::http::StatusCode::NOT_FOUND,
            code: "high_cost_month_not_found",
            detail: format!("nothing is recorded for this household-month (as recorded at {as_of})"),
        });
    }
    let month = month_view(&view, as_of);
    record_month_access(&state, &staff, purpose, &month).await?;
    Ok(ApiJson(month))
}

#[derive(Serialize, ToSchema)]
pub struct ClaimView {
    claim_id: Uuid,
    kind: String,
    event_on: chrono::NaiveDate,
    claimed_on: chrono::NaiveDate,
    /// `paid` or `refused`.
    outcome: String,
    code: Option<String>,
    amount_yen: i64,
    to_institution_yen: i64,
    to_claimant_yen: i64,
    position: i64,
    recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicFundsAccountView {
    registered_on: chrono::NaiveDate,
    consented: bool,
    /// `null` when the person's personal data was erased.
    account: Option<MaskedAccount>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonBenefitsView {
    person_id: Uuid,
    as_of: DateTime<Utc>,
    public_funds_account: Option<PublicFundsAccountView>,
    claims: Vec<ClaimView>,
    payments: Vec<PaymentView>,
    version: i64,
}

/// A person's benefits as recorded at an instant: their 公金受取口座 (masked) and consent, the
/// childbirth and funeral claims decided or refused, and the payments instructed from their
/// stream. An access is recorded before the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/persons/{person_id}/benefits", security(("session" = [])),
    params(doc::Tenant, doc::PersonId, BenefitsQuery),
    responses(
        (status = 200, description = "The person's benefits", body = PersonBenefitsView),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn person_benefits(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonBenefitsPath>,
    ApiQuery(query): ApiQuery<BenefitsQuery>,
) -> Result<ApiJson<PersonBenefitsView>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, BENEFIT_READ_PURPOSES).await?;
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let id = PersonId::from_uuid(path.person_id);
    let view = state.ledger.replay::<BenefitClaims>(staff.principal.tenant, id, Some(as_of), Decrypt::Yes).await?;
    let mut answer = PersonBenefitsView {
        person_id: path.person_id,
        as_of,
        public_funds_account: None,
        claims: Vec::new(),
        payments: Vec::new(),
        version: view.version,
    };
    for (recorded, event) in &view.events {
        match event {
            LedgerEvent::PublicFundsAccountRegistered(e) => {
                answer.public_funds_account = Some(PublicFundsAccountView {
                    registered_on: e.registered_on,
                    consented: e.consented,
                    account: e.personal.as_present().map(MaskedAccount::from),
                })
            }
            LedgerEvent::BenefitClaimDecided(e) => answer.claims.push(ClaimView {
                claim_id: e.claim_id,
                kind: e.kind.clone(),
                event_on: e.event_on,
                claimed_on: e.claimed_on,
                outcome: "paid".into(),
                code: None,
                amount_yen: e.amount_yen,
                to_institution_yen: e.to_institution_yen,
                to_claimant_yen: e.to_claimant_yen,
                position: recorded.position,
                recorded_at: recorded.recorded_at,
            }),
            LedgerEvent::BenefitClaimRefused(e) => answer.claims.push(ClaimView {
                claim_id: e.claim_id,
                kind: e.kind.clone(),
                event_on: e.event_on,
                claimed_on: e.claimed_on,
                outcome: "refused".into(),
                code: Some(e.code.clone()),
                amount_yen: 0,
                to_institution_yen: 0,
                to_claimant_yen: 0,
                position: recorded.position,
                recorded_at: recorded.recorded_at,
            }),
            LedgerEvent::BenefitPaymentInstructed(_) => answer.payments.extend(payment_view(event)),
            _ => {}
        }
    }
    let persons: BTreeSet<Uuid> =
        std::iter::once(path.person_id).chain(answer.payments.iter().map(|p| p.payee_person_id)).collect();
    super::super::reports::record_accesses(&state, &staff, purpose, persons.into_iter().collect(), "benefits").await?;
    Ok(ApiJson(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealBody {
    /// The NHI affair the reveal is for (`benefits`).
    purpose: String,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedAccount {
    person_id: Uuid,
    consented: bool,
    account: AccountBody,
}

/// The person's 公金受取口座 in full (benefits clerks, supervisors: to check it against a bank's
/// answer). The reveal is recorded in the person's access record (item
/// `public_funds_account_number`) before the number is sent.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/benefits/public-funds-account/reveal", request_body = RevealBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId),
    responses(
        (status = 200, description = "The account in full", body = RevealedAccount),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        (status = 404, description = "`account_not_registered`: no account (or erased)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn reveal_account(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<PersonBenefitsPath>,
    ApiJson(body): ApiJson<RevealBody>,
) -> Result<ApiJson<RevealedAccount>, ApiError> {
    let purpose = parse_purpose(&body.purpose)?;
    staff.require_purpose(&state, purpose, &[Purpose::Benefits]).await?;
    let id = PersonId::from_uuid(path.person_id);
    let view = state.ledger.replay::<BenefitClaims>(staff.principal.tenant, id, None, Decrypt::Yes).await?;
    let Some((kokuho_events::Personal::Present(account), consented)) = view.state.public_funds_account.clone() else {
        return Err(ApiError::BadRequest {
            status: axum::http::StatusCode::NOT_FOUND,
            code: "account_not_registered",
            detail: "the person has no public-funds receiving account on record".into(),
        });
    };
    let event = staff.accessed(purpose, path.person_id, &["public_funds_account_number"]);
    staff.record_access(&state, purpose, path.person_id, &[event]).await?;
    Ok(ApiJson(RevealedAccount {
        person_id: path.person_id,
        consented,
        account: AccountBody {
            bank_code: account.bank_code,
            branch_code: account.branch_code,
            account_type: account.account_type,
            account_number: account.account_number,
            holder_kana: account.holder_kana,
        },
    }))
}
