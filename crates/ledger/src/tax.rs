//! What tax decisions look up: the rules of a tenant's fiscal year (loaded once, kept), and the
//! household of the year folded from its stream and its members' (decrypted: incomes and dates
//! of birth are personal). The calculation itself is `kokuho_domain::tax`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use kokuho_domain::household::Household;
use kokuho_domain::person::Person;
use kokuho_domain::tax::calc::{assess, Assessment, HouseholdInput};
use kokuho_domain::tax::input::{household_input, members_in_year};
use kokuho_domain::tax::{AssessmentId, LoadedTaxRules, TaxAssessment, TaxCommand, TaxLookups, TaxRejection, TaxState};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_rules::Rules;
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::lookups::Lookup;
use crate::{jst_date, Ledger, LedgerError};

/// The tax rule files in force and the rules of each (tenant, fiscal year) once loaded: a file
/// is parsed and checked once per process (the rule files are read when kokuho starts).
pub struct TaxRulesCache {
    rules: Rules,
    loaded: Mutex<HashMap<(TenantCode, i32), Result<LoadedTaxRules, TaxRejection>>>,
}

impl TaxRulesCache {
    pub fn new(rules: Rules) -> TaxRulesCache {
        TaxRulesCache { rules, loaded: Mutex::new(HashMap::new()) }
    }

    fn get(&self, tenant: TenantCode, fiscal_year: i32) -> Result<LoadedTaxRules, TaxRejection> {
        let mut loaded = self.loaded.lock().expect("tax rules cache lock");
        loaded
            .entry((tenant, fiscal_year))
            .or_insert_with(|| {
                self.rules
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
    pub fn tax_rule_files(&self) -> &Rules {
        &self.tax_rules.rules
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
        let mut persons = BTreeMap::new();
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
        let assessment = assess(input, &rules.rules)?;
        Ok((assessment, rules))
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
