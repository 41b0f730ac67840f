//! Benefits (給付): the 国保連's medical-cost records imported in batches, the high-cost medical
//! expense benefit (高額療養費) of a household-month decided on demand (the same command as
//! `kokuho benefits run`), the public-funds receiving account (公金受取口座) registered and read
//! (masked; a reveal is recorded), the childbirth (出産育児一時金) and funeral (葬祭費) claims, and
//! the benefits of a person or a household-month as recorded at an instant.
//!
//! Every answer that shows a person's figures records an access for each person it shows before
//! it is sent (architecture invariant 8). Account numbers are shown masked except by the reveal.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use chrono::NaiveDate;
use kokuho_auth::{Purpose, Role};
use kokuho_domain::benefits::account::masked_number;
use kokuho_domain::benefits::claims::{self, BenefitClaims, ClaimCommand, FuneralClaimBody, Payee};
use kokuho_domain::benefits::month::{check_record, HighCostCommand, HighCostMonth, HighCostMonthId, NewRecord};
use kokuho_domain::benefits::{BenefitRejection, Care, Payment};
use kokuho_domain::household::Household;
use kokuho_domain::PersonId;
use kokuho_events::{BankAccount, LedgerEvent};
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::{IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::ApiPath;
use crate::{ApiError, ApiJson, AppState};

mod answers;

pub use answers::*;

/// Who records and decides benefits: the benefits section (給付係) and its supervisors.
const BENEFIT_ROLES: &[Role] = &[Role::BenefitsClerk, Role::Supervisor];

/// The most records one import may carry (a body is at most 64 KiB); a 国保連 month is sent in
/// several.
pub const BATCH_RECORDS_MAX: usize = 250;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/benefits/medical-costs", post(import_medical_costs))
        .route(
            "/v1/{tenant}/households/{household_id}/benefits/high-cost/{month}",
            axum::routing::get(answers::high_cost_month),
        )
        .route("/v1/{tenant}/households/{household_id}/benefits/high-cost/{month}/decision", post(decide_high_cost))
        .route("/v1/{tenant}/persons/{person_id}/benefits", axum::routing::get(answers::person_benefits))
        .route("/v1/{tenant}/persons/{person_id}/benefits/public-funds-account", post(register_account))
        .route("/v1/{tenant}/persons/{person_id}/benefits/public-funds-account/reveal", post(answers::reveal_account))
        .route("/v1/{tenant}/persons/{person_id}/benefits/childbirth-claims", post(claim_childbirth))
        .route("/v1/{tenant}/persons/{person_id}/benefits/funeral-claims", post(claim_funeral))
}

fn unprocessable(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, code, detail: detail.into() }
}

/// `YYYY-MM` → the first day of the month.
pub(crate) fn parse_month(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .ok()
        .filter(|day| (1900..=9999).contains(&chrono::Datelike::year(day)) && text.len() == 7)
        .ok_or_else(|| unprocessable("invalid_month", format!("`{field}` must be a month written YYYY-MM")))
}

/// An account as sent: 4-digit bank code, 3-digit branch, `ordinary`/`current`/`savings`, a
/// 7-digit number, the holder's name in kana.
#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    #[schema(example = "0001")]
    bank_code: String,
    #[schema(example = "123")]
    branch_code: String,
    /// `ordinary` (普通), `current` (当座), `savings` (貯蓄).
    account_type: String,
    #[schema(example = "1234567")]
    account_number: String,
    holder_kana: String,
}

impl From<AccountBody> for BankAccount {
    fn from(body: AccountBody) -> BankAccount {
        BankAccount {
            bank_code: body.bank_code,
            branch_code: body.branch_code,
            account_type: body.account_type,
            account_number: body.account_number,
            holder_kana: body.holder_kana,
        }
    }
}

/// An account as shown without a reveal: the number masked but for its last 3 digits.
#[derive(Serialize, ToSchema)]
pub struct MaskedAccount {
    bank_code: String,
    branch_code: String,
    account_type: String,
    #[schema(example = "****567")]
    account_number_masked: String,
}

impl From<&BankAccount> for MaskedAccount {
    fn from(account: &BankAccount) -> MaskedAccount {
        MaskedAccount {
            bank_code: account.bank_code.clone(),
            branch_code: account.branch_code.clone(),
            account_type: account.account_type.clone(),
            account_number_masked: masked_number(account),
        }
    }
}

/// A payment instruction (支払指示) as shown.
#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    payment_id: Uuid,
    payee_person_id: Uuid,
    /// `high_cost`, `childbirth`, `funeral`.
    benefit: String,
    amount_yen: i64,
    /// `public_funds_account` (公金受取口座) or `claim_account` (the account on the claim).
    account_source: String,
    /// `null` when the payee's personal data was erased.
    account: Option<MaskedAccount>,
}

pub(crate) fn payment_view(event: &LedgerEvent) -> Option<PaymentView> {
    let LedgerEvent::BenefitPaymentInstructed(e) = event else { return None };
    Some(PaymentView {
        payment_id: e.payment_id,
        payee_person_id: e.payee_person_id,
        benefit: e.benefit.clone(),
        amount_yen: e.amount_yen,
        account_source: e.account_source.clone(),
        account: e.personal.as_present().map(MaskedAccount::from),
    })
}

/// One medical-cost record (レセプト) of the 国保連's batch.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicalCostBody {
    /// The record's number (レセプト番号), 1 to 40 letters, digits or hyphens: sent again in the
    /// same household-month, by any batch, it is not recorded twice. It must identify the
    /// レセプト across batches (such as the レセプト全国共通キー); numbers that restart in each batch
    /// must be sent prefixed with their batch (`<batch>-<number>`), or a second batch's record
    /// with the same number is passed over (docs/domain.md §6).
    record_id: String,
    person_id: Uuid,
    /// The service month (診療月), `YYYY-MM`.
    #[schema(example = "2024-10")]
    month: String,
    /// 医療機関コード (a pharmacy filling the provider's prescriptions gives the provider's).
    provider: String,
    /// `inpatient`, `outpatient`, `dental`.
    #[schema(value_type = String, example = "inpatient")]
    care: Care,
    /// 総医療費 (10割), yen.
    total_cost_yen: i64,
    /// 一部負担金, yen.
    paid_yen: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicalCostBatch {
    /// The 国保連 batch's name (1 to 40 letters, digits or hyphens).
    batch_id: String,
    /// 1 to 250 records.
    records: Vec<MedicalCostBody>,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdMonthImported {
    household_id: Uuid,
    /// `YYYY-MM`.
    month: String,
    /// Records recorded now (those already recorded are not counted).
    recorded: usize,
}

#[derive(Serialize, ToSchema)]
pub struct MedicalCostsImported {
    batch_id: String,
    /// Records in the batch.
    received: usize,
    /// Records recorded now.
    recorded: usize,
    /// Records already recorded by an earlier batch (or an earlier attempt).
    already_recorded: usize,
    household_months: Vec<HouseholdMonthImported>,
}

/// The household `person_id` belonged to in `month` (on its last day of membership that month).
async fn household_in_month(
    state: &AppState,
    tenant: kokuho_domain::TenantCode,
    person_id: Uuid,
    month: NaiveDate,
) -> Result<Option<Uuid>, ApiError> {
    let (first, last) = kokuho_ledger::benefits::month_bounds(month);
    let mut found: Option<(NaiveDate, Uuid)> = None;
    for household_id in state.ledger.households_of(tenant, person_id).await? {
        let household = state.ledger.replay::<Household>(tenant, household_id, None, Decrypt::No).await?.state;
        let last_day = first
            .iter_days()
            .take_while(|day| *day <= last)
            .filter(|day| household.memberships.iter().any(|m| m.person_id == person_id && m.contains(*day)))
            .last();
        if let Some(day) = last_day {
            if found.is_none_or(|(best, _)| day > best) {
                found = Some((day, household_id));
            }
        }
    }
    Ok(found.map(|(_, id)| id))
}

/// Import a batch of medical-cost records (レセプト) from the 国保連 (benefits clerks,
/// supervisors): each record goes to the stream of the household its person belonged to in the
/// service month; a record id already recorded in the household-month is passed over, whatever
/// batch brought it (record ids are taken to identify a レセプト across batches: numbers that
/// restart per batch must be sent prefixed with their batch). Every record, and every
/// household-month, is checked before anything is recorded: a batch bringing a new record to a
/// month already decided is refused whole (409 `month_already_decided`, naming the service months
/// and the records' places), nothing recorded. 201 with what was recorded per household-month.
#[utoipa::path(post, path = "/v1/{tenant}/benefits/medical-costs", request_body = MedicalCostBatch, security(("session" = [])),
    params(doc::Tenant, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = MedicalCostsImported),
        doc::RoleNotPermitted,
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`month_already_decided`: the batch brings new records to a decided household-month (named); nothing of it was recorded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`too_many_records`, `invalid_field` (naming `records[i].…`), `invalid_month`, `person_without_household`, `record_person_not_member`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn import_medical_costs(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiJson(batch): ApiJson<MedicalCostBatch>,
) -> Result<(StatusCode, ApiJson<MedicalCostsImported>), ApiError> {
    staff.require_role(&state, BENEFIT_ROLES).await?;
    let meta = staff.command_meta(Purpose::Benefits, &key)?;
    if batch.records.is_empty() || batch.records.len() > BATCH_RECORDS_MAX {
        return Err(unprocessable("too_many_records", format!("`records` must hold 1 to {BATCH_RECORDS_MAX} records")));
    }
    let batch_ok = !batch.batch_id.is_empty()
        && batch.batch_id.len() <= 40
        && batch.batch_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !batch_ok {
        return Err(ApiError::refused(&BenefitRejection::Invalid {
            field: "batch_id".into(),
            accepts: "1 to 40 letters, digits or hyphens",
        }));
    }
    let tenant = staff.principal.tenant;
    let received = batch.records.len();
    // Check every record, then find each person's household in the month (once per pair).
    let mut households: BTreeMap<(Uuid, NaiveDate), Option<Uuid>> = BTreeMap::new();
    let mut grouped: BTreeMap<HighCostMonthId, Vec<(usize, NewRecord)>> = BTreeMap::new();
    for (index, body) in batch.records.into_iter().enumerate() {
        let month = parse_month(&format!("records[{index}].month"), &body.month)?;
        let record = NewRecord {
            record_id: body.record_id,
            person_id: body.person_id,
            provider: body.provider,
            care: body.care,
            total_cost: body.total_cost_yen,
            paid: body.paid_yen,
        };
        check_record(index, &record).map_err(|rejection| ApiError::refused(&rejection))?;
        let household = match households.get(&(record.person_id, month)) {
            Some(found) => *found,
            None => {
                let found = household_in_month(&state, tenant, record.person_id, month).await?;
                households.insert((record.person_id, month), found);
                found
            }
        };
        let Some(household_id) = household else {
            return Err(ApiError::refused(&BenefitRejection::PersonWithoutHousehold { index }));
        };
        grouped.entry(HighCostMonthId::new(household_id, month)).or_default().push((index, record));
    }
    refuse_records_of_decided_months(&state, tenant, &grouped).await?;
    let mut recorded = 0;
    let mut household_months = Vec::new();
    for (id, records) in grouped {
        // One command per household-month; the request's key, scoped to the stream.
        let mut meta = meta.clone();
        meta.idempotency_key =
            meta.idempotency_key.map(|key| format!("{key}:{}", kokuho_domain::benefits::month::stream_id(id)));
        meta.correlation_id = staff.meta(Purpose::Benefits).correlation_id;
        let records = records.into_iter().map(|(_, record)| record).collect();
        let command = HighCostCommand::Record { batch_id: batch.batch_id.clone(), records };
        let executed = state.ledger.execute::<HighCostMonth>(tenant, id, command, meta).await?;
        let count = executed.events.len();
        recorded += count;
        household_months.push(HouseholdMonthImported {
            household_id: id.household_id,
            month: id.month.format("%Y-%m").to_string(),
            recorded: count,
        });
    }
    Ok((
        StatusCode::CREATED,
        ApiJson(MedicalCostsImported {
            batch_id: batch.batch_id,
            received,
            recorded,
            already_recorded: received - recorded,
            household_months,
        }),
    ))
}

/// The most record places a refusal names.
const PLACES_NAMED_MAX: usize = 20;

/// Refuses the whole batch, before anything is recorded, when it brings a record not recorded
/// yet to a household-month already decided (a record already recorded may come again). The
/// answer names the service months and the records' places in the batch, nothing personal.
/// (The decision of a month between this check and the recording is still refused by the
/// aggregate, for that household-month.)
async fn refuse_records_of_decided_months(
    state: &AppState,
    tenant: kokuho_domain::TenantCode,
    grouped: &BTreeMap<HighCostMonthId, Vec<(usize, NewRecord)>>,
) -> Result<(), ApiError> {
    let mut months = BTreeSet::new();
    let mut places = BTreeSet::new();
    for (id, records) in grouped {
        let view = state.ledger.replay::<HighCostMonth>(tenant, *id, None, Decrypt::No).await?;
        if view.state.decided.is_none() {
            continue;
        }
        for (index, record) in records {
            if !view.state.record_ids.contains(&record.record_id) {
                months.insert(id.month.format("%Y-%m").to_string());
                places.insert(*index);
            }
        }
    }
    if months.is_empty() {
        return Ok(());
    }
    let mut named: Vec<String> = places.iter().take(PLACES_NAMED_MAX).map(|i| format!("records[{i}]")).collect();
    if places.len() > PLACES_NAMED_MAX {
        named.push(format!("and {} more", places.len() - PLACES_NAMED_MAX));
    }
    Err(ApiError::BadRequest {
        status: StatusCode::CONFLICT,
        code: "month_already_decided",
        detail: format!(
            "nothing of this batch was recorded: {} bring records to a household-month already decided \
             (service month {}); a record arriving after the decision needs a correction, which the ledger does not \
             make yet. Send the batch again without them",
            named.join(", "),
            months.into_iter().collect::<Vec<_>>().join(", ")
        ),
    })
}

/// `/v1/{tenant}/households/{household_id}/benefits/high-cost/{month}…`
#[derive(Deserialize)]
pub struct HighCostPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    household_id: Uuid,
    month: String,
}

impl HighCostPath {
    fn id(&self) -> Result<HighCostMonthId, ApiError> {
        Ok(HighCostMonthId::new(self.household_id, parse_month("month", &self.month)?))
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct HighCostDecisionBody {
    /// The account on the application (高額療養費支給申請), used when the head of household has
    /// no 公金受取口座 registered with consent.
    account: Option<AccountBody>,
}

#[derive(Serialize, ToSchema)]
pub struct HighCostDecisionAnswer {
    /// `decided` (now, or by the first attempt of a retried Idempotency-Key),
    /// `payment_instructed` (the month was decided before without an account; its payment
    /// instruction alone is recorded now, into the head's 公金受取口座 registered since or the
    /// account in the body) or `already_decided` (nothing recorded: the decision in force is
    /// shown).
    outcome: String,
    duplicate: bool,
    month: HighCostMonthView,
}

/// Decide a household-month's high-cost medical expense benefit (高額療養費; benefits clerks,
/// supervisors) from its records, the household's members, their incomes and 70–74 share, the
/// earlier months (多数回, the yearly outpatient limit) and the rules of the month's fiscal year —
/// the same command as `kokuho benefits run`. The benefit is paid to the head's 公金受取口座 when
/// registered with consent, else to the account in the body; with neither, the decision stands
/// and no payment is instructed, and a later request, once the head has registered a
/// 公金受取口座 or with an account in the body, records the payment instruction alone (201
/// `payment_instructed`, once). 201 with the decision, every step, and the payment (an access is
/// recorded for each member shown); 200 `already_decided`.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/benefits/high-cost/{month}/decision", request_body(content = Option<HighCostDecisionBody>, description = "optional"), security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, ("month" = String, Path, description = "the service month, YYYY-MM"), doc::IdempotencyKey),
    responses(
        (status = 201, description = "Decided", body = HighCostDecisionAnswer),
        (status = 200, description = "Already decided (nothing recorded), or a retried Idempotency-Key", body = HighCostDecisionAnswer),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 409, description = "`service_month_not_closed` (the month has not ended: the current month and later), `no_medical_records`, `benefit_rules_unavailable`, `income_class_missing`, `member_in_late_stage`, `date_of_birth_unknown`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_month`, `invalid_field` (naming `account.…`), `record_person_not_member`, `amount_out_of_range`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn decide_high_cost(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<HighCostPath>,
    crate::json::ApiOptionalJson(body): crate::json::ApiOptionalJson<HighCostDecisionBody>,
) -> Result<(StatusCode, ApiJson<HighCostDecisionAnswer>), ApiError> {
    staff.require_role(&state, BENEFIT_ROLES).await?;
    let id = path.id()?;
    let meta = staff.command_meta(Purpose::Benefits, &key)?;
    let tenant = staff.principal.tenant;
    let account = body.unwrap_or_default().account.map(BankAccount::from);
    let payment_id = staff.id_from_key("high-cost payment", &key);
    let command = HighCostCommand::Decide { account, payment_id };
    let executed = state.ledger.execute::<HighCostMonth>(tenant, id, command, meta).await?;
    let view = state.ledger.replay::<HighCostMonth>(tenant, id, None, Decrypt::Yes).await?;
    let month = answers::month_view(&view, state.ledger.now());
    if month.decision.is_none() {
        return Err(ApiError::Internal("a high-cost decision answered without a decision in its stream".into()));
    }
    answers::record_month_access(&state, &staff, Purpose::Benefits, &month).await?;
    let unchanged = executed.is_unchanged();
    let status = if unchanged { StatusCode::OK } else { super::created_or_retried(&executed) };
    // What this command (or the first attempt of its key) recorded: a decision, or the payment
    // instruction of a month decided before.
    let (from, to) = (executed.outcome.first_position, executed.outcome.last_position);
    let decided_now = view.events.iter().any(|(recorded, event)| {
        (from..=to).contains(&recorded.position) && matches!(event, LedgerEvent::HighCostDecided(_))
    });
    let outcome = match (unchanged, decided_now) {
        (true, _) => "already_decided",
        (false, true) => "decided",
        (false, false) => "payment_instructed",
    };
    Ok((
        status,
        ApiJson(HighCostDecisionAnswer { outcome: outcome.to_owned(), duplicate: executed.outcome.duplicate, month }),
    ))
}

/// `/v1/{tenant}/persons/{person_id}/benefits…`
#[derive(Deserialize)]
pub struct PersonBenefitsPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    person_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicFundsAccountBody {
    account: AccountBody,
    /// The person consents to NHI benefits being paid into it.
    consented: bool,
    /// The day it was registered (default today, JST).
    registered_on: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicFundsAccountRecorded {
    person_id: Uuid,
    /// False when the same account and consent were registered already: nothing recorded.
    recorded: bool,
    consented: bool,
    account: MaskedAccount,
}

/// Register (or replace) a person's public-funds receiving account (公金受取口座) and their
/// consent to NHI benefits being paid into it (benefits clerks, supervisors). The number is
/// sealed with the person's key and answered masked.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/benefits/public-funds-account", request_body = PublicFundsAccountBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Registered", body = PublicFundsAccountRecorded),
        (status = 200, description = "The same account was registered already, or a retried Idempotency-Key", body = PublicFundsAccountRecorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 422, description = "`invalid_field` (naming `account.…`), `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn register_account(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonBenefitsPath>,
    ApiJson(body): ApiJson<PublicFundsAccountBody>,
) -> Result<(StatusCode, ApiJson<PublicFundsAccountRecorded>), ApiError> {
    staff.require_role(&state, BENEFIT_ROLES).await?;
    let meta = staff.command_meta(Purpose::Benefits, &key)?;
    let tenant = staff.principal.tenant;
    let account = BankAccount::from(body.account);
    let masked = MaskedAccount::from(&account);
    // The default day is taken inside the decision, after the key is bound to the request.
    let command =
        ClaimCommand::RegisterAccount { account, consented: body.consented, registered_on: body.registered_on };
    let executed =
        state.ledger.execute::<BenefitClaims>(tenant, PersonId::from_uuid(path.person_id), command, meta).await?;
    let recorded = !executed.is_unchanged();
    let status = if recorded { super::created_or_retried(&executed) } else { StatusCode::OK };
    Ok((
        status,
        ApiJson(PublicFundsAccountRecorded {
            person_id: path.person_id,
            recorded,
            consented: body.consented,
            account: masked,
        }),
    ))
}

/// Who is paid, and the account on the claim.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildbirthClaimBody {
    born_on: NaiveDate,
    /// Completed weeks of pregnancy (在胎週数).
    weeks: u32,
    /// Children born (default 1).
    children: Option<u32>,
    /// Born at an institution in the obstetric compensation scheme (産科医療補償制度).
    in_scheme: bool,
    /// `direct` (直接支払制度) or `to_household` (償還払い).
    #[schema(value_type = String, example = "direct")]
    payment: Payment,
    /// The institution's charge (出産費用), yen.
    cost_yen: i64,
    /// The former employee plan pays the lump sum.
    #[serde(default)]
    former_plan_pays: bool,
    /// The day the claim is made (default today, JST).
    claimed_on: Option<NaiveDate>,
    /// The person paid (the head of household); default the person the claim is for.
    claimant_person_id: Option<Uuid>,
    /// Used when the claimant has no 公金受取口座 registered with consent.
    account: Option<AccountBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FuneralClaimRequest {
    funeral_on: NaiveDate,
    /// The day the claim is made (default today, JST).
    claimed_on: Option<NaiveDate>,
    /// The day the deceased stopped being insured by an employee plan as its insured person, if
    /// they were (a death within 3 months of it is that plan's).
    left_employee_plan_on: Option<NaiveDate>,
    /// The former plan pays a burial allowance.
    #[serde(default)]
    former_plan_paid: bool,
    /// The chief mourner (喪主), a registered person, who is paid.
    claimant_person_id: Uuid,
    /// Used when the claimant has no 公金受取口座 registered with consent.
    account: Option<AccountBody>,
}

/// A claim as decided.
#[derive(Serialize, ToSchema)]
pub struct ClaimAnswer {
    claim_id: Uuid,
    person_id: Uuid,
    /// `childbirth` or `funeral`.
    kind: String,
    /// `paid` or `refused` (不支給決定, recorded: the claim counts as decided).
    outcome: String,
    /// The refusal's code: `claim_lapsed`, `former_plan_pays`, `pregnancy_too_short`.
    code: Option<String>,
    reason: Option<String>,
    amount_yen: i64,
    to_institution_yen: i64,
    to_claimant_yen: i64,
    payment: Option<PaymentView>,
    duplicate: bool,
}

async fn execute_claim(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    person_id: Uuid,
    claim_id: Uuid,
    command: ClaimCommand,
) -> Result<(StatusCode, ApiJson<ClaimAnswer>), ApiError> {
    let meta = staff.command_meta(Purpose::Benefits, key)?;
    let tenant = staff.principal.tenant;
    let executed = state.ledger.execute::<BenefitClaims>(tenant, PersonId::from_uuid(person_id), command, meta).await?;
    let view = state.ledger.replay::<BenefitClaims>(tenant, PersonId::from_uuid(person_id), None, Decrypt::No).await?;
    let mut answer = ClaimAnswer {
        claim_id,
        person_id,
        kind: String::new(),
        outcome: String::new(),
        code: None,
        reason: None,
        amount_yen: 0,
        to_institution_yen: 0,
        to_claimant_yen: 0,
        payment: None,
        duplicate: executed.outcome.duplicate,
    };
    for (_, event) in &view.events {
        match event {
            LedgerEvent::BenefitClaimDecided(e) if e.claim_id == claim_id => {
                answer.kind = e.kind.clone();
                answer.outcome = "paid".into();
                answer.amount_yen = e.amount_yen;
                answer.to_institution_yen = e.to_institution_yen;
                answer.to_claimant_yen = e.to_claimant_yen;
            }
            LedgerEvent::BenefitClaimRefused(e) if e.claim_id == claim_id => {
                answer.kind = e.kind.clone();
                answer.outcome = "refused".into();
                answer.code = Some(e.code.clone());
                answer.reason = Some(e.reason.clone());
            }
            LedgerEvent::BenefitPaymentInstructed(e) if e.payment_id == claim_id => {
                // Read without decrypting: the account is shown by the person's read, masked.
                answer.payment = payment_view(event);
            }
            _ => {}
        }
    }
    if answer.outcome.is_empty() {
        return Err(ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "idempotency_key_reused",
            detail: "this Idempotency-Key was already used for a command on another record".into(),
        });
    }
    let persons: BTreeSet<Uuid> =
        std::iter::once(person_id).chain(answer.payment.as_ref().map(|p| p.payee_person_id)).collect();
    super::reports::record_accesses(state, staff, Purpose::Benefits, persons.into_iter().collect(), "benefit_claim")
        .await?;
    let status = if executed.is_unchanged() { StatusCode::OK } else { super::created_or_retried(&executed) };
    Ok((status, ApiJson(answer)))
}

/// File and decide a childbirth lump-sum claim (出産育児一時金; benefits clerks, supervisors) for
/// the person who gave birth: the amount by birth date and the obstetric compensation scheme,
/// paid to the institution up to its charge (直接支払制度) with the difference to the claimant, or
/// all of it to the claimant. A lapsed claim, one the former plan pays, or a pregnancy under 12
/// weeks is refused and the refusal recorded (201, `outcome: refused`); a second claim for the
/// same birth is refused with 409 `claim_already_decided`.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/benefits/childbirth-claims", request_body = ChildbirthClaimBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Decided (paid or refused)", body = ClaimAnswer),
        (status = 200, description = "A retried Idempotency-Key", body = ClaimAnswer),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 409, description = "`claim_already_decided`, `not_insured`, `benefit_rules_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_field` (naming the field), `claim_before_event`, `account_required`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn claim_childbirth(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonBenefitsPath>,
    ApiJson(body): ApiJson<ChildbirthClaimBody>,
) -> Result<(StatusCode, ApiJson<ClaimAnswer>), ApiError> {
    staff.require_role(&state, BENEFIT_ROLES).await?;
    let claim_id = staff.id_from_key("childbirth claim", &key);
    // The default day is taken inside the decision, after the key is bound to the request.
    let claim = claims::ChildbirthClaimBody {
        born_on: body.born_on,
        weeks: body.weeks,
        children: body.children.unwrap_or(1),
        in_scheme: body.in_scheme,
        payment: body.payment,
        cost: body.cost_yen,
        former_plan_pays: body.former_plan_pays,
        claimed_on: body.claimed_on,
    };
    let payee = Payee {
        claimant_person_id: body.claimant_person_id.unwrap_or(path.person_id),
        account: body.account.map(BankAccount::from),
    };
    let command = ClaimCommand::Childbirth { claim_id, claim, payee };
    execute_claim(&state, &staff, &key, path.person_id, claim_id, command).await
}

/// File and decide a funeral expense claim (葬祭費; benefits clerks, supervisors) for a deceased
/// insured person whose death is recorded: the city's amount of the fiscal year of the death,
/// paid to the chief mourner. Claimable for two years from the day after the funeral; refused
/// (and recorded) when lapsed or when the former employee plan pays; a second claim is refused
/// with 409 `claim_already_decided`.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/benefits/funeral-claims", request_body = FuneralClaimRequest, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Decided (paid or refused)", body = ClaimAnswer),
        (status = 200, description = "A retried Idempotency-Key", body = ClaimAnswer),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 409, description = "`claim_already_decided`, `death_not_recorded`, `not_insured`, `benefit_rules_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_field` (naming the field), `funeral_before_death`, `claim_before_event`, `account_required`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn claim_funeral(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonBenefitsPath>,
    ApiJson(body): ApiJson<FuneralClaimRequest>,
) -> Result<(StatusCode, ApiJson<ClaimAnswer>), ApiError> {
    staff.require_role(&state, BENEFIT_ROLES).await?;
    let claim_id = staff.id_from_key("funeral claim", &key);
    // The default day is taken inside the decision, after the key is bound to the request.
    let claim = FuneralClaimBody {
        funeral_on: body.funeral_on,
        claimed_on: body.claimed_on,
        left_employee_plan_on: body.left_employee_plan_on,
        former_plan_paid: body.former_plan_paid,
    };
    let payee = Payee { claimant_person_id: body.claimant_person_id, account: body.account.map(BankAccount::from) };
    let command = ClaimCommand::Funeral { claim_id, claim, payee };
    execute_claim(&state, &staff, &key, path.person_id, claim_id, command).await
}
