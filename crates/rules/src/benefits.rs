//! The benefit rules of a tenant and fiscal year: `benefits_national.toml` and the city's `benefits.toml`.

use kokuho_domain::benefits::{BenefitRules, CityBenefits, NationalBenefits};
use kokuho_domain::TenantCode;

use crate::keys::line_of_dotted_key;
use crate::{RuleError, RuleSet, Rules, BENEFITS_FILE, BENEFITS_NATIONAL_FILE};

/// The benefit rules of one tenant and fiscal year: every statutory period and the city's
/// amounts, checked, with the files they came from.
pub type BenefitRuleSet = RuleSet<BenefitRules>;

impl Rules {
    /// The benefit rules of `tenant` for `fiscal_year`. Refused, naming the file, the line and
    /// the key where they can be told, when the tenant has no file for the year or a file does not
    /// parse or check.
    pub fn benefits(&self, tenant: TenantCode, fiscal_year: i32) -> Result<BenefitRuleSet, RuleError> {
        let (national_source, city_source) =
            self.area_files(BENEFITS_NATIONAL_FILE, BENEFITS_FILE, tenant, fiscal_year, "benefit amounts")?;
        let national: NationalBenefits = national_source.parse_toml()?;
        let city: CityBenefits = city_source.parse_toml()?;
        let rules = BenefitRules::new(national, city, &tenant.to_string(), fiscal_year).map_err(|error| {
            // A key of the city file (tenant, fiscal_year, funeral.amount) names that file; any
            // other, the national one.
            let city_key = ["tenant", "fiscal_year", "funeral.amount"].contains(&error.key.as_str());
            let source = if city_key { city_source } else { national_source };
            RuleError {
                line: line_of_dotted_key(&source.text, &error.key),
                key: Some(error.key),
                ..source.error(error.reason)
            }
        })?;
        Ok(BenefitRuleSet {
            rules: std::sync::Arc::new(rules),
            file: city_source.name.clone(),
            sha256: city_source.sha256.clone(),
            national_sha256: national_source.sha256.clone(),
        })
    }

    /// Loads every tenant's benefit file for its fiscal year (and so the national file), so a
    /// broken file stops startup rather than a decision.
    pub fn check_benefits(&self) -> Result<(), RuleError> {
        self.check_each(BENEFITS_FILE, |tenant, year| self.benefits(tenant, year).map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn kumagaya() -> TenantCode {
        TenantCode::parse("112020").unwrap()
    }

    #[test]
    fn the_benefit_rules_of_a_tenant_and_year_load_and_a_bad_file_is_refused_naming_file_line_and_key() {
        let rules = Rules::shipped();
        rules.check_benefits().unwrap();
        let set = rules.benefits(kumagaya(), 2025).unwrap();
        assert_eq!(set.file, "112020/2025/benefits.toml");
        assert_eq!(set.rules.city.funeral.amount, 50_000);
        assert_eq!(set.national_sha256, hex::encode(Sha256::digest(shipped::BENEFITS_NATIONAL.as_bytes())));
        let period = set.rules.high_cost_on(chrono_date(2024, 10, 1)).unwrap();
        assert_eq!((period.under_70.u.base, period.elderly.outpatient_general), (80_100, 18_000));
        assert_eq!(set.rules.childbirth_on(chrono_date(2024, 6, 1)).unwrap().amount, 500_000);

        let missing = rules.benefits(TenantCode::parse("112062").unwrap(), 2024).unwrap_err();
        assert_eq!(missing.file, "rules/112062/2024/benefits.toml");
        assert!(missing.reason.contains("no benefit amounts"), "{missing}");

        // (file, from, to, the key named, why)
        let national = BENEFITS_NATIONAL_FILE;
        let city = "112020/2024/benefits.toml";
        let cases = [
            // An odd amount cannot be halved in the month of turning 75 (the second period).
            (
                national,
                "general = { base = 57600, many_times = 44400 }\nlow_2",
                "general = { base = 57601, many_times = 44400 }\nlow_2",
                "high_cost[0].elderly.general.base",
                "even",
            ),
            // A misspelt key.
            (
                national,
                "outpatient_low = 8000",
                "outpatient_lo = 8000",
                "high_cost.elderly.outpatient_lo",
                "unknown field",
            ),
            // Classes out of order.
            (national, "i_over = 6000000", "i_over = 1000000", "high_cost[0].under_70_classes", "must rise"),
            // A bare number where a fraction is expected.
            (national, "excess_rate = \"1/100\"", "excess_rate = 0.01", "high_cost.excess_rate", "fraction"),
            // The wrong year inside the city file.
            // Periods out of order.
            (national, "from = \"2026-08-01\"", "from = \"2018-07-01\"", "high_cost", "ascending"),
            (city, "fiscal_year = 2024", "fiscal_year = 2023", "fiscal_year", "must be the fiscal year"),
            (city, "amount = 50000", "amount = -1", "funeral.amount", "amount of yen"),
        ];
        for (name, from, to, key, why) in cases {
            let mut rules = Rules::shipped();
            let original = &rules.file(name, None, None).map(|f| f.text.clone()).unwrap_or_default();
            let original = if name == city { shipped::KUMAGAYA_BENEFITS_2024.to_owned() } else { original.clone() };
            assert!(original.contains(from), "{from}");
            let text = original.replacen(from, to, 1);
            let path = format!("override/{name}");
            rules.insert(RuleSource::new(name, &path, text.clone())).unwrap();
            let error = rules.benefits(kumagaya(), 2024).unwrap_err();
            assert_eq!(error.file, path, "{to}: {error}");
            assert_eq!(error.key.as_deref(), Some(key), "{to}: {error}");
            assert!(error.reason.contains(why), "{to}: {error}");
            let line = error.line.expect("a line");
            let changed = to.split('\n').next().unwrap();
            let shown = text.lines().nth(line - 1).unwrap();
            assert!(
                shown.contains(changed.split(' ').next().unwrap())
                    || (key.ends_with("under_70_classes") && shown.contains("under_70_classes"))
                    || (key == "high_cost" && shown == "[[high_cost]]"),
                "{to}: line {line} is {shown:?}"
            );
        }
    }

    fn chrono_date(year: i32, month: u32, day: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }
}
