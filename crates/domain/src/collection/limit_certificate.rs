//! The 限度額適用認定証 (limit certificate) issued to a person for their household: stream
//! `limit-certificate-<person>`. Refused while any of the household's accounts has an
//! installment in arrears on the day (国民健康保険法施行規則 §27の14の2 ①,
//! [`super::may_issue_limit_certificate`]); issued once the arrears are paid.
//!
//! The certificate is recorded without an income class: the class (ア–オ, or the 70–74 ones of
//! `crate::benefits`) is the benefits area's decision and is not looked up here.

use chrono::NaiveDate;
use kokuho_events::{LedgerEvent, LimitCertificateIssued};
use serde::Serialize;
use uuid::Uuid;

use super::account::{may_issue_limit_certificate, Account};
use super::CollectionRejection;
use crate::{Aggregate, PersonId};

#[derive(Debug, Clone, Default)]
pub struct LimitCertificateState {
    /// Every certificate issued, in order.
    pub issued: Vec<LimitCertificateIssued>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueLimitCertificate {
    pub household_id: Uuid,
}

/// Today, whether the person is a member of the household today, and the household's accounts.
#[derive(Debug, Clone)]
pub struct LimitCertificateLookups {
    pub today: NaiveDate,
    pub household_known: bool,
    pub member: bool,
    pub accounts: Vec<Account>,
}

pub struct LimitCertificate;

impl Aggregate for LimitCertificate {
    const NAME: &'static str = "limit_certificate";
    const READS_PERSONAL: bool = false;
    type Id = PersonId;
    type State = LimitCertificateState;
    type Command = IssueLimitCertificate;
    type Lookups = LimitCertificateLookups;
    type Rejection = CollectionRejection;

    fn stream_id(id: PersonId) -> String {
        format!("limit-certificate-{}", id.as_uuid())
    }

    fn decide(
        id: PersonId,
        _: &LimitCertificateState,
        command: IssueLimitCertificate,
        lookups: &LimitCertificateLookups,
    ) -> Result<Vec<LedgerEvent>, CollectionRejection> {
        if !lookups.household_known {
            return Err(CollectionRejection::HouseholdNotFound { household_id: command.household_id });
        }
        if !lookups.member {
            return Err(CollectionRejection::NotMember);
        }
        may_issue_limit_certificate(&lookups.accounts, lookups.today)?;
        let mut years: Vec<i32> = lookups.accounts.iter().map(|account| account.fiscal_year.year()).collect();
        years.sort_unstable();
        Ok(vec![LedgerEvent::LimitCertificateIssued(LimitCertificateIssued {
            person_id: id.as_uuid(),
            household_id: command.household_id,
            issued_on: lookups.today,
            accounts_checked: years,
        })])
    }

    fn evolve(mut state: LimitCertificateState, event: &LedgerEvent) -> LimitCertificateState {
        if let LedgerEvent::LimitCertificateIssued(e) = event {
            state.issued.push(e.clone());
        }
        state
    }
}
