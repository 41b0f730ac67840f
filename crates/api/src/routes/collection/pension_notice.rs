//! `POST …/accounts/{fiscal_year}/pension-notice`: the collection section records the pension
//! payer's notice (年金特別徴収対象者通知) of the household's head before the year's assessment;
//! the collection policy's schedule then withholds the tax from the pension when the household
//! meets the rule file's conditions (or records the conditions it failed).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use kokuho_auth::Purpose;
use kokuho_domain::collection::household_account::AccountCommand;
use kokuho_domain::collection::pension_notice::NoticeEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{doc, execute_recorded, record_household_access, AccountPath, RecordedEntry};
use crate::auth::{IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::ApiPath;
use crate::{ApiError, ApiJson, AppState};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PensionNoticeBody {
    /// The day the notice was received; default today (JST); not after today.
    notified_on: Option<NaiveDate>,
    /// The provisional withholding (仮徴収額) of each of April, June and August, whole yen, 0 or
    /// more (0 when nothing is withheld before October).
    provisional_each_yen: i64,
    /// The head's annual pension the tax may be withheld from (the notice's 年金額), whole yen.
    head_annual_pension_yen: i64,
    /// The head's care premium (介護保険料) of the year, whole yen.
    care_premium_yen: i64,
    /// The care premium is itself withheld from that pension.
    care_premium_withheld: bool,
}

/// What was recorded. The pension figures are sealed with the head's key and not shown.
#[derive(Serialize, ToSchema)]
pub struct PensionNoticeAnswer {
    household_id: Uuid,
    fiscal_year: i32,
    /// True when this was a retry of an Idempotency-Key already answered: nothing new recorded.
    duplicate: bool,
    recorded: Vec<RecordedEntry>,
}

/// Record the pension payer's notice of the household's head on the account of a fiscal year not
/// yet scheduled (collection clerks, supervisors); a later notice replaces it. When the
/// household's tax is assessed, the installments are withheld from the pension (特別徴収: the
/// provisional amount in April, June and August, the rest in October, December and February) if
/// the household meets the rule file's conditions (地方税法 §706 ②: the head insured, every
/// insured member 65 to 74, a pension of at least 180,000, the tax and the care premium at most
/// half of it, the care premium withheld); otherwise they are ordinary and the account lists the
/// conditions failed. An account already scheduled is refused: withholding then starts from a
/// later year's notice.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/accounts/{fiscal_year}/pension-notice", request_body = PensionNoticeBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = PensionNoticeAnswer),
        (status = 200, description = "A retried Idempotency-Key: the first result", body = PensionNoticeAnswer),
        doc::RoleNotPermitted,
        (status = 404, description = "`household_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_already_scheduled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_field` (`notified_on`), `amount_out_of_range`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn record_pension_notice(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<AccountPath>,
    ApiJson(body): ApiJson<PensionNoticeBody>,
) -> Result<(StatusCode, ApiJson<PensionNoticeAnswer>), ApiError> {
    let id = path.id();
    let command = AccountCommand::RecordPensionNotice(NoticeEntry {
        notified_on: body.notified_on,
        provisional_each: body.provisional_each_yen,
        head_annual_pension: body.head_annual_pension_yen,
        care_premium: body.care_premium_yen,
        care_premium_withheld: body.care_premium_withheld,
    });
    let (executed, _, recorded) = execute_recorded(&state, &staff, &key, id, command).await?;
    record_household_access(&state, &staff, Purpose::Collection, &[id.household_id], None).await?;
    Ok((
        super::super::created_or_retried(&executed),
        ApiJson(PensionNoticeAnswer {
            household_id: id.household_id,
            fiscal_year: id.fiscal_year,
            duplicate: executed.outcome.duplicate,
            recorded,
        }),
    ))
}
