//! The provision rules as data (architecture invariant 6), loaded once at startup:
//!
//! - `projections/rules/provision/management_numbers.json`: the allow-list of management numbers
//!   the city may inquire under, per purpose, and the rows it provides under (seed §I-5, docs/seed.md);
//! - `projections/rules/provision/organisations.json`: the municipality's name and the section
//!   each staff role works in (seed §I-6, docs/seed.md), which the citizen's view shows instead of the staff
//!   member.
//!
//! The files shipped with this build are compiled in; an operator points
//! `KOKUHO_PROVISION_RULES_DIR` at a folder holding both to use others without a rebuild. A
//! file that does not parse or check stops startup rather than letting a request find out.

use std::collections::BTreeMap;
use std::path::Path;

use kokuho_auth::{Purpose, Role};
use kokuho_domain::provision::AllowList;
use kokuho_domain::TenantCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const MANAGEMENT_NUMBERS_FILE: &str = "management_numbers.json";
pub const ORGANISATIONS_FILE: &str = "organisations.json";
const SHIPPED_MANAGEMENT_NUMBERS: &str = include_str!("../../../projections/rules/provision/management_numbers.json");
const SHIPPED_ORGANISATIONS: &str = include_str!("../../../projections/rules/provision/organisations.json");
/// The key of the section that answers provision requests, next to the role names.
const PROVISION_SECTION: &str = "provision";

#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ProvisionSettingsError {
    pub file: String,
    pub reason: String,
}

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
        Self::parse(SHIPPED_MANAGEMENT_NUMBERS, SHIPPED_ORGANISATIONS)
    }

    /// The rule files in `dir`, or the shipped ones when `None`.
    pub fn load(dir: Option<&Path>) -> Result<ProvisionSettings, ProvisionSettingsError> {
        let Some(dir) = dir else { return Self::shipped() };
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|error| ProvisionSettingsError { file: path.display().to_string(), reason: error.to_string() })
        };
        Self::parse(&read(MANAGEMENT_NUMBERS_FILE)?, &read(ORGANISATIONS_FILE)?)
    }

    pub fn parse(management_numbers: &str, organisations: &str) -> Result<ProvisionSettings, ProvisionSettingsError> {
        fn failed(file: &'static str) -> impl Fn(String) -> ProvisionSettingsError {
            move |reason| ProvisionSettingsError { file: file.to_owned(), reason }
        }
        let mut allow_list: AllowList = serde_json::from_str(management_numbers)
            .map_err(|error| failed(MANAGEMENT_NUMBERS_FILE)(error.to_string()))?;
        allow_list.check().map_err(failed(MANAGEMENT_NUMBERS_FILE))?;
        for number in &allow_list.inquiries {
            if let Some(unknown) = number.purposes.iter().find(|purpose| purpose.parse::<Purpose>().is_err()) {
                return Err(failed(MANAGEMENT_NUMBERS_FILE)(format!(
                    "management number {}: {unknown:?} is not a purpose",
                    number.management_number
                )));
            }
        }
        // Recorded in every decision event, so a decision can be traced to the list it used.
        allow_list.sha256 = hex::encode(Sha256::digest(management_numbers.as_bytes()));
        let organisations: Organisations =
            serde_json::from_str(organisations).map_err(|error| failed(ORGANISATIONS_FILE)(error.to_string()))?;
        organisations.check().map_err(failed(ORGANISATIONS_FILE))?;
        Ok(ProvisionSettings { allow_list, organisations })
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
