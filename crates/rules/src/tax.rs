//! The NHI tax rules of a tenant and fiscal year: `tax_national.toml` and the city's `tax.toml`.

use kokuho_domain::tax::{CityRates, NationalTax, TaxRules};
use kokuho_domain::TenantCode;

use crate::{RuleError, RuleSet, Rules, TAX_FILE, TAX_NATIONAL_FILE};

/// The tax rules of one tenant and fiscal year: the statutory figures and the city's rates,
/// checked against each other, with the files they came from.
pub type TaxRuleSet = RuleSet<TaxRules>;

impl Rules {
    /// The tax rules of `tenant` for `fiscal_year`. Refused, naming the file, the key and the
    /// reason, when the tenant has no rates for the year or a file does not parse or check.
    pub fn tax(&self, tenant: TenantCode, fiscal_year: i32) -> Result<TaxRuleSet, RuleError> {
        let (national_source, city_source) =
            self.area_files(TAX_NATIONAL_FILE, TAX_FILE, tenant, fiscal_year, "NHI tax rates")?;
        let national: NationalTax = national_source.parse_toml()?;
        let city: CityRates = city_source.parse_toml()?;
        let rules = TaxRules::new(&national, city, &tenant.to_string(), fiscal_year).map_err(|error| {
            // A statutory year's fault names the national file; any other, the city's.
            let source = if error.key.starts_with("years") { national_source } else { city_source };
            let line = source.text.lines().position(|line| {
                let key = error.key.rsplit('.').next().unwrap_or(&error.key);
                line.trim_start().starts_with(key) || line.trim() == format!("[{}]", error.key)
            });
            RuleError { line: line.map(|line| line + 1), key: Some(error.key), ..source.error(error.reason) }
        })?;
        Ok(TaxRuleSet {
            rules: std::sync::Arc::new(rules),
            file: city_source.name.clone(),
            sha256: city_source.sha256.clone(),
            national_sha256: national_source.sha256.clone(),
        })
    }

    /// Loads every tenant's tax file for its fiscal year, so a broken file stops startup rather
    /// than an assessment.
    pub fn check_tax(&self) -> Result<(), RuleError> {
        self.check_each(TAX_FILE, |tenant, year| self.tax(tenant, year).map(drop))
    }

    /// The fiscal years `tenant` has tax rates for (its `<tenant>/<year>/tax.toml` files).
    pub fn tax_years(&self, tenant: TenantCode) -> Vec<i32> {
        let prefix = format!("{tenant}/");
        self.files
            .keys()
            .filter_map(|name| name.strip_prefix(&prefix)?.strip_suffix(&format!("/{TAX_FILE}"))?.parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn kumagaya() -> TenantCode {
        TenantCode::parse("112020").unwrap()
    }

    #[test]
    fn the_tax_rules_of_a_tenant_and_year_load_and_a_bad_file_is_refused_naming_file_key_and_reason() {
        let rules = Rules::shipped();
        let set = rules.tax(kumagaya(), 2024).unwrap();
        assert_eq!(set.file, "112020/2024/tax.toml");
        assert_eq!(set.rules.city.medical.income_rate.to_string(), "6.92%");
        assert_eq!(set.rules.national.limits.support, 240_000);
        assert_eq!(rules.tax_years(kumagaya()), vec![2024, 2025, 2026]);
        assert!(rules.tax(kumagaya(), 2026).unwrap().rules.city.child_support.is_some());

        let missing = rules.tax(TenantCode::parse("112062").unwrap(), 2024).unwrap_err();
        assert_eq!(missing.file, "rules/112062/2024/tax.toml");
        assert!(missing.reason.contains("no NHI tax rates"), "{missing}");

        let cases = [
            // A limit above the statutory one.
            ("limit = 650000", "limit = 700000", "medical.limit", "statutory limit"),
            // A rate written as a float.
            ("income_rate = \"6.92%\"", "income_rate = 6.92", "medical.income_rate", "percentage written as a string"),
            // A misspelt key.
            ("per_capita = 31500", "per_capta = 31500", "medical", "unknown field"),
            // The wrong year inside the file.
            ("fiscal_year = 2024", "fiscal_year = 2023", "fiscal_year", "must be the fiscal year"),
        ];
        for (from, to, key, why) in cases {
            let mut rules = Rules::shipped();
            let text = shipped::KUMAGAYA_TAX_2024.replacen(from, to, 1);
            rules.insert(RuleSource::new("112020/2024/tax.toml", "override/112020/2024/tax.toml", text)).unwrap();
            let error = rules.tax(kumagaya(), 2024).unwrap_err();
            assert_eq!(error.file, "override/112020/2024/tax.toml", "{error}");
            assert!(error.key.as_deref().is_some_and(|k| k.starts_with(key)), "{to}: {error}");
            assert!(error.reason.contains(why), "{to}: {error}");
            assert!(error.line.is_some(), "{to}: {error}");
        }
        // A child-support part before FY2026 is refused.
        let mut rules = Rules::shipped();
        let text = shipped::KUMAGAYA_TAX_2026.replace("fiscal_year = 2026", "fiscal_year = 2025");
        rules.insert(RuleSource::new("112020/2025/tax.toml", "o/112020/2025/tax.toml", text)).unwrap();
        let error = rules.tax(kumagaya(), 2025).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("child_support"), "{error}");
    }
}
