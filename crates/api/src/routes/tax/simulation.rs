//! The counter's simulation (窓口試算): what a household would pay under the rules of a fiscal
//! year, for members and incomes given in the request. Nothing is read from the ledger and
//! nothing is recorded: the members are nobody in particular (their ids are made up per index).

use std::collections::BTreeSet;

use axum::extract::State;
use chrono::NaiveDate;
use kokuho_auth::Role;
use kokuho_domain::tax::assessment::check_fiscal_year;
use kokuho_domain::tax::calc::{ChildbirthInput, IncomeInput, UnemploymentInput};
use kokuho_domain::tax::{Assessment, HouseholdInput, MemberInput, Months};
use kokuho_domain::Yen;
use kokuho_ledger::jst_date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Staff;
use crate::error::Problem;
use crate::routes::doc;
use crate::{ApiError, ApiJson, AppState};

/// Members a simulated household may have.
const MEMBERS_MAX: usize = 20;
/// Births a simulated member may have.
const CHILDBIRTHS_MAX: usize = 10;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedIncome {
    /// 総所得金額等 of the year before the fiscal year, yen.
    total_income_yen: i64,
    /// 給与収入 (revenue), yen; default 0.
    #[serde(default)]
    salary_income_yen: i64,
    /// 公的年金等収入 (revenue), yen; default 0.
    #[serde(default)]
    pension_income_yen: i64,
    /// Whether it was declared (申告); undeclared income bars the statutory reduction.
    declared: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedUnemployment {
    /// 離職日.
    separated_on: NaiveDate,
    /// 離職理由コード, 2 digits.
    reason_code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedChildbirth {
    /// The day of birth or the due date.
    born_on: NaiveDate,
    /// Twins or more.
    #[serde(default)]
    multiple: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedMember {
    date_of_birth: NaiveDate,
    /// The head of household (世帯主) and taxpayer: exactly one member is.
    #[serde(default)]
    head: bool,
    /// The calendar months (1–12) of the fiscal year in which the member is insured in this
    /// household; default every month (or, with `late_stage_since`, the months before it).
    insured_months: Option<Vec<u32>>,
    /// The income of the year before the fiscal year; `null` when none was reported (which bars
    /// the statutory reduction).
    income: Option<SimulatedIncome>,
    /// The day the member left this household's NHI for 後期高齢者医療 (特定同一世帯所属者): counted in
    /// the reduction test, and the transition household's per-household reduction, in the months
    /// from then in which they are not insured.
    late_stage_since: Option<NaiveDate>,
    unemployment: Option<SimulatedUnemployment>,
    #[serde(default)]
    childbirths: Vec<SimulatedChildbirth>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationBody {
    fiscal_year: i32,
    /// 1 to 20 members.
    members: Vec<SimulatedMember>,
}

#[derive(Serialize, ToSchema)]
pub struct SimulationAnswer {
    fiscal_year: i32,
    /// The id each member is given in `assessment`, in the order of the request.
    member_ids: Vec<Uuid>,
    total_yen: i64,
    /// The city's rule file applied and its SHA-256, and the statutory file's.
    rules_file: String,
    rules_sha256: String,
    national_sha256: String,
    /// The whole assessment: each part month by month, the members, the reduction test, the
    /// reductions applied and why, the installments.
    #[schema(value_type = Object)]
    assessment: Assessment,
}

/// A simulation the request cannot give: names the field, never its value.
fn invalid(field: String, what: &str) -> ApiError {
    ApiError::BadRequest {
        status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_body",
        detail: format!("`{field}` {what}"),
    }
}

/// The fiscal-month index (0 = April) of a calendar month.
fn fiscal_index(calendar_month: u32) -> usize {
    ((calendar_month + 8) % 12) as usize
}

fn check_date(field: String, date: NaiveDate) -> Result<(), ApiError> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
    let latest = NaiveDate::from_ymd_opt(2199, 12, 31).expect("a date");
    if !(earliest..=latest).contains(&date) {
        return Err(invalid(field, "must be a date from 1900-01-01 to 2199-12-31"));
    }
    Ok(())
}

fn check_amount(field: String, amount: i64) -> Result<(), ApiError> {
    if !(0..=Yen::AMOUNT_MAX.amount()).contains(&amount) {
        return Err(invalid(field, "must be from 0 to 1,000,000,000,000 yen"));
    }
    Ok(())
}

/// The household the request describes, checked field by field.
fn household_input(body: SimulationBody) -> Result<(HouseholdInput, Vec<Uuid>), ApiError> {
    if body.members.is_empty() || body.members.len() > MEMBERS_MAX {
        return Err(invalid("members".into(), &format!("must list 1 to {MEMBERS_MAX} members")));
    }
    if body.members.iter().filter(|member| member.head).count() != 1 {
        return Err(invalid("members".into(), "must have exactly one member with `head: true`"));
    }
    let fiscal_year = body.fiscal_year;
    let ids: Vec<Uuid> = (0..body.members.len()).map(|index| Uuid::from_u128(index as u128 + 1)).collect();
    let mut head = Uuid::nil();
    let mut members = Vec::with_capacity(body.members.len());
    for (index, (member, person_id)) in body.members.into_iter().zip(&ids).enumerate() {
        let field = |name: &str| format!("members[{index}].{name}");
        check_date(field("date_of_birth"), member.date_of_birth)?;
        if let Some(since) = member.late_stage_since {
            check_date(field("late_stage_since"), since)?;
        }
        let insured = match &member.insured_months {
            Some(months) => {
                let mut seen = BTreeSet::new();
                let mut insured = Months::default();
                for month in months {
                    if !(1..=12).contains(month) || !seen.insert(*month) {
                        return Err(invalid(
                            field("insured_months"),
                            "must list calendar months from 1 to 12, each at most once",
                        ));
                    }
                    insured.insert(fiscal_index(*month));
                }
                insured
            }
            None => match member.late_stage_since {
                Some(since) => Months::where_last_day(fiscal_year, |end| end < since),
                None => Months::ALL,
            },
        };
        let late_stage = match member.late_stage_since {
            Some(since) => Months(Months::where_last_day(fiscal_year, |end| end >= since).0 & !insured.0),
            None => Months::default(),
        };
        let income = match member.income {
            Some(income) => {
                check_amount(field("income.total_income_yen"), income.total_income_yen)?;
                check_amount(field("income.salary_income_yen"), income.salary_income_yen)?;
                check_amount(field("income.pension_income_yen"), income.pension_income_yen)?;
                Some(IncomeInput {
                    total_income: income.total_income_yen,
                    salary_revenue: income.salary_income_yen,
                    pension_revenue: income.pension_income_yen,
                    declared: income.declared,
                })
            }
            None => None,
        };
        let unemployment = match member.unemployment {
            Some(unemployment) => {
                check_date(field("unemployment.separated_on"), unemployment.separated_on)?;
                let code = unemployment.reason_code.trim();
                if code.len() != 2 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(invalid(
                        field("unemployment.reason_code"),
                        "must be a 離職理由コード of 2 digits (e.g. 11, 21, 31)",
                    ));
                }
                vec![UnemploymentInput { separated_on: unemployment.separated_on, reason_code: code.to_owned() }]
            }
            None => vec![],
        };
        if member.childbirths.len() > CHILDBIRTHS_MAX {
            return Err(invalid(field("childbirths"), &format!("must list at most {CHILDBIRTHS_MAX} births")));
        }
        let mut childbirths = Vec::with_capacity(member.childbirths.len());
        for (birth_index, birth) in member.childbirths.into_iter().enumerate() {
            check_date(field(&format!("childbirths[{birth_index}].born_on")), birth.born_on)?;
            childbirths.push(ChildbirthInput { born_on: birth.born_on, multiple: birth.multiple });
        }
        if member.head {
            head = *person_id;
        }
        members.push(MemberInput {
            person_id: *person_id,
            date_of_birth: member.date_of_birth,
            insured,
            late_stage,
            late_stage_since: member.late_stage_since.filter(|_| late_stage.count() > 0),
            income,
            fixed_asset_tax: 0,
            unemployment,
            childbirths,
        });
    }
    Ok((HouseholdInput { fiscal_year, head, members }, ids))
}

/// What a household would pay under the rules of a fiscal year (窓口試算; tax clerks), for the
/// members and incomes given: the whole assessment with the rule file it applied. Nothing is
/// read from the ledger and nothing is recorded.
#[utoipa::path(post, path = "/v1/{tenant}/tax/simulation", request_body = SimulationBody, security(("session" = [])),
    params(doc::Tenant),
    responses(
        (status = 200, description = "The assessment the household would get", body = SimulationAnswer),
        doc::RoleNotPermitted,
        (status = 409, description = "`nobody_insured`, `tax_rules_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`fiscal_year_out_of_range`, `invalid_body` (naming the field)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn simulate(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(body): ApiJson<SimulationBody>,
) -> Result<ApiJson<SimulationAnswer>, ApiError> {
    staff.require_role(&state, &[Role::TaxClerk]).await?;
    // The year first (the ledger checks it again): the months of the year are built from it.
    check_fiscal_year(body.fiscal_year, jst_date(state.ledger.now()))
        .map_err(|rejection| ApiError::refused(&rejection))?;
    let (input, member_ids) = household_input(body)?;
    let (assessment, rules) =
        state.ledger.simulate_tax(staff.principal.tenant, &input).map_err(|rejection| ApiError::refused(&rejection))?;
    Ok(ApiJson(SimulationAnswer {
        fiscal_year: input.fiscal_year,
        member_ids,
        total_yen: assessment.total,
        rules_file: rules.file,
        rules_sha256: rules.sha256,
        national_sha256: rules.national_sha256,
        assessment,
    }))
}
