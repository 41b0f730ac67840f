//! The collection rules of a tenant and fiscal year: `collection_national.toml` and the city's `collection.toml`.

use kokuho_domain::collection::{CityCollection, CollectionRules, NationalCollection};
use kokuho_domain::TenantCode;

use crate::keys::line_of_dotted_key;
use crate::{RuleError, RuleSet, Rules, COLLECTION_FILE, COLLECTION_NATIONAL_FILE};

/// The collection rules of one tenant and fiscal year, checked, with the files they came from.
pub type CollectionRuleSet = RuleSet<CollectionRules>;

impl Rules {
    /// The collection rules of `tenant` for `fiscal_year`. Refused, naming the file, the line and
    /// the key where they can be told, when the tenant has no file for the year, a file does not
    /// parse or check, or the city's installments differ from its tax file's `[installments]`
    /// for the year (the assessment splits with those).
    pub fn collection(&self, tenant: TenantCode, fiscal_year: i32) -> Result<CollectionRuleSet, RuleError> {
        let (national_source, city_source) =
            self.area_files(COLLECTION_NATIONAL_FILE, COLLECTION_FILE, tenant, fiscal_year, "collection rules")?;
        let national: NationalCollection = national_source.parse_toml()?;
        let city: CityCollection = city_source.parse_toml()?;
        let rules = CollectionRules::new(national, city, &tenant.to_string(), fiscal_year).map_err(|error| {
            // Keys of the city file name that file; any other, the national one.
            let city_key = ["tenant", "fiscal_year", "ordinary", "special"]
                .iter()
                .any(|top| error.key == *top || error.key.starts_with(&format!("{top}.")));
            let source = if city_key { city_source } else { national_source };
            RuleError {
                line: line_of_dotted_key(&source.text, &error.key),
                key: Some(error.key),
                ..source.error(error.reason)
            }
        })?;
        if let Ok(tax) = self.tax(tenant, fiscal_year) {
            let installments = &tax.rules.city.installments;
            let ordinary = &rules.city.ordinary;
            if installments.months != ordinary.months || installments.unit != ordinary.unit {
                return Err(RuleError {
                    line: line_of_dotted_key(&city_source.text, "ordinary.months"),
                    key: Some("ordinary.months".to_owned()),
                    ..city_source.error(format!(
                        "ordinary.months and ordinary.unit must equal [installments] months and unit of {}, which \
                         the assessment splits with",
                        tax.file
                    ))
                });
            }
        }
        Ok(CollectionRuleSet {
            rules: std::sync::Arc::new(rules),
            file: city_source.name.clone(),
            sha256: city_source.sha256.clone(),
            national_sha256: national_source.sha256.clone(),
        })
    }

    /// Loads every tenant's collection file for its fiscal year (and so the national file), so a
    /// broken file stops startup rather than a decision.
    pub fn check_collection(&self) -> Result<(), RuleError> {
        self.check_each(COLLECTION_FILE, |tenant, year| self.collection(tenant, year).map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn kumagaya() -> TenantCode {
        TenantCode::parse("112020").unwrap()
    }

    #[test]
    fn the_collection_rules_of_a_tenant_and_year_load_and_a_bad_file_is_refused_naming_file_line_and_key() {
        let rules = Rules::shipped();
        rules.check_collection().unwrap();
        let set = rules.collection(kumagaya(), 2025).unwrap();
        assert_eq!(set.file, "112020/2025/collection.toml");
        assert_eq!(set.rules.city.ordinary.months, vec![7, 8, 9, 10, 11, 12, 1, 2]);
        assert_eq!(set.rules.national.reminder.days_after_due, 20);
        assert_eq!(set.rules.national.late_fee.year(2026).unwrap().after.to_string(), "9.1%");
        assert_eq!(set.national_sha256, hex::encode(Sha256::digest(shipped::COLLECTION_NATIONAL.as_bytes())));

        let missing = rules.collection(TenantCode::parse("112062").unwrap(), 2025).unwrap_err();
        assert_eq!(missing.file, "rules/112062/2025/collection.toml");
        assert!(missing.reason.contains("no collection rules"), "{missing}");

        // (file, from, to, the key named, why, the text on the line named)
        let national = COLLECTION_NATIONAL_FILE;
        let city = "112020/2025/collection.toml";
        let cases = [
            // A yearly rate above the statutory cap.
            (national, "after = \"9.1%\"", "after = \"15%\"", "late_fee.years[5].after", "cap_after", "after = "),
            // Years out of order.
            (national, "year = 2022", "year = 2020", "late_fee.years[1].year", "consecutive", "year = 2020"),
            // A holiday beyond the year the list says it covers.
            (
                national,
                "holidays_through = 2027",
                "holidays_through = 2026",
                "due_dates.holidays_through",
                "last holiday",
                "holidays_through",
            ),
            // A misspelt key.
            (national, "days_after_due = 20", "days_after = 20", "reminder.days_after", "unknown field", "days_after"),
            // A rate written as a number.
            (
                national,
                "within_month = \"2.4%\"",
                "within_month = 2.4",
                "late_fee.years.within_month",
                "percentage",
                "within_month",
            ),
            // Months out of fiscal order.
            (
                city,
                "months = [7, 8, 9, 10, 11, 12, 1, 2]",
                "months = [1, 7, 8, 9, 10, 11, 12, 2]",
                "ordinary.months",
                "fiscal order",
                "months = ",
            ),
            // A unit that is not a power of ten.
            (
                city,
                "unit = 100\nsource = \"8期",
                "unit = 50\nsource = \"8期",
                "ordinary.unit",
                "1, 10, 100 or 1000",
                "unit = 50",
            ),
            // The wrong year inside the file.
            (city, "fiscal_year = 2025", "fiscal_year = 2024", "fiscal_year", "must be the fiscal year", "fiscal_year"),
        ];
        for (name, from, to, key, why, shown) in cases {
            let original = Rules::shipped().file(name, Some(kumagaya()), Some(2025)).unwrap().text.clone();
            assert!(original.contains(from), "{from}");
            let text = original.replacen(from, to, 1);
            let path = format!("override/{name}");
            let mut rules = Rules::shipped();
            rules.insert(RuleSource::new(name, &path, text.clone())).unwrap();
            let error = rules.collection(kumagaya(), 2025).unwrap_err();
            assert_eq!(error.file, path, "{to}: {error}");
            assert!(error.key.as_deref().is_some_and(|k| k.starts_with(key)), "{to}: {error}");
            assert!(error.reason.contains(why), "{to}: {error}");
            let line = error.line.expect("a line");
            let on_line = text.lines().nth(line - 1).unwrap();
            assert!(on_line.trim_start().starts_with(shown), "{to}: line {line} is {on_line:?}");
        }

        // The city's installments must be the ones its tax file splits the assessment into.
        let mut rules = Rules::shipped();
        let text =
            shipped::KUMAGAYA_COLLECTION_2025.replacen("unit = 100\nsource = \"8期", "unit = 1000\nsource = \"8期", 1);
        rules.insert(RuleSource::new(city, "o/112020/2025/collection.toml", text)).unwrap();
        let error = rules.collection(kumagaya(), 2025).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("ordinary.months"), "{error}");
        assert!(error.reason.contains("112020/2025/tax.toml"), "{error}");
    }
}
