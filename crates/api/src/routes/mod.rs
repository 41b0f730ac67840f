//! The endpoints, one module per area, and the OpenAPI document that lists every one of them.

mod audit;
mod benefits;
mod citizen;
mod collection;
mod doc;
mod eligibility;
mod households;
mod my_number;
mod persons;
mod provisions;
mod reports;
mod sessions;
mod staff;
mod system;
mod tax;

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

/// 201 for a command recorded now, 200 for a retry its Idempotency-Key answered with the first
/// result.
pub(crate) fn created_or_retried(executed: &kokuho_ledger::Executed) -> axum::http::StatusCode {
    if executed.outcome.duplicate {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::CREATED
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "kokuho", description = "The ledger of a municipality's National Health Insurance (国民健康保険) records. \
        Every endpoint under /v1/{tenant} is scoped to one municipality (its 6-digit local government code). \
        Errors are RFC 9457 problem+json with a stable `code`."),
    paths(
        system::health, system::openapi_json, system::metrics,
        sessions::sign_in, sessions::sign_out, sessions::start_enrolment, sessions::complete_enrolment,
        staff::create_staff, staff::disable_staff, staff::reissue_enrolment, staff::change_password,
        persons::register, persons::find, persons::read, persons::change_name, persons::change_address,
        eligibility::acquire_eligibility, eligibility::lose_eligibility, eligibility::correct_eligibility, eligibility::withdraw_eligibility,
        eligibility::record_death, eligibility::report_income, eligibility::issue_certificate, eligibility::eligibility, eligibility::timeline,
        households::establish, households::join, households::leave, households::change_head, households::apply_income_exception, households::read,
        reports::cost_shares, reports::moves, reports::late_notifications,
        audit::access_records, audit::checkpoint, audit::inclusion, audit::consistency,
        my_number::request_link, my_number::confirm, my_number::approve, my_number::reject, my_number::trail, my_number::reveal,
        provisions::set_sensitivity, provisions::request_provision, provisions::approve_provision, provisions::make_inquiry,
        provisions::register_citizen_key,
        citizen::challenge, citizen::sign_in, citizen::record, citizen::page,
        tax::assess, tax::reassess, tax::tax_of_year, tax::assessments, tax::simulate,
        tax::record_unemployment, tax::record_childbirth,
        collection::account, collection::record_payment, collection::issue_reminder, collection::settle,
        collection::arrears, collection::issue_limit_certificate, collection::pension_notice::record_pension_notice,
        benefits::import_medical_costs, benefits::decide_high_cost, benefits::high_cost_month, benefits::register_account,
        benefits::reveal_account, benefits::person_benefits, benefits::claim_childbirth, benefits::claim_funeral,
    ),
    components(schemas(
        system::Health, system::StoppedProjection, crate::error::Problem,
        sessions::SignIn, sessions::Session, sessions::EnrolmentStart, sessions::EnrolmentSecret, sessions::EnrolmentCompletion,
        staff::NewStaff, staff::CreatedStaff, staff::Disable, staff::PasswordChange,
        persons::NewPerson, persons::Recorded, persons::Found, persons::PersonRecord,
        eligibility::FormerMunicipalityBody, eligibility::LossNoticeBody, eligibility::AcquisitionBody, eligibility::AcquisitionRecorded,
        eligibility::LossBody, eligibility::LossRecorded, eligibility::CorrectionBody, eligibility::CorrectionRecorded,
        eligibility::WithdrawalBody, eligibility::WithdrawalRecorded, eligibility::DeathBody, eligibility::DeathRecorded,
        eligibility::IncomeBody, eligibility::CertificateBody, eligibility::PeriodStartBody, eligibility::PeriodEndBody,
        eligibility::FormerMunicipalityView, eligibility::PeriodView, eligibility::HouseholdOnDay, eligibility::CostShareView,
        eligibility::CertificateView, eligibility::MoveContinuityView, eligibility::EligibilityView, eligibility::TimelineEntry, eligibility::Timeline,
        households::HouseholdRecorded, households::NewHousehold, households::JoinBody, households::DepartureBody, households::HeadChangeBody,
        households::IncomeExceptionBody, households::MembershipView, households::HeadView, households::HouseholdView,
        persons::PaymentsSummary, persons::NameChangeBody, persons::AddressChangeBody,
        reports::CostShareRow, reports::MoveReportRow, reports::LateNotificationReportRow,
        audit::AccessRecord, audit::CheckpointAnswer, audit::InclusionAnswer, audit::ConsistencyAnswer,
        my_number::MyNumberLinkBody, my_number::MyNumberLinkCreated, my_number::MyNumberConfirmationBody, my_number::MyNumberLinkProgress,
        my_number::MyNumberLinkRejectionBody, my_number::MyNumberLinkStep, my_number::MyNumberLinkRejectionStep, my_number::MyNumberLinkTrail,
        my_number::MyNumberRevealBody, my_number::RevealedMyNumber,
        provisions::SensitivityBody, provisions::SensitivityFlags, provisions::ProvisionBody, provisions::ProvisionRecorded,
        provisions::InquiryBody, provisions::InquiryRecorded, provisions::CitizenKeyBody, provisions::CitizenKeyRegisteredBody,
        citizen::CitizenChallenge, citizen::CitizenSignIn, citizen::CitizenSession, citizen::CitizenRecord, citizen::CitizenRecordEntry,
        tax::TaxPartView, tax::TaxInstallmentView, tax::TaxFiguresView, tax::TaxEntryView, tax::TaxCommandAnswer,
        tax::ReassessmentBody, tax::TaxView, tax::TaxAssessmentRowView,
        tax::SimulatedIncome, tax::SimulatedUnemployment, tax::SimulatedChildbirth, tax::SimulatedMember,
        tax::SimulationBody, tax::SimulationAnswer, tax::UnemploymentBody, tax::ChildbirthBody,
        collection::InstallmentView, collection::CreditView, collection::SettlementView, collection::AccountView,
        collection::RecordedEntry, collection::AccountCommandAnswer, collection::PaymentBody, collection::ReminderBody,
        collection::pension_notice::PensionNoticeBody, collection::pension_notice::PensionNoticeAnswer,
        collection::PensionNoticeView,
        collection::ArrearRow, collection::ArrearsPage, collection::LimitCertificateBody, collection::LimitCertificateAnswer,
        benefits::AccountBody, benefits::MaskedAccount, benefits::PaymentView, benefits::MedicalCostBody, benefits::MedicalCostBatch,
        benefits::HouseholdMonthImported, benefits::MedicalCostsImported, benefits::HighCostDecisionBody, benefits::HighCostDecisionAnswer,
        benefits::PublicFundsAccountBody, benefits::PublicFundsAccountRecorded, benefits::ChildbirthClaimBody, benefits::FuneralClaimRequest,
        benefits::ClaimAnswer, benefits::MedicalCostView, benefits::PersonBenefitView, benefits::HighCostDecisionView, benefits::HighCostMonthView,
        benefits::ClaimView, benefits::PublicFundsAccountView, benefits::PersonBenefitsView, benefits::RevealBody, benefits::RevealedAccount,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("the token from POST /v1/{tenant}/sessions"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "citizen_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("the token from POST /v1/{tenant}/citizen/sessions"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("the operator's token the server was started with (KOKUHO_METRICS_TOKEN)"))
                    .build(),
            ),
        );
    }
}

pub(crate) fn routes() -> Router<AppState> {
    system::routes()
        .merge(sessions::routes())
        .merge(staff::routes())
        .merge(persons::routes())
        .merge(eligibility::routes())
        .merge(households::routes())
        .merge(reports::routes())
        .merge(audit::routes())
        .merge(my_number::routes())
        .merge(provisions::routes())
        .merge(citizen::routes())
        .merge(tax::routes())
        .merge(collection::routes())
        .merge(benefits::routes())
}
