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

use super::childbirth::{self, ChildbirthClaim, Payment};
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
        claim: ChildbirthClaimBody,
        payee: Payee,
    },
    /// The death day is the one recorded for the person.
    Funeral {
        claim_id: Uuid,
        claim: FuneralClaimBody,
        payee: Payee,
    },
}

/// A childbirth claim as made: [`ChildbirthClaim`] with the day of the claim left to the decision
/// when none is given.
#[derive(Debug, Clone, Serialize)]
pub struct ChildbirthClaimBody {
    pub born_on: NaiveDate,
    pub weeks: u32,
    pub children: u32,
    pub in_scheme: bool,
    pub payment: Payment,
    pub cost: i64,
    pub former_plan_pays: bool,
    /// `None` for the day of the decision (the lookups' today), so the same request retried
    /// after midnight is the same command.
    pub claimed_on: Option<NaiveDate>,
}

impl ChildbirthClaimBody {
    /// The claim as made on `claimed_on` (the day given, or the day of the decision).
    fn made_on(self, claimed_on: NaiveDate) -> ChildbirthClaim {
        let ChildbirthClaimBody { born_on, weeks, children, in_scheme, payment, cost, former_plan_pays, claimed_on: _ } =
            self;
        ChildbirthClaim { born_on, weeks, children, in_scheme, payment, cost, former_plan_pays, claimed_on }
    }
}

/// A funeral claim as made: the death day comes from the person's record.
#[derive(Debug, Clone, Serialize)]
pub struct FuneralClaimBody {
    pub funeral_on: NaiveDate,
    /// `None` for the day of the decision (the lookups' today), so the same request retried
    /// after midnight is the same command.
    pub claimed_on: Option<NaiveDate>,
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
                let claimed_on = day_claimed(claim.claimed_on, lookups)?;
                let claim = claim.made_on(claimed_on);
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
                let claimed_on = day_claimed(claim.claimed_on, lookups)?;
                if !lookups.insured_on_event {
                    return Err(BenefitRejection::NotInsured);
                }
                let rules = lookups.rules.clone()?;
                let full = FuneralClaim {
                    died_on,
                    funeral_on: claim.funeral_on,
                    claimed_on,
                    left_employee_plan_on: claim.left_employee_plan_on,
                    former_plan_paid: claim.former_plan_paid,
                };
                let decided = funeral::decide(&full, &rules.rules).map(|d| (d.amount, 0, d.amount, d.claim_deadline));
                let facts = serde_json::to_value(&full).expect("a claim serializes");
                let claimed =
                    Claimed { person_id, claim_id, kind: "funeral", event_on: claim.funeral_on, claimed_on, facts };
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

/// The day a claim is made: the day given, or the day of the decision; a day from 1900, not
/// after today.
fn day_claimed(given: Option<NaiveDate>, lookups: &ClaimLookups) -> Result<NaiveDate, BenefitRejection> {
    let claimed_on = given.unwrap_or(lookups.today);
    crate::checks::date("claimed_on", claimed_on).map_err(|_| invalid_date("claimed_on"))?;
    if claimed_on > lookups.today {
        return Err(BenefitRejection::Invalid { field: "claimed_on".into(), accepts: "a day not after today" });
    }
    Ok(claimed_on)
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

#[cfg(test)]
mod tests {
    use super::super::examples::{day, kumagaya};
    use super::*;

    fn lookups(today: NaiveDate) -> ClaimLookups {
        let rules = LoadedBenefitRules {
            rules: Arc::new(kumagaya(2025)),
            file: "112020/2025/benefits.toml".into(),
            sha256: "a".repeat(64),
            national_sha256: "b".repeat(64),
        };
        ClaimLookups {
            today,
            person_registered: true,
            died_on: Some(day(2023, 7, 20)),
            insured_on_event: true,
            claimant_registered: true,
            claimant_account: None,
            rules: Ok(rules),
        }
    }

    fn payee() -> Payee {
        let account = BankAccount {
            bank_code: "0001".into(),
            branch_code: "001".into(),
            account_type: "ordinary".into(),
            account_number: "1234567".into(),
            holder_kana: "クマガヤ タロウ".into(),
        };
        Payee { claimant_person_id: Uuid::from_u128(2), account: Some(account) }
    }

    fn birth(born_on: NaiveDate, claimed_on: Option<NaiveDate>) -> ClaimCommand {
        let claim = ChildbirthClaimBody {
            born_on,
            weeks: 39,
            children: 1,
            in_scheme: true,
            payment: Payment::ToHousehold,
            cost: 0,
            former_plan_pays: false,
            claimed_on,
        };
        ClaimCommand::Childbirth { claim_id: Uuid::from_u128(3), claim, payee: payee() }
    }

    fn funeral(funeral_on: NaiveDate, claimed_on: Option<NaiveDate>) -> ClaimCommand {
        let claim = FuneralClaimBody { funeral_on, claimed_on, left_employee_plan_on: None, former_plan_paid: false };
        ClaimCommand::Funeral { claim_id: Uuid::from_u128(4), claim, payee: payee() }
    }

    fn decide(command: ClaimCommand, today: NaiveDate) -> Result<Vec<LedgerEvent>, BenefitRejection> {
        BenefitClaims::decide(
            PersonId::from_uuid(Uuid::from_u128(1)),
            &ClaimsState::default(),
            command,
            &lookups(today),
        )
    }

    /// (kind, claimed_on, the refusal's code) of the claim recorded.
    fn recorded(events: &[LedgerEvent]) -> (String, NaiveDate, Option<String>) {
        match &events[0] {
            LedgerEvent::BenefitClaimDecided(e) => (e.kind.clone(), e.claimed_on, None),
            LedgerEvent::BenefitClaimRefused(e) => (e.kind.clone(), e.claimed_on, Some(e.code.clone())),
            other => panic!("{other:?}"),
        }
    }

    /// A claim without its day is made on the day of the decision (the command stays the same
    /// whatever day it is decided on), and that day is the one the two-year limit is checked
    /// against and the one recorded, for both claims.
    #[test]
    fn a_claim_without_a_day_is_made_on_the_day_of_the_decision() {
        let today = day(2025, 8, 1);
        let events = decide(birth(day(2025, 6, 10), None), today).unwrap();
        assert_eq!(recorded(&events), ("childbirth".into(), today, None));
        let LedgerEvent::BenefitClaimDecided(decided) = &events[0] else { panic!("{events:?}") };
        let facts = decided.personal.as_present().unwrap();
        assert_eq!(facts["claim"]["claimed_on"], serde_json::json!("2025-08-01"), "{facts}");
        let events = decide(funeral(day(2023, 7, 25), None), day(2025, 7, 25)).unwrap();
        assert_eq!(recorded(&events), ("funeral".into(), day(2025, 7, 25), None));

        // The last day of the two years (from the day after the birth or funeral) is the
        // decision's day: the next day the claim has lapsed, recorded as made that day.
        let events = decide(birth(day(2023, 6, 10), None), day(2025, 6, 10)).unwrap();
        assert_eq!(recorded(&events), ("childbirth".into(), day(2025, 6, 10), None));
        let events = decide(birth(day(2023, 6, 10), None), day(2025, 6, 11)).unwrap();
        assert_eq!(recorded(&events), ("childbirth".into(), day(2025, 6, 11), Some("claim_lapsed".into())));
        let events = decide(funeral(day(2023, 7, 25), None), day(2025, 7, 26)).unwrap();
        assert_eq!(recorded(&events), ("funeral".into(), day(2025, 7, 26), Some("claim_lapsed".into())));

        // A day given is kept, and may not be after the decision's day.
        let events = decide(birth(day(2023, 6, 10), Some(day(2025, 6, 10))), day(2025, 6, 11)).unwrap();
        assert_eq!(recorded(&events), ("childbirth".into(), day(2025, 6, 10), None));
        for command in
            [birth(day(2025, 6, 10), Some(day(2025, 8, 2))), funeral(day(2025, 7, 25), Some(day(2025, 8, 2)))]
        {
            let refused = decide(command, day(2025, 8, 1)).unwrap_err();
            assert_eq!(
                refused,
                BenefitRejection::Invalid { field: "claimed_on".into(), accepts: "a day not after today" }
            );
        }
    }
}
