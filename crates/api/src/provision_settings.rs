//! The provision rules as data (architecture invariant 6), loaded once at startup through
//! `kokuho-rules` (see `rules/README.md`):
//!
//! - `rules/provision/management_numbers.json`: the allow-list of management numbers the city may
//!   inquire under, per purpose, and the rows it provides under (seed §I-5, docs/seed.md);
//! - `rules/provision/organisations.json`: the municipality's name and the section each staff
//!   role works in (seed §I-6, docs/seed.md), which the citizen's view shows instead of the staff member.
//!
//! The files shipped with this build are compiled in; an operator replaces them without a
//! rebuild through the rules override folder (`KOKUHO_RULES_DIR`, `provision/` in it) or, as
//! before, `KOKUHO_PROVISION_RULES_DIR` naming a folder that holds both
//! ([`ProvisionSettings::overlay_folder`]). A file that does not parse or check stops startup
//! rather than letting a request find out.

use std::collections::BTreeMap;
use std::path::Path;

use kokuho_auth::{Purpose, Role};
use kokuho_domain::provision::AllowList;
use kokuho_domain::TenantCode;
use kokuho_rules::{RuleError, RuleSource, Rules};
use serde::Deserialize;

/// The file names in a `KOKUHO_PROVISION_RULES_DIR` folder.
pub const MANAGEMENT_NUMBERS_FILE: &str = "management_numbers.json";
pub const ORGANISATIONS_FILE: &str = "organisations.json";
#[cfg(test)]
const SHIPPED_MANAGEMENT_NUMBERS: &str = kokuho_rules::shipped::MANAGEMENT_NUMBERS;
#[cfg(test)]
const SHIPPED_ORGANISATIONS: &str = kokuho_rules::shipped::ORGANISATIONS;
/// The key of the section that answers provision requests, next to the role names.
const PROVISION_SECTION: &str = "provision";

/// A provision rule file that cannot be used (the file, the line and key when known, why).
pub type ProvisionSettingsError = RuleError;

/// What the provision and citizen endpoints need from the rule files.
#[derive(Debug, Clone)]
pub struct ProvisionSettings {
    pub allow_list: AllowList,
    pub organisations: Organisations,
}

/// Names the citizen's view shows for this municipality's side of each entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisations {
    pub source: String,
    /// Section per role name (and `provision`), for municipalities that list none of their own.
    pub default_sections: BTreeMap<String, String>,
    pub municipalities: Vec<Municipality>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    pub tenant: String,
    pub name: String,
    pub sections: BTreeMap<String, String>,
}

impl Organisations {
    fn check(&self) -> Result<(), String> {
        let known = |key: &str| key == PROVISION_SECTION || key.parse::<Role>().is_ok();
        for role in Role::ALL {
            if !self.default_sections.contains_key(role.as_str()) {
                return Err(format!("default_sections has no section for the role {role}"));
            }
        }
        if !self.default_sections.contains_key(PROVISION_SECTION) {
            return Err("default_sections has no `provision` section".into());
        }
        let sections = self.municipalities.iter().flat_map(|m| m.sections.keys()).chain(self.default_sections.keys());
        if let Some(unknown) = sections.into_iter().find(|key| !known(key)) {
            return Err(format!("{unknown:?} is neither a role nor `provision`"));
        }
        if let Some(bad) = self.municipalities.iter().find(|m| TenantCode::parse(&m.tenant).is_err()) {
            return Err(format!("{:?} is not a local government code", bad.tenant));
        }
        Ok(())
    }

    fn of(&self, tenant: TenantCode) -> Option<&Municipality> {
        let code = tenant.to_string();
        self.municipalities.iter().find(|m| m.tenant == code)
    }

    /// The municipality's name, or its code when the file does not name it.
    pub fn municipality(&self, tenant: TenantCode) -> String {
        self.of(tenant).map_or_else(|| format!("地方公共団体 {tenant}"), |m| m.name.clone())
    }

    /// The section a role works in (never the staff member).
    pub fn section_of_role(&self, tenant: TenantCode, role: &str) -> String {
        self.section(tenant, role)
    }

    /// The section that answers provision requests.
    pub fn provision_section(&self, tenant: TenantCode) -> String {
        self.section(tenant, PROVISION_SECTION)
    }

    fn section(&self, tenant: TenantCode, key: &str) -> String {
        self.of(tenant)
            .and_then(|m| m.sections.get(key))
            .or_else(|| self.default_sections.get(key))
            .cloned()
            // A role recorded by an older build and since renamed: still no one's name.
            .unwrap_or_else(|| self.default_sections[PROVISION_SECTION].clone())
    }
}

impl ProvisionSettings {
    /// The rule files compiled into this build.
    pub fn shipped() -> Result<ProvisionSettings, ProvisionSettingsError> {
        Self::from_rules(&Rules::shipped())
    }

    /// The provision files in force in `rules` (national files: `organisations.json` lists the
    /// municipalities inside).
    pub fn from_rules(rules: &Rules) -> Result<ProvisionSettings, ProvisionSettingsError> {
        Self::from_sources(
            rules.file(kokuho_rules::MANAGEMENT_NUMBERS_FILE, None, None)?,
            rules.file(kokuho_rules::ORGANISATIONS_FILE, None, None)?,
        )
    }

    /// Puts the provision files of `dir` in force in `rules`: the folder
    /// `KOKUHO_PROVISION_RULES_DIR` names, which must hold both files (the older way to replace
    /// them; `provision/` in the rules override folder does the same).
    pub fn overlay_folder(rules: &mut Rules, dir: &Path) -> Result<(), ProvisionSettingsError> {
        let numbers = RuleSource::read(kokuho_rules::MANAGEMENT_NUMBERS_FILE, &dir.join(MANAGEMENT_NUMBERS_FILE))?;
        let organisations = RuleSource::read(kokuho_rules::ORGANISATIONS_FILE, &dir.join(ORGANISATIONS_FILE))?;
        rules.insert(numbers)?;
        rules.insert(organisations)
    }

    /// The rule files in `dir` (holding both), or the shipped ones when `None`.
    pub fn load(dir: Option<&Path>) -> Result<ProvisionSettings, ProvisionSettingsError> {
        let mut rules = Rules::shipped();
        if let Some(dir) = dir {
            Self::overlay_folder(&mut rules, dir)?;
        }
        Self::from_rules(&rules)
    }

    /// The two files' texts (errors name them by their file names).
    pub fn parse(management_numbers: &str, organisations: &str) -> Result<ProvisionSettings, ProvisionSettingsError> {
        Self::from_sources(
            &RuleSource::new(kokuho_rules::MANAGEMENT_NUMBERS_FILE, MANAGEMENT_NUMBERS_FILE, management_numbers),
            &RuleSource::new(kokuho_rules::ORGANISATIONS_FILE, ORGANISATIONS_FILE, organisations),
        )
    }

    fn from_sources(
        management_numbers: &RuleSource,
        organisations: &RuleSource,
    ) -> Result<ProvisionSettings, ProvisionSettingsError> {
        let mut allow_list: AllowList = management_numbers.parse_json()?;
        allow_list.check().map_err(|reason| management_numbers.error(reason))?;
        for number in &allow_list.inquiries {
            if let Some(unknown) = number.purposes.iter().find(|purpose| purpose.parse::<Purpose>().is_err()) {
                return Err(management_numbers
                    .error(format!("management number {}: {unknown:?} is not a purpose", number.management_number)));
            }
        }
        // Recorded in every decision event, so a decision can be traced to the list it used.
        allow_list.sha256 = management_numbers.sha256.clone();
        let parsed: Organisations = organisations.parse_json()?;
        parsed.check().map_err(|reason| organisations.error(reason))?;
        Ok(ProvisionSettings { allow_list, organisations: parsed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_load_and_name_kumagayas_sections() {
        let settings = ProvisionSettings::shipped().unwrap();
        assert_eq!(settings.allow_list.sha256.len(), 64);
        let kumagaya = TenantCode::parse("112020").unwrap();
        assert_eq!(settings.organisations.municipality(kumagaya), "熊谷市");
        assert_eq!(settings.organisations.section_of_role(kumagaya, "eligibility_clerk"), "市民部 保険年金課");
        assert_eq!(settings.organisations.section_of_role(kumagaya, "collection_clerk"), "総務部 納税課");
        let gyoda = TenantCode::parse("112062").unwrap();
        assert_eq!(settings.organisations.municipality(gyoda), "地方公共団体 112062");
        assert_eq!(settings.organisations.provision_section(gyoda), "国民健康保険担当課");
    }

    #[test]
    fn an_operators_folder_replaces_the_shipped_rules() {
        let dir = std::env::temp_dir().join(format!("kokuho-provision-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = ProvisionSettings::load(Some(&dir)).unwrap_err();
        assert!(missing.file.ends_with(MANAGEMENT_NUMBERS_FILE), "{missing}");
        let fewer = SHIPPED_MANAGEMENT_NUMBERS.replacen("\"benefits\",\n        \"collection\"", "\"benefits\"", 1);
        assert_ne!(fewer, SHIPPED_MANAGEMENT_NUMBERS, "the edit applies");
        std::fs::write(dir.join(MANAGEMENT_NUMBERS_FILE), &fewer).unwrap();
        std::fs::write(dir.join(ORGANISATIONS_FILE), SHIPPED_ORGANISATIONS).unwrap();
        let loaded = ProvisionSettings::load(Some(&dir)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(loaded.allow_list.inquiry("69").unwrap().purposes, ["benefits"]);
        assert_ne!(
            loaded.allow_list.sha256,
            ProvisionSettings::shipped().unwrap().allow_list.sha256,
            "the hash names the file used"
        );
    }

    #[test]
    fn a_rule_file_that_names_an_unknown_purpose_or_role_is_refused() {
        let numbers = SHIPPED_MANAGEMENT_NUMBERS.replacen("\"benefits\"", "\"marketing\"", 1);
        let error = ProvisionSettings::parse(&numbers, SHIPPED_ORGANISATIONS).unwrap_err();
        assert!(error.to_string().contains("\"marketing\" is not a purpose"), "{error}");
        let organisations = SHIPPED_ORGANISATIONS.replacen("\"tax_clerk\"", "\"janitor\"", 1);
        let error = ProvisionSettings::parse(SHIPPED_MANAGEMENT_NUMBERS, &organisations).unwrap_err();
        assert!(error.to_string().starts_with("organisations.json"), "{error}");
    }
}
