//! Collection (収納): the household's account per fiscal year — the installments scheduled from
//! the assessment (by the collection policy), the payments a collection clerk records, the
//! overpayment settled (充当, then 還付), reminders (督促) — the arrears list of a day, and the
//! 限度額適用認定証 a benefits clerk issues, refused while the household is in arrears.
//!
//! Every answer that shows a household's figures records an access for each member of the
//! household before it is sent (architecture invariant 8).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::collection::household_account::{channel_recorded, AccountCommand, AccountId, HouseholdAccount};
use kokuho_domain::collection::limit_certificate::{IssueLimitCertificate, LimitCertificate};
use kokuho_domain::collection::{Account, Channel, CollectionRejection, CreditSource, ReceiptId, SettlementKind};
use kokuho_domain::household::Household;
use kokuho_domain::PersonId;
use kokuho_domain::Refusal;
use kokuho_events::LedgerEvent;
use kokuho_ledger::{jst_date, Executed, View};
use kokuho_projections::models::CollectionAccounts;
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;

pub(crate) mod pension_notice;
use crate::auth::{parse_purpose, IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::{ApiPath, ApiQuery};
use crate::{ApiError, ApiJson, AppState};
use pension_notice::record_pension_notice;

/// Who records payments, reminders and settlements: the collection section (収納係) and its
/// supervisors.
const COLLECTION_ROLES: &[Role] = &[Role::CollectionClerk, Role::Supervisor];
/// Who issues a 限度額適用認定証: the benefits section (給付係) and its supervisors.
const CERTIFICATE_ROLES: &[Role] = &[Role::BenefitsClerk, Role::Supervisor];
/// The affairs an account may be read for.
const ACCOUNT_READ_PURPOSES: &[Purpose] = &[Purpose::Collection, Purpose::Audit];

/// Rows of the arrears list answered when `limit` is not given, and at most.
const ARREARS_LIMIT_DEFAULT: i64 = 100;
const ARREARS_LIMIT_MAX: i64 = 500;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}", get(account))
        .route("/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/payments", post(record_payment))
        .route("/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/reminders", post(issue_reminder))
        .route("/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/settlement", post(settle))
        .route(
            "/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/pension-notice",
            post(record_pension_notice),
        )
        .route("/v1/{tenant}/collection/arrears", get(arrears))
        .route("/v1/{tenant}/persons/{person_id}/limit-certificate", post(issue_limit_certificate))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

fn invalid(code: &'static str, detail: &str) -> ApiError {
    ApiError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, code, detail: detail.to_owned() }
}

/// `/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}…`
#[derive(Deserialize)]
pub struct AccountPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    household_id: Uuid,
    fiscal_year: i32,
}

impl AccountPath {
    fn id(&self) -> AccountId {
        AccountId { household_id: self.household_id, fiscal_year: self.fiscal_year }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InstallmentView {
    number: u32,
    /// `ordinary` (普通徴収) or `special` (特別徴収, withheld from the pension).
    method: String,
    due_on: NaiveDate,
    amount_yen: i64,
    /// Paid by the payments (and other years' overpayments applied) received on or before `on`.
    paid_yen: i64,
    unpaid_yen: i64,
    /// Past due on `on` and not paid in full (滞納).
    in_arrears: bool,
    /// The late fee (延滞金) through `on`, or through the day paid in full, from the rule file's
    /// yearly rates; 0 when none is charged; `null` when it cannot be computed (see
    /// `late_fee_unavailable`).
    late_fee_yen: Option<i64>,
    /// Why `late_fee_yen` is `null`: `late_fee_rates_unavailable` (the rule file has no rates for
    /// a year the arrear runs into), `collection_rules_unavailable`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    late_fee_unavailable: Option<&'static str>,
    /// The reminder (督促状) issued for it, if any.
    reminder_issued_on: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct PensionNoticeView {
    head_person_id: Uuid,
    notified_on: NaiveDate,
    /// The provisional withholding (仮徴収額) of each of April, June and August.
    provisional_each_yen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CreditView {
    /// `payment`, or `offset` (another year's overpayment applied here).
    source: String,
    receipt_id: Option<String>,
    /// `bank`, `convenience_store`, `counter`, `account_transfer`, `pension_withholding`.
    channel: Option<String>,
    from_fiscal_year: Option<i32>,
    on: NaiveDate,
    amount_yen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SettlementView {
    decided_on: NaiveDate,
    amount_yen: i64,
    /// `applied` (充当) or `refunded` (還付).
    kind: String,
    to_fiscal_year: Option<i32>,
    to_installment: Option<u32>,
    /// `applied_to_arrears` or `refunded_no_arrears_left`.
    reason: String,
}

/// A household's account of a fiscal year.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    household_id: Uuid,
    fiscal_year: i32,
    /// The instant the answer is as recorded at.
    as_of: DateTime<Utc>,
    /// The day arrears and late fees are counted on.
    on: NaiveDate,
    /// The annual tax in force (年税額).
    assessed_total_yen: i64,
    /// The pension payer's notice recorded before the schedule, if any (its pension figures are
    /// sealed with the head's key and not shown).
    pension_notice: Option<PensionNoticeView>,
    /// The conditions of pension withholding the household failed when it was scheduled
    /// (`head_not_insured`, `member_age`, `pension_below_minimum`, `above_share_of_pension`,
    /// `care_premium_not_withheld`, `main_withholding_already_due`, `pension_notice_unavailable`,
    /// `head_changed`, `no_insured_member`, `household_not_found`); empty when withheld or no
    /// notice was recorded.
    special_conditions_failed: Vec<String>,
    installments: Vec<InstallmentView>,
    /// Σ received: payments and other years' overpayments applied here.
    received_yen: i64,
    /// Σ paid on the installments by `on`.
    paid_yen: i64,
    /// assessed − paid (by `on`).
    balance_yen: i64,
    /// Σ unpaid of the installments in arrears on `on`.
    arrears_yen: i64,
    /// Σ late fees through `on`; `null` when the late fee of an installment cannot be computed
    /// (its `late_fee_unavailable` says why).
    late_fees_yen: Option<i64>,
    /// Received and not needed by any installment, not yet applied or refunded.
    overpayment_yen: i64,
    /// Σ applied to other years (充当) and Σ refunded (還付).
    applied_yen: i64,
    refunded_yen: i64,
    credits: Vec<CreditView>,
    settlements: Vec<SettlementView>,
    /// The collection rule file of the schedule in force and its SHA-256.
    rules_file: Option<String>,
    rules_sha256: Option<String>,
    /// The account stream's version this answer reflects.
    version: i64,
}

fn method_name(method: kokuho_domain::collection::Method) -> String {
    match method {
        kokuho_domain::collection::Method::Ordinary => "ordinary".to_owned(),
        kokuho_domain::collection::Method::Special => "special".to_owned(),
    }
}

fn channel_name(channel: Channel) -> String {
    serde_json::to_value(channel_recorded(channel))
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The account's figures on `on`, as its stream was recorded at `as_of`.
fn account_view(
    state: &AppState,
    tenant: kokuho_domain::TenantCode,
    view: &View<HouseholdAccount>,
    as_of: DateTime<Utc>,
    on: NaiveDate,
) -> Result<AccountView, ApiError> {
    let id = view.id;
    let Some(account) = &view.state.account else {
        return Err(ApiError::BadRequest {
            status: StatusCode::NOT_FOUND,
            code: "account_not_found",
            detail: "the household has no account for this fiscal year (as recorded at as_of): its tax is not assessed"
                .into(),
        });
    };
    // The figures are shown even when the late fees cannot be computed (a committed command is
    // never answered with an error): those fees are null with the reason.
    let rules = state.ledger.collection_rules(tenant, id.fiscal_year);
    let (installments, late_fees) = installment_views(account, on, rules.as_ref().map(|rules| &*rules.rules))?;
    let arrears: Vec<_> = account.arrears(on);
    let (rules_file, rules_sha256) = view
        .events
        .iter()
        .rev()
        .find_map(|(_, event)| match event {
            LedgerEvent::AccountScheduled(e) => Some((e.rules.rules_file.clone(), e.rules.rules_sha256.clone())),
            LedgerEvent::AccountRespread(e) => Some((e.rules.rules_file.clone(), e.rules.rules_sha256.clone())),
            _ => None,
        })
        .unzip();
    let special_conditions_failed = view
        .events
        .iter()
        .find_map(|(_, event)| match event {
            LedgerEvent::AccountScheduled(e) => Some(e.special_conditions_failed.clone()),
            _ => None,
        })
        .unwrap_or_default();
    // As the installments show it: paid by `on`.
    let paid: i64 = installments.iter().map(|installment| installment.paid_yen).sum();
    Ok(AccountView {
        household_id: id.household_id,
        fiscal_year: id.fiscal_year,
        as_of,
        on,
        assessed_total_yen: view.state.assessed_total,
        pension_notice: view.state.pension_notice.as_ref().map(|notice| PensionNoticeView {
            head_person_id: notice.head_person_id,
            notified_on: notice.notified_on,
            provisional_each_yen: notice.provisional_each,
        }),
        special_conditions_failed,
        installments,
        received_yen: account.received_total(),
        paid_yen: paid,
        balance_yen: account.total() - paid,
        arrears_yen: arrears.iter().map(|arrear| arrear.unpaid).sum(),
        late_fees_yen: late_fees,
        overpayment_yen: account.overpayment(),
        applied_yen: account
            .settlements()
            .filter(|s| matches!(s.kind, SettlementKind::Applied { .. }))
            .map(|s| s.amount)
            .sum(),
        refunded_yen: account.settlements().filter(|s| s.kind == SettlementKind::Refunded).map(|s| s.amount).sum(),
        credits: account
            .credits()
            .map(|credit| match &credit.source {
                CreditSource::Payment { receipt_id, channel } => CreditView {
                    source: "payment".into(),
                    receipt_id: Some(receipt_id.as_str().to_owned()),
                    channel: Some(channel_name(*channel)),
                    from_fiscal_year: None,
                    on: credit.on,
                    amount_yen: credit.amount,
                },
                CreditSource::Offset { from_fiscal_year } => CreditView {
                    source: "offset".into(),
                    receipt_id: None,
                    channel: None,
                    from_fiscal_year: Some(from_fiscal_year.year()),
                    on: credit.on,
                    amount_yen: credit.amount,
                },
            })
            .collect(),
        settlements: account
            .settlements()
            .map(|s| {
                let (kind, to_fiscal_year, to_installment) = match s.kind {
                    SettlementKind::Applied { to_fiscal_year, installment } => {
                        ("applied", Some(to_fiscal_year.year()), Some(installment))
                    }
                    SettlementKind::Refunded => ("refunded", None, None),
                };
                SettlementView {
                    decided_on: s.on,
                    amount_yen: s.amount,
                    kind: kind.into(),
                    to_fiscal_year,
                    to_installment,
                    reason: s.reason.code().into(),
                }
            })
            .collect(),
        rules_file,
        rules_sha256,
        version: view.version,
    })
}

/// The late fee of installment `number` through `on`, or why it cannot be computed.
fn late_fee_or_reason(
    account: &Account,
    number: u32,
    on: NaiveDate,
    rules: Result<&kokuho_domain::collection::CollectionRules, &CollectionRejection>,
) -> Result<i64, &'static str> {
    let rules = rules.map_err(|rejection| rejection.code())?;
    account.late_fee(number, on, rules).map(|fee| fee.fee).map_err(|rejection| rejection.code())
}

/// Each installment on `on`, and Σ late fees (`None` when one cannot be computed).
fn installment_views(
    account: &Account,
    on: NaiveDate,
    rules: Result<&kokuho_domain::collection::CollectionRules, &CollectionRejection>,
) -> Result<(Vec<InstallmentView>, Option<i64>), ApiError> {
    let arrears = account.arrears(on);
    let mut total_fees = Some(0i64);
    let mut views = Vec::new();
    for installment in account.installments() {
        let paid = account.paid_on(installment.number, on);
        let in_arrears = arrears.iter().any(|arrear| arrear.number == installment.number);
        let fee = if installment.due < on && installment.amount > 0 {
            late_fee_or_reason(account, installment.number, on, rules)
        } else {
            Ok(0)
        };
        total_fees = match (total_fees, &fee) {
            (Some(total), Ok(fee)) => Some(total.checked_add(*fee).ok_or_else(|| internal("late fees overflow"))?),
            _ => None,
        };
        views.push(InstallmentView {
            number: installment.number,
            method: method_name(installment.method),
            due_on: installment.due,
            amount_yen: installment.amount,
            paid_yen: paid,
            unpaid_yen: installment.amount - paid,
            in_arrears,
            late_fee_yen: fee.ok(),
            late_fee_unavailable: fee.err(),
            reminder_issued_on: account
                .reminders()
                .iter()
                .find(|reminder| reminder.number == installment.number)
                .map(|reminder| reminder.issued_on),
        });
    }
    Ok((views, total_fees))
}

/// Records one access per member the household ever had (as recorded at `as_of`), committed
/// before the answer is sent.
async fn record_household_access(
    state: &AppState,
    staff: &Staff,
    purpose: Purpose,
    households: &[Uuid],
    as_of: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let tenant = staff.principal.tenant;
    let mut persons = BTreeSet::new();
    for household in households {
        let view = state.ledger.replay::<Household>(tenant, *household, as_of, Decrypt::No).await?;
        persons.extend(view.state.memberships.iter().map(|membership| membership.person_id));
    }
    super::reports::record_accesses(state, staff, purpose, persons.into_iter().collect(), "collection_account").await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    /// The NHI affair this read is for (`collection`, `audit`); the caller's role must serve it.
    purpose: String,
    /// As recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
    /// The day arrears and late fees are counted on; default today (JST).
    on: Option<NaiveDate>,
}

/// A household's account of a fiscal year (collection clerks, supervisors, auditors): the
/// installments with what was paid on each, arrears and late fees on `on`, what was received,
/// applied and refunded, as recorded at `as_of`. An access is recorded for every member of the
/// household before the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}", security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, AccountQuery),
    responses(
        (status = 200, description = "The account", body = AccountView),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        (status = 404, description = "`account_not_found`: not scheduled (as recorded at `as_of`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`collection_rules_unavailable`, `late_fee_rates_unavailable`, `collection_calendar_not_covered`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn account(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<AccountPath>,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<ApiJson<AccountView>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, ACCOUNT_READ_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    // The account shows the consequences of what was committed before (a schedule after an
    // assessment), as the policies issue them.
    let head = state.store.head(tenant).await.map_err(internal)?;
    state.consequences_of(tenant, head).await;
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let on = query.on.unwrap_or_else(|| jst_date(state.ledger.now()));
    let view = state.ledger.replay::<HouseholdAccount>(tenant, path.id(), Some(as_of), Decrypt::No).await?;
    let answer = account_view(&state, tenant, &view, as_of, on)?;
    record_household_access(&state, &staff, purpose, &[path.household_id], Some(as_of)).await?;
    Ok(ApiJson(answer))
}

/// An event a command recorded, as stored (its clear payload).
#[derive(Serialize, ToSchema)]
pub struct RecordedEntry {
    position: i64,
    event_type: String,
    #[schema(value_type = Object)]
    payload: serde_json::Value,
}

impl RecordedEntry {
    /// The event as stored in clear (a personal part is not shown).
    fn of(position: i64, event: &LedgerEvent) -> RecordedEntry {
        RecordedEntry {
            position,
            event_type: event.event_type().to_owned(),
            payload: serde_json::from_slice(&event.encode().payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The answer to a collection command: what was recorded and the account after it (today).
#[derive(Serialize, ToSchema)]
pub struct AccountCommandAnswer {
    household_id: Uuid,
    fiscal_year: i32,
    /// True when this was a retry of an Idempotency-Key already answered: nothing new recorded.
    duplicate: bool,
    recorded: Vec<RecordedEntry>,
    account: AccountView,
}

/// A collection command executed for a collection clerk: what it recorded (as stored in clear)
/// and the account's stream after it. A retried Idempotency-Key that named another record is
/// refused.
async fn execute_recorded(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    id: AccountId,
    command: AccountCommand,
) -> Result<(Executed, View<HouseholdAccount>, Vec<RecordedEntry>), ApiError> {
    staff.require_role(state, COLLECTION_ROLES).await?;
    let meta = staff.command_meta(Purpose::Collection, key)?;
    let tenant = staff.principal.tenant;
    let executed: Executed = state.ledger.execute_account(tenant, id, command, meta).await?;
    let view = state.ledger.replay::<HouseholdAccount>(tenant, id, None, Decrypt::No).await?;
    let range = executed.outcome.first_position..=executed.outcome.last_position;
    let recorded: Vec<RecordedEntry> = view
        .events
        .iter()
        .filter(|(recorded, _)| range.contains(&recorded.position))
        .map(|(recorded, event)| RecordedEntry::of(recorded.position, event))
        .collect();
    if recorded.is_empty() && executed.outcome.duplicate {
        return Err(invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a command on another record",
        ));
    }
    Ok((executed, view, recorded))
}

async fn execute(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    id: AccountId,
    command: AccountCommand,
) -> Result<(StatusCode, ApiJson<AccountCommandAnswer>), ApiError> {
    let (executed, view, recorded) = execute_recorded(state, staff, key, id, command).await?;
    let now = state.ledger.now();
    let account = account_view(state, staff.principal.tenant, &view, now, jst_date(now))?;
    record_household_access(state, staff, Purpose::Collection, &[id.household_id], None).await?;
    Ok((
        super::created_or_retried(&executed),
        ApiJson(AccountCommandAnswer {
            household_id: id.household_id,
            fiscal_year: id.fiscal_year,
            duplicate: executed.outcome.duplicate,
            recorded,
            account,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// The channel's record number (the bank's or the convenience store's): 1 to 64 ASCII
    /// letters, digits, `-`, `_`, `.` or `/`. A receipt is counted once per account.
    receipt_id: String,
    /// Whole yen, more than 0.
    amount_yen: i64,
    /// The day the money was paid in (領収日), on or before today.
    received_on: NaiveDate,
    /// `bank` (金融機関), `convenience_store` (コンビニ), `counter` (窓口), `account_transfer`
    /// (口座振替), `pension_withholding` (the pension payer's remittance of what it withheld,
    /// 特別徴収).
    channel: String,
}

const CHANNELS: &[(&str, Channel)] = &[
    ("bank", Channel::Bank),
    ("convenience_store", Channel::ConvenienceStore),
    ("counter", Channel::Counter),
    ("account_transfer", Channel::AccountTransfer),
    ("pension_withholding", Channel::PensionWithholding),
];

/// Record a payment received for a household's account (collection clerks, supervisors): it is
/// allocated to the oldest installment due first; what no installment needs is the account's
/// overpayment. A receipt already received on the account is refused.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/payments", request_body = PaymentBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = AccountCommandAnswer),
        (status = 200, description = "A retried Idempotency-Key: the first result", body = AccountCommandAnswer),
        doc::RoleNotPermitted,
        (status = 409, description = "`duplicate_receipt`, `account_not_scheduled`, `collection_rules_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_field` (`receipt_id`, `received_on`), `invalid_channel`, `amount_out_of_range`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn record_payment(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<AccountPath>,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<(StatusCode, ApiJson<AccountCommandAnswer>), ApiError> {
    staff.require_role(&state, COLLECTION_ROLES).await?;
    let receipt_id = ReceiptId::parse(&body.receipt_id).map_err(|rejection| ApiError::refused(&rejection))?;
    let Some((_, channel)) = CHANNELS.iter().find(|(name, _)| *name == body.channel) else {
        return Err(invalid(
            "invalid_channel",
            "`channel` must be one of: bank, convenience_store, counter, account_transfer, pension_withholding",
        ));
    };
    let command = AccountCommand::Receive {
        receipt_id,
        amount: body.amount_yen,
        received_on: body.received_on,
        channel: *channel,
    };
    execute(&state, &staff, &key, path.id(), command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderBody {
    /// The installment (期) past due.
    installment: u32,
    /// The day of the reminder; default today (JST).
    issued_on: Option<NaiveDate>,
}

/// Issue a reminder (督促状) for an installment past due and unpaid (collection clerks,
/// supervisors); one per installment. A reminder after the deadline (due + the rule file's
/// days) is recorded as not in time.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/reminders", request_body = ReminderBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Issued", body = AccountCommandAnswer),
        (status = 200, description = "A retried Idempotency-Key: the first result", body = AccountCommandAnswer),
        doc::RoleNotPermitted,
        (status = 404, description = "`installment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`installment_not_past_due`, `installment_paid`, `reminder_already_issued`, `account_not_scheduled`, `collection_rules_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_field` (`issued_on`), `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn issue_reminder(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<AccountPath>,
    ApiJson(body): ApiJson<ReminderBody>,
) -> Result<(StatusCode, ApiJson<AccountCommandAnswer>), ApiError> {
    let command = AccountCommand::IssueReminder { installment: body.installment, on: body.issued_on };
    execute(&state, &staff, &key, path.id(), command).await
}

/// Settle the account's overpayment today (collection clerks, supervisors): first applied to the
/// household's arrears of other fiscal years, the oldest due first (充当, 地方税法 §17の2 ①), the
/// rest refunded (還付, §17); each a decision recorded with its reason. The applied amounts are
/// credited to the other years' accounts by the collection policy.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/settlement", security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Settled", body = AccountCommandAnswer),
        (status = 200, description = "A retried Idempotency-Key: the first result", body = AccountCommandAnswer),
        doc::RoleNotPermitted,
        (status = 409, description = "`no_overpayment`, `account_not_scheduled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn settle(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<AccountPath>,
) -> Result<(StatusCode, ApiJson<AccountCommandAnswer>), ApiError> {
    let answer = execute(&state, &staff, &key, path.id(), AccountCommand::SettleOverpayment).await?;
    // The other years' accounts show the amounts applied once the policy has credited them.
    if let Some(last) = answer.1 .0.recorded.last() {
        state.consequences_of(staff.principal.tenant, last.position).await;
    }
    Ok(answer)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArrearsQuery {
    /// The NHI affair this list is for (`collection`, `audit`).
    purpose: String,
    /// The day: installments due before it and not paid by it; default today (JST).
    on: Option<NaiveDate>,
    /// Only accounts after this one, `<fiscal year>/<household id>` (the `next` of the page before).
    after: Option<String>,
    /// Accounts in arrears per page, 1 to 500 (default 100).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ArrearRow {
    household_id: Uuid,
    fiscal_year: i32,
    installment: u32,
    due_on: NaiveDate,
    amount_yen: i64,
    paid_yen: i64,
    unpaid_yen: i64,
    /// The late fee through `on`; `null` when it cannot be computed (`late_fee_unavailable`
    /// says why).
    late_fee_yen: Option<i64>,
    /// `late_fee_rates_unavailable` or `collection_rules_unavailable` when `late_fee_yen` is
    /// `null`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    late_fee_unavailable: Option<&'static str>,
    reminder_issued_on: Option<NaiveDate>,
    /// The last day the reminder is in time (due + the rule file's days); `null` when the
    /// collection rules cannot be loaded.
    reminder_deadline: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct ArrearsPage {
    on: NaiveDate,
    rows: Vec<ArrearRow>,
    /// Pass as `after` for the next page; `null` when this was the last.
    next: Option<String>,
}

/// The arrears (滞納) of the tenant on a day (collection clerks, supervisors, auditors): every
/// ordinary installment due before `on` and not paid by it, with its late fee and reminder, by
/// fiscal year and household, a page of accounts in arrears at a time. An access is recorded for
/// every member of each household listed.
#[utoipa::path(get, path = "/v1/{tenant}/collection/arrears", security(("session" = [])),
    params(doc::Tenant, ArrearsQuery),
    responses(
        (status = 200, description = "The arrears", body = ArrearsPage),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        (status = 409, description = "`collection_rules_unavailable`, `late_fee_rates_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_after`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn arrears(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<ArrearsQuery>,
) -> Result<ApiJson<ArrearsPage>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, ACCOUNT_READ_PURPOSES).await?;
    let limit = query.limit.unwrap_or(ARREARS_LIMIT_DEFAULT);
    if !(1..=ARREARS_LIMIT_MAX).contains(&limit) {
        return Err(invalid("invalid_limit", "`limit` must be from 1 to 500"));
    }
    let after = match &query.after {
        None => None,
        Some(text) => {
            let parsed = text
                .split_once('/')
                .and_then(|(year, household)| Some((year.parse::<i32>().ok()?, Uuid::parse_str(household).ok()?)));
            Some(parsed.ok_or_else(|| invalid("invalid_after", "`after` must be <fiscal year>/<household id>"))?)
        }
    };
    let tenant = staff.principal.tenant;
    let head = state.store.head(tenant).await.map_err(internal)?;
    state.consequences_of(tenant, head).await;
    state.projections_current(tenant).await?;
    let on = query.on.unwrap_or_else(|| jst_date(state.ledger.now()));
    // One query finds the accounts in arrears on `on` (the read table's installments and dated
    // credits); only those are replayed, for the installments, late fees and reminders.
    let candidates = CollectionAccounts::in_arrears_on(state.store.db(), &tenant.to_string(), on, after, limit)
        .await
        .map_err(internal)?;
    let next = (candidates.len() as i64 == limit)
        .then(|| candidates.last().map(|row| format!("{}/{}", row.fiscal_year, row.household_id)))
        .flatten();
    let mut rows = Vec::new();
    let mut households = BTreeSet::new();
    for candidate in &candidates {
        let id = AccountId { household_id: candidate.household_id, fiscal_year: candidate.fiscal_year };
        let view = state.ledger.replay::<HouseholdAccount>(tenant, id, None, Decrypt::No).await?;
        let Some(account) = &view.state.account else { continue };
        let rules = state.ledger.collection_rules(tenant, id.fiscal_year);
        let rules = rules.as_ref().map(|rules| &*rules.rules);
        for arrear in account.arrears(on) {
            let fee = late_fee_or_reason(account, arrear.number, on, rules);
            households.insert(id.household_id);
            rows.push(ArrearRow {
                household_id: id.household_id,
                fiscal_year: id.fiscal_year,
                installment: arrear.number,
                due_on: arrear.due,
                amount_yen: arrear.amount,
                paid_yen: arrear.paid,
                unpaid_yen: arrear.unpaid,
                late_fee_yen: fee.ok(),
                late_fee_unavailable: fee.err(),
                reminder_issued_on: account
                    .reminders()
                    .iter()
                    .find(|reminder| reminder.number == arrear.number)
                    .map(|reminder| reminder.issued_on),
                reminder_deadline: rules.ok().map(|rules| rules.reminder_deadline(arrear.due)),
            });
        }
    }
    let households: Vec<Uuid> = households.into_iter().collect();
    record_household_access(&state, &staff, purpose, &households, None).await?;
    Ok(ApiJson(ArrearsPage { on, rows, next }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitCertificateBody {
    /// The person's household today, whose accounts are checked for arrears.
    household_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct LimitCertificateAnswer {
    person_id: Uuid,
    household_id: Uuid,
    issued_on: NaiveDate,
    /// The fiscal years of the household's accounts checked (none in arrears).
    accounts_checked: Vec<i32>,
    position: i64,
    duplicate: bool,
}

/// Issue a 限度額適用認定証 to a person for their household (benefits clerks, supervisors),
/// today. Refused (409 `household_in_arrears`, naming the oldest installment) while any of the
/// household's accounts has an installment past due and unpaid (国民健康保険法施行規則 §27の14の2
/// ①); issued once the arrears are paid. The certificate is recorded without an income class.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/limit-certificate", request_body = LimitCertificateBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Issued", body = LimitCertificateAnswer),
        (status = 200, description = "A retried Idempotency-Key: the first result", body = LimitCertificateAnswer),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 409, description = "`household_in_arrears`, `person_not_in_household`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn issue_limit_certificate(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<LimitCertificateBody>,
) -> Result<(StatusCode, ApiJson<LimitCertificateAnswer>), ApiError> {
    staff.require_role(&state, CERTIFICATE_ROLES).await?;
    let meta = staff.command_meta(Purpose::Benefits, &key)?;
    let tenant = staff.principal.tenant;
    let person = PersonId::from_uuid(path.person_id);
    let command = IssueLimitCertificate { household_id: body.household_id };
    let executed = match state.ledger.execute::<LimitCertificate>(tenant, person, command, meta).await {
        // The refusal names the year and installment in arrears: what the household owes was
        // shown, so it is recorded as an access of each member, as a read of the account is.
        Err(kokuho_ledger::CommandError::Refused(refused @ CollectionRejection::InArrears { .. })) => {
            record_household_access(&state, &staff, Purpose::Benefits, &[body.household_id], None).await?;
            return Err(kokuho_ledger::CommandError::Refused(refused).into());
        }
        answer => answer?,
    };
    let view = state.ledger.replay::<LimitCertificate>(tenant, person, None, Decrypt::No).await?;
    let found = view.events.iter().find_map(|(recorded, event)| match event {
        LedgerEvent::LimitCertificateIssued(e) if recorded.position == executed.outcome.last_position => {
            Some((recorded.position, e.clone()))
        }
        _ => None,
    });
    let Some((position, issued)) = found else {
        return Err(invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a command on another record",
        ));
    };
    record_household_access(&state, &staff, Purpose::Benefits, &[issued.household_id], None).await?;
    Ok((
        super::created_or_retried(&executed),
        ApiJson(LimitCertificateAnswer {
            person_id: issued.person_id,
            household_id: issued.household_id,
            issued_on: issued.issued_on,
            accounts_checked: issued.accounts_checked,
            position,
            duplicate: executed.outcome.duplicate,
        }),
    ))
}

/// `/v1/{tenant}/persons/{person_id}/…`
#[derive(Deserialize)]
pub struct PersonPath {
    #[allow(dead_code)] // matched by the Staff extractor
    tenant: String,
    person_id: Uuid,
}
