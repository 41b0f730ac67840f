//! What tax decisions look up: the rules of a tenant's fiscal year (loaded once, kept), and the
//! household of the year folded from its stream and its members' (decrypted: incomes and dates
//! of birth are personal). The calculation itself is `kokuho_domain::tax`.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use kokuho_domain::household::Household;
use kokuho_domain::person::Person;
use kokuho_domain::tax::calc::{assess, Assessment, HouseholdInput};
use kokuho_domain::tax::input::{household_input, members_in_year};
use kokuho_domain::tax::{AssessmentId, LoadedTaxRules, TaxAssessment, TaxCommand, TaxLookups, TaxRejection, TaxState};
use kokuho_domain::{Aggregate, PersonId, TenantCode};
use kokuho_rules::Rules;
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::lookups::Lookup;
use crate::{jst_date, Ledger, LedgerError};

/// The tax rule files in force and the rules of each (tenant, fiscal year) once loaded: a file
/// is parsed and checked once per process (the rule files are read when kokuho starts).
pub struct TaxRulesCache {
    rules: Mutex<Rules>,
    loaded: Mutex<HashMap<(TenantCode, i32), Result<LoadedTaxRules, TaxRejection>>>,
}

impl TaxRulesCache {
    pub fn new(rules: Rules) -> TaxRulesCache {
        TaxRulesCache { rules: Mutex::new(rules), loaded: Mutex::new(HashMap::new()) }
    }

    /// Puts `rules` in force and forgets every year loaded under the previous files.
    fn replace(&self, rules: Rules) {
        let mut loaded = self.loaded.lock().expect("tax rules cache lock");
        *self.rules.lock().expect("tax rule files lock") = rules;
        loaded.clear();
    }

    fn get(&self, tenant: TenantCode, fiscal_year: i32) -> Result<LoadedTaxRules, TaxRejection> {
        let mut loaded = self.loaded.lock().expect("tax rules cache lock");
        loaded
            .entry((tenant, fiscal_year))
            .or_insert_with(|| {
                self.rules
                    .lock()
                    .expect("tax rule files lock")
                    .tax(tenant, fiscal_year)
                    .map(|set| LoadedTaxRules {
                        rules: set.rules,
                        file: set.file,
                        sha256: set.sha256,
                        national_sha256: set.national_sha256,
                    })
                    .map_err(|error| TaxRejection::RulesUnavailable { reason: error.to_string() })
            })
            .clone()
    }
}

impl Ledger {
    /// The tax rules of `tenant` for `fiscal_year`, or why there are none.
    pub fn tax_rules(&self, tenant: TenantCode, fiscal_year: i32) -> Result<LoadedTaxRules, TaxRejection> {
        self.tax_rules.get(tenant, fiscal_year)
    }

    /// The rule files the tax rules are read from.
    pub fn tax_rule_files(&self) -> Rules {
        self.tax_rules.rules.lock().expect("tax rule files lock").clone()
    }

    /// Puts other tax rule files in force (a tool comparing rule versions: `kokuho bench-tax`);
    /// a server reads its files once, at startup.
    pub fn replace_tax_rules(&self, rules: Rules) {
        self.collection_rules.replace(rules.clone());
        self.tax_rules.replace(rules);
    }

    /// The household of `fiscal_year` as recorded (at `as_of`, or now), for the assessment.
    pub async fn tax_input(
        &self,
        tenant: TenantCode,
        household_id: Uuid,
        fiscal_year: i32,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Result<HouseholdInput, TaxRejection>, LedgerError> {
        let household = self.replay::<Household>(tenant, household_id, as_of, Decrypt::No).await?.state;
        let mut persons = HashMap::new();
        for person_id in members_in_year(&household, fiscal_year) {
            let person = self.replay::<Person>(tenant, PersonId::from_uuid(person_id), as_of, Decrypt::Yes).await?;
            persons.insert(person_id, person.state);
        }
        Ok(household_input(household_id, &household, &persons, fiscal_year))
    }

    /// What the household would pay under the rules of `fiscal_year` (窓口試算): nothing is read
    /// from the ledger or recorded.
    pub fn simulate_tax(
        &self,
        tenant: TenantCode,
        input: &HouseholdInput,
    ) -> Result<(Assessment, LoadedTaxRules), TaxRejection> {
        kokuho_domain::tax::assessment::check_fiscal_year(input.fiscal_year, jst_date(self.now()))?;
        let rules = self.tax_rules(tenant, input.fiscal_year)?;
        kokuho_domain::tax::assessment::refuse_asset_levy(&rules.rules)?;
        let assessment = assess(input, &rules.rules)?;
        Ok((assessment, rules))
    }
}

/// Every household and person of a tenant folded from one pass over its ledger up to
/// `position`: what a batch job (the annual run, `rules diff`) computes 50,000 assessments from
/// without one query per household.
pub struct TaxSnapshot {
    pub position: i64,
    households: HashMap<Uuid, kokuho_domain::household::HouseholdState>,
    persons: HashMap<Uuid, kokuho_domain::person::PersonState>,
    /// Each household's tax of each year as issued (its `tax-<household>-<year>` stream).
    assessments: HashMap<(Uuid, i32), TaxState>,
}

impl TaxSnapshot {
    /// The household's year, as [`Ledger::tax_input`] gives it, from the snapshot.
    pub fn input(&self, household_id: Uuid, fiscal_year: i32) -> Result<HouseholdInput, TaxRejection> {
        let Some(household) = self.households.get(&household_id) else {
            return Err(TaxRejection::HouseholdNotFound { household_id });
        };
        household_input(household_id, household, &self.persons, fiscal_year)
    }

    /// Every household on file, by id.
    pub fn household_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.households.keys().copied().collect();
        ids.sort();
        ids
    }

    /// The tax of `household_id` for `fiscal_year` as issued, if assessed.
    pub fn assessment(&self, household_id: Uuid, fiscal_year: i32) -> Option<&TaxState> {
        self.assessments.get(&(household_id, fiscal_year)).filter(|state| state.current.is_some())
    }

    /// The households assessed for `fiscal_year`, by id.
    pub fn assessed_in(&self, fiscal_year: i32) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .assessments
            .iter()
            .filter(|((_, year), state)| *year == fiscal_year && state.current.is_some())
            .map(|((id, _), _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// The households `person_id` belongs or belonged to.
    pub fn households_of(&self, person_id: Uuid) -> Vec<Uuid> {
        self.households
            .iter()
            .filter(|(_, household)| household.memberships.iter().any(|m| m.person_id == person_id))
            .map(|(id, _)| *id)
            .collect()
    }
}

impl Ledger {
    /// Folds every person and household stream of `tenant` (personal parts decrypted) in one
    /// pass over its events.
    pub async fn tax_snapshot(&self, tenant: TenantCode) -> Result<TaxSnapshot, LedgerError> {
        let mut snapshot = TaxSnapshot {
            position: 0,
            households: HashMap::new(),
            persons: HashMap::new(),
            assessments: HashMap::new(),
        };
        loop {
            let page =
                self.store().read_page(tenant, snapshot.position, kokuho_store::PAGE_EVENTS_MAX, Decrypt::Yes).await?;
            let Some(last) = page.last() else { break };
            snapshot.position = last.position;
            for recorded in &page {
                if let Some(id) = recorded.stream_id.strip_prefix("person-") {
                    let Ok(id) = Uuid::parse_str(id) else { continue };
                    let state = snapshot.persons.remove(&id).unwrap_or_default();
                    snapshot.persons.insert(id, kokuho_domain::person::evolve(state, &crate::decode(recorded)?));
                } else if let Some(id) = recorded.stream_id.strip_prefix("household-") {
                    let Ok(id) = Uuid::parse_str(id) else { continue };
                    let state = snapshot.households.remove(&id).unwrap_or_default();
                    snapshot.households.insert(id, Household::evolve(state, &crate::decode(recorded)?));
                } else if let Some(rest) = recorded.stream_id.strip_prefix("tax-") {
                    // `tax-<household uuid>-<year>`: the uuid has hyphens, the year is last.
                    let Some((id, year)) = rest.rsplit_once('-') else { continue };
                    let (Ok(id), Ok(year)) = (Uuid::parse_str(id), year.parse::<i32>()) else { continue };
                    let state = snapshot.assessments.remove(&(id, year)).unwrap_or_default();
                    snapshot.assessments.insert((id, year), TaxAssessment::evolve(state, &crate::decode(recorded)?));
                }
            }
        }
        Ok(snapshot)
    }
}

impl Lookup for TaxAssessment {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        id: AssessmentId,
        state: &TaxState,
        command: &TaxCommand,
    ) -> Result<TaxLookups, LedgerError> {
        let today = jst_date(ledger.now());
        let rules = ledger.tax_rules(tenant, id.fiscal_year);
        // An assessed household asked to assess again decides nothing: no need to read it.
        let input = if matches!(command, TaxCommand::Assess) && state.current.is_some() {
            Err(TaxRejection::NotAssessed { fiscal_year: id.fiscal_year })
        } else {
            ledger.tax_input(tenant, id.household_id, id.fiscal_year, None).await?
        };
        Ok(TaxLookups { today, input, rules })
    }
}
