//! What benefit decisions look up: the benefit rules of a tenant's fiscal year, the household in
//! a service month (members insured some day of it, their dates of birth, the income classes from
//! the incomes reported and the 70–74 share), the 多数回 count and the yearly outpatient totals
//! from the household's earlier months, and the 公金受取口座 of whoever is paid. The same pure
//! [`month_context`] serves the on-demand decision (streams replayed) and the monthly run (one
//! pass over the ledger, [`BenefitSnapshot`]). The calculation itself is
//! `kokuho_domain::benefits`.
//!
//! **Decision:** the ledger records no resident-tax status (住民税非課税), so the classes オ
//! (under 70) and 低所得Ⅱ/Ⅰ (70–74) are never derived: such a household is decided as エ / 一般
//! until the resident-tax department's status is recorded (docs/domain.md §6).

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use kokuho_domain::benefits::claims::{BenefitClaims, ClaimCommand, ClaimLookups, ClaimsState, LoadedBenefitRules};
use kokuho_domain::benefits::month::{
    Classes, HighCostCommand, HighCostLookups, HighCostMonth, HighCostMonthId, HighCostMonthState, MonthContext,
};
use kokuho_domain::benefits::{elderly_class, under_70_class, BenefitRejection, HighCostMember};
use kokuho_domain::eligibility::EligibilityRules;
use kokuho_domain::eligibility::{elderly_share_income_year, elderly_share_starts_on, seventy_fifth_birthday};
use kokuho_domain::household::{Household, HouseholdState};
use kokuho_domain::person::{Person, PersonState};
use kokuho_domain::share::{share_on, ShareRule};
use kokuho_domain::{Aggregate, FiscalYear, PersonId, TenantCode};
use kokuho_events::BankAccount;
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::lookups::Lookup;
use crate::{jst_date, Ledger, LedgerError};

/// The first and last day of the month of `month`.
pub fn month_bounds(month: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = month.with_day(1).expect("every month has a 1st");
    let last = first.checked_add_months(Months::new(1)).and_then(|next| next.pred_opt()).unwrap_or(first);
    (first, last)
}

fn days_of(month: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let (first, last) = month_bounds(month);
    first.iter_days().take_while(move |day| *day <= last)
}

/// The persons who were members of `household` some day of `month`.
pub fn members_in_month(household: &HouseholdState, month: NaiveDate) -> Vec<Uuid> {
    let mut members: Vec<Uuid> = Vec::new();
    for day in days_of(month) {
        for person in household.members_on(day) {
            if !members.contains(&person) {
                members.push(person);
            }
        }
    }
    members
}

/// What [`month_context`] reads of a household-month: `persons` holds the (decrypted) state of
/// each member, `earlier` the household's months before this one (any order), `head_account`
/// the head's consented 公金受取口座.
pub struct MonthFacts<'a> {
    pub household_id: Uuid,
    pub household: &'a HouseholdState,
    pub persons: &'a HashMap<Uuid, PersonState>,
    pub month: NaiveDate,
    pub earlier: &'a [(NaiveDate, &'a HighCostMonthState)],
    pub head_account: Option<BankAccount>,
}

/// The household in the month as a high-cost decision needs it, from folded states.
pub fn month_context(
    facts: MonthFacts<'_>,
    eligibility: &EligibilityRules,
    rules: &LoadedBenefitRules,
) -> Result<MonthContext, BenefitRejection> {
    let MonthFacts { household_id, household, persons, month, earlier, head_account } = facts;
    if !household.is_established() {
        return Err(BenefitRejection::HouseholdNotFound { household_id });
    }
    let (first, last) = month_bounds(month);
    let period = rules.rules.high_cost_on(first).ok_or(BenefitRejection::RulesUnavailable { on: first })?;
    let head_person_id = household
        .head_on(last)
        .or_else(|| household.head())
        .ok_or(BenefitRejection::HouseholdNotFound { household_id })?;
    // August–July: the year of the 70–74 yearly outpatient limit.
    let year_start = if first.month() >= 8 {
        NaiveDate::from_ymd_opt(first.year(), 8, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year() - 1, 8, 1)
    }
    .expect("1 August exists");
    let mut members = Vec::new();
    let mut insured_states: Vec<(Uuid, PersonState)> = Vec::new();
    for person_id in members_in_month(household, first) {
        let Some(person) = persons.get(&person_id) else { continue };
        let insured_day = days_of(first).find(|day| {
            person.period_on(*day).is_some()
                && household.memberships.iter().any(|m| m.person_id == person_id && m.contains(*day))
        });
        let Some(_) = insured_day else { continue };
        let date_of_birth = person.date_of_birth().ok_or(BenefitRejection::DateOfBirthUnknown)?;
        if seventy_fifth_birthday(date_of_birth) < first {
            continue;
        }
        // The latest decided month of the same August–July year before this one.
        // Decided months only, then the latest: a later month with records but no decision
        // carries no total and must not hide the decided one before it.
        let outpatient_borne_this_year = earlier
            .iter()
            .filter(|(earlier_month, _)| *earlier_month >= year_start && *earlier_month < first)
            .filter_map(|(earlier_month, state)| Some((*earlier_month, state.decided.as_ref()?)))
            .max_by_key(|(earlier_month, _)| *earlier_month)
            .map(|(_, decided)| decided)
            .and_then(|decided| decided.outpatient_totals.iter().find(|(id, _)| *id == person_id))
            .map_or(0, |(_, total)| *total);
        members.push(HighCostMember {
            person_id,
            date_of_birth,
            joined_at_employees_75: false,
            outpatient_borne_this_year,
        });
        insured_states.push((person_id, person.clone()));
    }
    // Under 70: Σ 旧ただし書所得 of the insured members of the income year the month falls in
    // (August–July, as the 70–74 share); a missing or undeclared report is undeclared (ア).
    let income_year = elderly_share_income_year(first);
    let deduction = eligibility.elderly.basic_deduction.amount();
    let any_under_70 = members.iter().any(|m| elderly_share_starts_on(m.date_of_birth) > first);
    let (under_70_class, under_70_basis) = if any_under_70 {
        let incomes: Vec<Option<i64>> = members
            .iter()
            .map(|member| {
                let born_after = NaiveDate::from_ymd_opt(income_year, 12, 31).is_some_and(|d| member.date_of_birth > d);
                let figures =
                    persons.get(&member.person_id).and_then(|p| p.incomes.get(&income_year).cloned().flatten());
                match figures {
                    Some(f) if f.declared => Some((f.total_income_yen - deduction).max(0)),
                    _ if born_after => Some(0),
                    _ => None,
                }
            })
            .collect();
        let (class, basis) = under_70_class(&incomes, false, &period.under_70_classes);
        (Some(class), Some(basis))
    } else {
        (None, None)
    };
    // 70–74: the class from the ground of the household's 70–74 share on the member's first
    // insured day of the month.
    let mut elderly = None;
    let mut elderly_basis = None;
    for member in members.iter().filter(|m| elderly_share_starts_on(m.date_of_birth) <= first) {
        let person = &persons[&member.person_id];
        let Some(day) = days_of(first).find(|day| person.period_on(*day).is_some()) else { continue };
        let Ok(answer) =
            share_on(PersonId::from_uuid(member.person_id), person, day, Some(household), &insured_states, eligibility)
        else {
            continue;
        };
        if let ShareRule::Elderly { basis, .. } = answer.rule {
            elderly = Some(elderly_class(&basis, false, false, &period.elderly_classes));
            elderly_basis = Some(serde_json::to_value(&basis).map(|v| v.to_string()).unwrap_or_default());
            break;
        }
    }
    // 多数回: the months of the eleven before this one with a household benefit.
    let eleven_before = first.checked_sub_months(Months::new(11)).unwrap_or(first);
    let prior_benefit_months = earlier
        .iter()
        .filter(|(earlier_month, state)| {
            *earlier_month >= eleven_before
                && *earlier_month < first
                && state.decided.as_ref().is_some_and(|d| d.counts_toward_many_times)
        })
        .count();
    Ok(MonthContext {
        head_person_id,
        members,
        classes: Classes { under_70_class, under_70_basis, elderly_class: elderly, elderly_basis },
        prior_benefit_months: u32::try_from(prior_benefit_months).unwrap_or(u32::MAX),
        head_account,
    })
}

impl Ledger {
    /// The benefit rules of `tenant` for `fiscal_year`, or why there are none.
    pub fn benefit_rules(&self, tenant: TenantCode, fiscal_year: i32) -> Result<LoadedBenefitRules, BenefitRejection> {
        self.tax_rule_files()
            .benefits(tenant, fiscal_year)
            .map(|set| LoadedBenefitRules {
                rules: set.rules,
                file: set.file,
                sha256: set.sha256,
                national_sha256: set.national_sha256,
            })
            .map_err(|_| BenefitRejection::RulesUnavailable {
                on: NaiveDate::from_ymd_opt(fiscal_year, 4, 1).unwrap_or(NaiveDate::MIN),
            })
    }

    /// A person's consented 公金受取口座, as recorded now.
    pub async fn public_funds_account(
        &self,
        tenant: TenantCode,
        person_id: Uuid,
    ) -> Result<Option<BankAccount>, LedgerError> {
        let view = self.replay::<BenefitClaims>(tenant, PersonId::from_uuid(person_id), None, Decrypt::Yes).await?;
        Ok(view.state.consented_account().cloned())
    }

    /// The household in `id`'s month, from its streams as recorded now.
    async fn high_cost_context(
        &self,
        tenant: TenantCode,
        id: HighCostMonthId,
        rules: &LoadedBenefitRules,
    ) -> Result<Result<MonthContext, BenefitRejection>, LedgerError> {
        let household = self.replay::<Household>(tenant, id.household_id, None, Decrypt::No).await?.state;
        let mut persons = HashMap::new();
        for person_id in members_in_month(&household, id.month) {
            let person = self.replay::<Person>(tenant, PersonId::from_uuid(person_id), None, Decrypt::Yes).await?;
            persons.insert(person_id, person.state);
        }
        let mut earlier_states = Vec::new();
        for back in 1..=11 {
            let Some(month) = id.month.checked_sub_months(Months::new(back)) else { continue };
            let earlier = HighCostMonthId::new(id.household_id, month);
            let view = self.replay::<HighCostMonth>(tenant, earlier, None, Decrypt::Yes).await?;
            if view.state.decided.is_some() {
                earlier_states.push((month, view.state));
            }
        }
        let earlier: Vec<(NaiveDate, &HighCostMonthState)> = earlier_states.iter().map(|(m, s)| (*m, s)).collect();
        let head = household.head_on(month_bounds(id.month).1).or_else(|| household.head());
        let head_account = match head {
            Some(head) => self.public_funds_account(tenant, head).await?,
            None => None,
        };
        let facts = MonthFacts {
            household_id: id.household_id,
            household: &household,
            persons: &persons,
            month: id.month,
            earlier: &earlier,
            head_account,
        };
        Ok(month_context(facts, &self.rules().rules, rules))
    }
}

/// The head named by a month decided with a benefit but no payment instruction yet: whose
/// 公金受取口座 a later decision request may pay into.
fn unpaid_head(state: &HighCostMonthState) -> Option<Uuid> {
    state.decided.as_ref().filter(|d| d.benefit > 0 && !state.payment_instructed).map(|d| d.head_person_id)
}

impl Lookup for HighCostMonth {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        id: HighCostMonthId,
        state: &HighCostMonthState,
        command: &HighCostCommand,
    ) -> Result<HighCostLookups, LedgerError> {
        let today = jst_date(ledger.now());
        let rules = ledger.benefit_rules(tenant, FiscalYear::containing(id.month).year());
        let not_asked = || Err(BenefitRejection::NoMedicalRecords);
        match command {
            HighCostCommand::Record { .. } => {
                let household = ledger.replay::<Household>(tenant, id.household_id, None, Decrypt::No).await?.state;
                Ok(HighCostLookups {
                    today,
                    members_in_month: members_in_month(&household, id.month),
                    household_known: household.is_established(),
                    context: not_asked(),
                    rules,
                    decided_head_account: None,
                })
            }
            HighCostCommand::Decide { .. } => {
                let context = match (&rules, state.decided.is_some() || state.records.is_empty()) {
                    (Ok(loaded), false) => ledger.high_cost_context(tenant, id, loaded).await?,
                    (Err(error), false) => Err(error.clone()),
                    (_, true) => not_asked(),
                };
                let decided_head_account = match unpaid_head(state) {
                    Some(head) => ledger.public_funds_account(tenant, head).await?,
                    None => None,
                };
                Ok(HighCostLookups {
                    today,
                    members_in_month: Vec::new(),
                    household_known: true,
                    context,
                    rules,
                    decided_head_account,
                })
            }
        }
    }
}

impl Lookup for BenefitClaims {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        id: PersonId,
        _: &ClaimsState,
        command: &ClaimCommand,
    ) -> Result<ClaimLookups, LedgerError> {
        let today = jst_date(ledger.now());
        let person = ledger.replay::<Person>(tenant, id, None, Decrypt::No).await?.state;
        let person_registered = person.registered.is_some() && !person.erased;
        let (event_on, claimant) = match command {
            ClaimCommand::RegisterAccount { registered_on, .. } => (registered_on.unwrap_or(today), None),
            ClaimCommand::Childbirth { claim, payee, .. } => (claim.born_on, Some(payee.claimant_person_id)),
            ClaimCommand::Funeral { payee, .. } => (person.died_on.unwrap_or(today), Some(payee.claimant_person_id)),
        };
        let insured_on_event = person.period_on(event_on).is_some()
            // A death ends the period the day after: the day of death is insured.
            || matches!(command, ClaimCommand::Funeral { .. }) && person.died_on.is_some_and(|died| person.period_on(died).is_some());
        let (claimant_registered, claimant_account) = match claimant {
            Some(claimant) => {
                let state =
                    ledger.replay::<Person>(tenant, PersonId::from_uuid(claimant), None, Decrypt::No).await?.state;
                let registered = state.registered.is_some() && !state.erased;
                let account = if registered { ledger.public_funds_account(tenant, claimant).await? } else { None };
                (registered, account)
            }
            None => (true, None),
        };
        Ok(ClaimLookups {
            today,
            person_registered,
            died_on: person.died_on,
            insured_on_event,
            claimant_registered,
            claimant_account,
            rules: ledger.benefit_rules(tenant, FiscalYear::containing(event_on).year()),
        })
    }
}

/// Every person, household, household-month and person's benefits stream of a tenant folded in
/// one pass over its ledger (personal parts decrypted): what the monthly run decides from
/// without one query per household.
#[derive(Default)]
pub struct BenefitSnapshot {
    pub position: i64,
    pub households: HashMap<Uuid, HouseholdState>,
    pub persons: HashMap<Uuid, PersonState>,
    pub months: HashMap<HighCostMonthId, HighCostMonthState>,
    pub claims: HashMap<Uuid, ClaimsState>,
}

impl BenefitSnapshot {
    /// The household-months of `month` with records, by household id.
    pub fn months_with_records(&self, month: NaiveDate) -> Vec<HighCostMonthId> {
        let first = month_bounds(month).0;
        let mut ids: Vec<HighCostMonthId> = self
            .months
            .iter()
            .filter(|(id, state)| id.month == first && !state.records.is_empty())
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// The decision's lookups for `id`, from the snapshot.
    pub fn lookups(
        &self,
        id: HighCostMonthId,
        today: NaiveDate,
        eligibility: &EligibilityRules,
        rules: &Result<LoadedBenefitRules, BenefitRejection>,
    ) -> HighCostLookups {
        let context = match (self.households.get(&id.household_id), rules) {
            (None, _) => Err(BenefitRejection::HouseholdNotFound { household_id: id.household_id }),
            (_, Err(error)) => Err(error.clone()),
            (Some(household), Ok(loaded)) => {
                let earlier: Vec<(NaiveDate, &HighCostMonthState)> = (1..=11)
                    .filter_map(|back| id.month.checked_sub_months(Months::new(back)))
                    .filter_map(|month| {
                        self.months.get(&HighCostMonthId::new(id.household_id, month)).map(|state| (month, state))
                    })
                    .collect();
                let head = household.head_on(month_bounds(id.month).1).or_else(|| household.head());
                let head_account =
                    head.and_then(|head| self.claims.get(&head)).and_then(|c| c.consented_account().cloned());
                let facts = MonthFacts {
                    household_id: id.household_id,
                    household,
                    persons: &self.persons,
                    month: id.month,
                    earlier: &earlier,
                    head_account,
                };
                month_context(facts, eligibility, loaded)
            }
        };
        let decided_head_account = self
            .months
            .get(&id)
            .and_then(unpaid_head)
            .and_then(|head| self.claims.get(&head))
            .and_then(|claims| claims.consented_account().cloned());
        HighCostLookups {
            today,
            members_in_month: Vec::new(),
            household_known: true,
            context,
            rules: rules.clone(),
            decided_head_account,
        }
    }
}

impl Ledger {
    /// Folds what the monthly run needs of `tenant` in one pass over its events.
    pub async fn benefit_snapshot(&self, tenant: TenantCode) -> Result<BenefitSnapshot, LedgerError> {
        let mut snapshot = BenefitSnapshot::default();
        loop {
            let page =
                self.store().read_page(tenant, snapshot.position, kokuho_store::PAGE_EVENTS_MAX, Decrypt::Yes).await?;
            let Some(last) = page.last() else { break };
            snapshot.position = last.position;
            for recorded in &page {
                let stream = recorded.stream_id.as_str();
                if let Some(id) = stream.strip_prefix("person-") {
                    let Ok(id) = Uuid::parse_str(id) else { continue };
                    let state = snapshot.persons.remove(&id).unwrap_or_default();
                    snapshot.persons.insert(id, kokuho_domain::person::evolve(state, &crate::decode(recorded)?));
                } else if let Some(id) = stream.strip_prefix("household-") {
                    let Ok(id) = Uuid::parse_str(id) else { continue };
                    let state = snapshot.households.remove(&id).unwrap_or_default();
                    snapshot.households.insert(id, Household::evolve(state, &crate::decode(recorded)?));
                } else if let Some(rest) = stream.strip_prefix("high-cost-") {
                    // `high-cost-<household uuid>-<YYYY>-<MM>`: the uuid is the first 36 characters.
                    let (Some(id), Some(month)) = (rest.get(..36), rest.get(37..)) else { continue };
                    let Ok(id) = Uuid::parse_str(id) else { continue };
                    let Ok(month) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else { continue };
                    let key = HighCostMonthId::new(id, month);
                    let state = snapshot.months.remove(&key).unwrap_or_default();
                    snapshot.months.insert(key, HighCostMonth::evolve(state, &crate::decode(recorded)?));
                } else if let Some(id) = stream.strip_prefix("benefits-") {
                    let Ok(id) = Uuid::parse_str(id) else { continue };
                    let state = snapshot.claims.remove(&id).unwrap_or_default();
                    snapshot.claims.insert(id, BenefitClaims::evolve(state, &crate::decode(recorded)?));
                }
            }
        }
        Ok(snapshot)
    }
}
