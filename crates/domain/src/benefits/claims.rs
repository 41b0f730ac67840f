//! The benefits of one person, stream `benefits-<person>`: their public-funds receiving account
//! (公金受取口座) and the childbirth (出産育児一時金) and funeral (葬祭費) claims made for them, each
//! decided once — paid, or refused (不支給) with the refusal's code — and the payment instruction
//! of what is paid to the claimant.
//!
//! The ledger gathers what a decision needs ([`ClaimLookups`]: today, the person as recorded, the
//! claimant's account, the rules of the fiscal year of the birth or death); `decide` runs the pure
//! [`childbirth::decide`](super::childbirth::decide) or [`funeral::decide`](super::funeral::decide).

use std::sync::Arc;

use chrono::NaiveDate;
use kokuho_events::{
    BankAccount, BenefitClaimDecided, BenefitClaimRefused, BenefitPaymentInstructed, LedgerEvent, Personal,
    PublicFundsAccountRegistered,
};
use serde::Serialize;
use uuid::Uuid;

use super::childbirth::{self, ChildbirthClaim};
use super::funeral::{self, FuneralClaim};
use super::rules::BenefitRules;
use super::{account, BenefitRejection};
use crate::{Aggregate, PersonId, Refusal};

/// The benefit rules of a fiscal year as the ledger loaded them, with the files' hashes.
#[derive(Debug, Clone)]
pub struct LoadedBenefitRules {
    pub rules: Arc<BenefitRules>,
    pub file: String,
    pub sha256: String,
    pub national_sha256: String,
}

/// A claim as decided or refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimRecord {
    pub claim_id: Uuid,
    /// `childbirth` or `funeral`.
    pub kind: String,
    pub event_on: NaiveDate,
    /// `paid` or `refused`.
    pub outcome: &'static str,
    pub amount_yen: i64,
    /// The refusal's code.
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ClaimsState {
    /// The latest public-funds receiving account and the consent given with it.
    pub public_funds_account: Option<(Personal<BankAccount>, bool)>,
    pub claims: Vec<ClaimRecord>,
}

impl ClaimsState {
    /// The account a benefit may be paid into without asking: registered, with consent.
    pub fn consented_account(&self) -> Option<&BankAccount> {
        match &self.public_funds_account {
            Some((Personal::Present(account), true)) => Some(account),
            _ => None,
        }
    }
}

/// How a claim is paid besides the institution: into whose account.
#[derive(Debug, Clone, Serialize)]
pub struct Payee {
    /// The person paid (the head of household for a birth, the chief mourner for a funeral).
    pub claimant_person_id: Uuid,
    /// The account written on the claim, used when the claimant has no consented 公金受取口座.
    pub account: Option<BankAccount>,
}

#[derive(Debug, Clone, Serialize)]
pub enum ClaimCommand {
    RegisterAccount {
        account: BankAccount,
        consented: bool,
        /// `None` for the day of the decision (the lookups' today), so the same request retried
        /// after midnight is the same command.
        registered_on: Option<NaiveDate>,
    },
    Childbirth {
        claim_id: Uuid,
        claim: ChildbirthClaim,
        payee: Payee,
    },
    /// The death day is the one recorded for the person.
    Funeral {
        claim_id: Uuid,
        claim: FuneralClaimBody,
        payee: Payee,
    },
}

/// A funeral claim as made: the death day comes from the person's record.
#[derive(Debug, Clone, Serialize)]
pub struct FuneralClaimBody {
    pub funeral_on: NaiveDate,
    pub claimed_on: NaiveDate,
    pub left_employee_plan_on: Option<NaiveDate>,
    pub former_plan_paid: bool,
}

/// What a claim's decision looks up.
#[derive(Debug, Clone)]
pub struct ClaimLookups {
    pub today: NaiveDate,
    pub person_registered: bool,
    pub died_on: Option<NaiveDate>,
    /// Whether the person was insured on the day of the birth or the death.
    pub insured_on_event: bool,
    pub claimant_registered: bool,
    /// The claimant's 公金受取口座, when registered with consent.
    pub claimant_account: Option<BankAccount>,
    /// The rules of the fiscal year of the birth or death.
    pub rules: Result<LoadedBenefitRules, BenefitRejection>,
}

pub struct BenefitClaims;

/// What a claim was for, as its events record it.
struct Claimed {
    person_id: Uuid,
    claim_id: Uuid,
    kind: &'static str,
    event_on: NaiveDate,
    claimed_on: NaiveDate,
    facts: serde_json::Value,
}

fn refused_or_decided(
    claimed: Claimed,
    decided: Result<(i64, i64, i64, NaiveDate), BenefitRejection>,
    rules: &LoadedBenefitRules,
    payee: Payee,
    lookups: &ClaimLookups,
) -> Result<Vec<LedgerEvent>, BenefitRejection> {
    let Claimed { person_id, claim_id, kind, event_on, claimed_on, facts } = claimed;
    let (amount, to_institution, to_claimant, deadline) = match decided {
        Ok(decided) => decided,
        Err(
            rejection @ (BenefitRejection::ClaimLapsed { .. }
            | BenefitRejection::FormerPlanPays
            | BenefitRejection::PregnancyTooShort { .. }),
        ) => {
            // A 不支給決定: recorded, so the claim counts as decided.
            return Ok(vec![LedgerEvent::BenefitClaimRefused(BenefitClaimRefused {
                claim_id,
                person_id,
                kind: kind.to_owned(),
                event_on,
                claimed_on,
                code: rejection.code().to_owned(),
                reason: rejection.to_string(),
                personal: Personal::Present(serde_json::json!({ "claim": facts })),
            })]);
        }
        Err(other) => return Err(other),
    };
    let mut events = vec![LedgerEvent::BenefitClaimDecided(BenefitClaimDecided {
        claim_id,
        person_id,
        kind: kind.to_owned(),
        event_on,
        claimed_on,
        amount_yen: amount,
        to_institution_yen: to_institution,
        to_claimant_yen: to_claimant,
        claim_deadline: deadline,
        rules_file: rules.file.clone(),
        rules_sha256: rules.sha256.clone(),
        national_sha256: rules.national_sha256.clone(),
        personal: Personal::Present(
            serde_json::json!({ "claim": facts, "claimant_person_id": payee.claimant_person_id }),
        ),
    })];
    if to_claimant > 0 {
        let (account, source) = match (&lookups.claimant_account, payee.account) {
            (Some(account), _) => (account.clone(), "public_funds_account"),
            (None, Some(account)) => (account, "claim_account"),
            (None, None) => return Err(BenefitRejection::AccountRequired),
        };
        events.push(LedgerEvent::BenefitPaymentInstructed(BenefitPaymentInstructed {
            // One payment per claim: it carries the claim's id.
            payment_id: claim_id,
            payee_person_id: payee.claimant_person_id,
            benefit: kind.to_owned(),
            reference: claim_id.to_string(),
            amount_yen: to_claimant,
            account_source: source.to_owned(),
            personal: Personal::Present(account),
        }));
    }
    Ok(events)
}

impl Aggregate for BenefitClaims {
    const NAME: &'static str = "benefit_claims";
    const READS_PERSONAL: bool = true;
    type Id = PersonId;
    type State = ClaimsState;
    type Command = ClaimCommand;
    type Lookups = ClaimLookups;
    type Rejection = BenefitRejection;

    fn stream_id(id: PersonId) -> String {
        format!("benefits-{id}")
    }

    fn decide(
        id: PersonId,
        state: &ClaimsState,
        command: ClaimCommand,
        lookups: &ClaimLookups,
    ) -> Result<Vec<LedgerEvent>, BenefitRejection> {
        let person_id = id.as_uuid();
        if !lookups.person_registered {
            return Err(BenefitRejection::PersonNotFound { person_id });
        }
        match command {
            ClaimCommand::RegisterAccount { account, consented, registered_on } => {
                account::check("account", &account)?;
                let registered_on = registered_on.unwrap_or(lookups.today);
                if let Some((Personal::Present(current), was)) = &state.public_funds_account {
                    if *current == account && *was == consented {
                        return Ok(vec![]);
                    }
                }
                Ok(vec![LedgerEvent::PublicFundsAccountRegistered(PublicFundsAccountRegistered {
                    person_id,
                    registered_on,
                    consented,
                    personal: Personal::Present(account),
                })])
            }
            ClaimCommand::Childbirth { claim_id, claim, payee } => {
                if state.claims.iter().any(|c| c.claim_id == claim_id) {
                    return Ok(vec![]);
                }
                check_payee(&payee, lookups)?;
                if state.claims.iter().any(|c| c.kind == "childbirth" && c.event_on == claim.born_on) {
                    return Err(BenefitRejection::ClaimAlreadyDecided);
                }
                crate::checks::date("born_on", claim.born_on).map_err(|_| invalid_date("born_on"))?;
                crate::checks::date("claimed_on", claim.claimed_on).map_err(|_| invalid_date("claimed_on"))?;
                if claim.claimed_on > lookups.today {
                    return Err(BenefitRejection::Invalid {
                        field: "claimed_on".into(),
                        accepts: "a day not after today",
                    });
                }
                if !lookups.insured_on_event {
                    return Err(BenefitRejection::NotInsured);
                }
                let rules = lookups.rules.clone()?;
                let decided = childbirth::decide(&claim, &rules.rules)
                    .map(|d| (d.amount, d.to_institution, d.to_household, d.claim_deadline));
                let facts = serde_json::to_value(&claim).expect("a claim serializes");
                let claimed = Claimed {
                    person_id,
                    claim_id,
                    kind: "childbirth",
                    event_on: claim.born_on,
                    claimed_on: claim.claimed_on,
                    facts,
                };
                refused_or_decided(claimed, decided, &rules, payee, lookups)
            }
            ClaimCommand::Funeral { claim_id, claim, payee } => {
                if state.claims.iter().any(|c| c.claim_id == claim_id) {
                    return Ok(vec![]);
                }
                check_payee(&payee, lookups)?;
                if state.claims.iter().any(|c| c.kind == "funeral") {
                    return Err(BenefitRejection::ClaimAlreadyDecided);
                }
                let died_on = lookups.died_on.ok_or(BenefitRejection::DeathNotRecorded)?;
                crate::checks::date("funeral_on", claim.funeral_on).map_err(|_| invalid_date("funeral_on"))?;
                crate::checks::date("claimed_on", claim.claimed_on).map_err(|_| invalid_date("claimed_on"))?;
                if claim.claimed_on > lookups.today {
                    return Err(BenefitRejection::Invalid {
                        field: "claimed_on".into(),
                        accepts: "a day not after today",
                    });
                }
                if !lookups.insured_on_event {
                    return Err(BenefitRejection::NotInsured);
                }
                let rules = lookups.rules.clone()?;
                let full = FuneralClaim {
                    died_on,
                    funeral_on: claim.funeral_on,
                    claimed_on: claim.claimed_on,
                    left_employee_plan_on: claim.left_employee_plan_on,
                    former_plan_paid: claim.former_plan_paid,
                };
                let decided = funeral::decide(&full, &rules.rules).map(|d| (d.amount, 0, d.amount, d.claim_deadline));
                let facts = serde_json::to_value(&full).expect("a claim serializes");
                let claimed = Claimed {
                    person_id,
                    claim_id,
                    kind: "funeral",
                    event_on: claim.funeral_on,
                    claimed_on: claim.claimed_on,
                    facts,
                };
                refused_or_decided(claimed, decided, &rules, payee, lookups)
            }
        }
    }

    fn evolve(mut state: ClaimsState, event: &LedgerEvent) -> ClaimsState {
        match event {
            LedgerEvent::PublicFundsAccountRegistered(e) => {
                state.public_funds_account = Some((e.personal.clone(), e.consented));
            }
            LedgerEvent::BenefitClaimDecided(e) => state.claims.push(ClaimRecord {
                claim_id: e.claim_id,
                kind: e.kind.clone(),
                event_on: e.event_on,
                outcome: "paid",
                amount_yen: e.amount_yen,
                code: None,
            }),
            LedgerEvent::BenefitClaimRefused(e) => state.claims.push(ClaimRecord {
                claim_id: e.claim_id,
                kind: e.kind.clone(),
                event_on: e.event_on,
                outcome: "refused",
                amount_yen: 0,
                code: Some(e.code.clone()),
            }),
            _ => {}
        }
        state
    }
}

fn invalid_date(field: &str) -> BenefitRejection {
    BenefitRejection::Invalid { field: field.to_owned(), accepts: "a date from 1900-01-01" }
}

fn check_payee(payee: &Payee, lookups: &ClaimLookups) -> Result<(), BenefitRejection> {
    if !lookups.claimant_registered {
        return Err(BenefitRejection::PersonNotFound { person_id: payee.claimant_person_id });
    }
    if let Some(account) = &payee.account {
        account::check("account", account)?;
    }
    Ok(())
}
