//! The one loader of rule files (architecture invariant 6: rules are data).
//!
//! The files under `rules/` at the top of the repository are compiled into the build
//! ([`shipped`]). An operator replaces any of them without a rebuild by putting a file at the same
//! path in an override folder (`kokuho --rules-dir DIR`, or `KOKUHO_RULES_DIR`): [`Rules::load`].
//!
//! # Layout
//!
//! A file's path under `rules/` (or under the override folder) says whom it applies to:
//!
//! - `<file>`: the national default, e.g. `eligibility.toml`, `provision/organisations.json`;
//! - `<tenant code>/<file>`: one municipality's own, e.g. `112020/tax.toml`;
//! - `<tenant code>/<fiscal year>/<file>`: a municipality's for one fiscal year, e.g.
//!   `112020/2025/tax.toml`.
//!
//! [`Rules::file`] looks a file up most specific first: the tenant's for the fiscal year, then the
//! tenant's, then the national default. Only the files listed in [`FILES`] are read, and only
//! those marked per tenant may be given per tenant: a file nothing would read is refused when the
//! rules load rather than silently ignored.
//!
//! Every file carries the SHA-256 (hex) of its bytes ([`RuleSource::sha256`]), which the events
//! decided under it record. A file that does not parse is refused with a [`RuleError`] naming the
//! file, the line and the key where they can be told.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use kokuho_domain::benefits::{BenefitRules, CityBenefits, NationalBenefits};
use kokuho_domain::collection::{CityCollection, CollectionRules, NationalCollection};
use kokuho_domain::tax::{CityRates, NationalTax, TaxRules};
use kokuho_domain::TenantCode;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// A TOML value with the byte range it was read from, for checks that name the line at fault
/// ([`RuleSource::error_at`]).
pub use toml::Spanned;

/// The rule files shipped with this build, compiled in from `rules/`.
pub mod shipped {
    pub const ELIGIBILITY: &str = include_str!("../../../rules/eligibility.toml");
    pub const RETENTION: &str = include_str!("../../../rules/retention.toml");
    pub const MANAGEMENT_NUMBERS: &str = include_str!("../../../rules/provision/management_numbers.json");
    pub const ORGANISATIONS: &str = include_str!("../../../rules/provision/organisations.json");
    pub const TAX_NATIONAL: &str = include_str!("../../../rules/tax_national.toml");
    pub const KUMAGAYA_TAX_2024: &str = include_str!("../../../rules/112020/2024/tax.toml");
    pub const KUMAGAYA_TAX_2025: &str = include_str!("../../../rules/112020/2025/tax.toml");
    pub const KUMAGAYA_TAX_2026: &str = include_str!("../../../rules/112020/2026/tax.toml");
    pub const BENEFITS_NATIONAL: &str = include_str!("../../../rules/benefits_national.toml");
    pub const KUMAGAYA_BENEFITS_2024: &str = include_str!("../../../rules/112020/2024/benefits.toml");
    pub const KUMAGAYA_BENEFITS_2025: &str = include_str!("../../../rules/112020/2025/benefits.toml");
    pub const KUMAGAYA_BENEFITS_2026: &str = include_str!("../../../rules/112020/2026/benefits.toml");
    pub const COLLECTION_NATIONAL: &str = include_str!("../../../rules/collection_national.toml");
    pub const KUMAGAYA_COLLECTION_2024: &str = include_str!("../../../rules/112020/2024/collection.toml");
    pub const KUMAGAYA_COLLECTION_2025: &str = include_str!("../../../rules/112020/2025/collection.toml");
    pub const KUMAGAYA_COLLECTION_2026: &str = include_str!("../../../rules/112020/2026/collection.toml");

    /// Every shipped file: (path under `rules/`, text). A test holds it equal to the folder.
    pub const ALL: &[(&str, &str)] = &[
        (super::ELIGIBILITY_FILE, ELIGIBILITY),
        (super::RETENTION_FILE, RETENTION),
        (super::MANAGEMENT_NUMBERS_FILE, MANAGEMENT_NUMBERS),
        (super::ORGANISATIONS_FILE, ORGANISATIONS),
        (super::TAX_NATIONAL_FILE, TAX_NATIONAL),
        ("112020/2024/tax.toml", KUMAGAYA_TAX_2024),
        ("112020/2025/tax.toml", KUMAGAYA_TAX_2025),
        ("112020/2026/tax.toml", KUMAGAYA_TAX_2026),
        (super::BENEFITS_NATIONAL_FILE, BENEFITS_NATIONAL),
        ("112020/2024/benefits.toml", KUMAGAYA_BENEFITS_2024),
        ("112020/2025/benefits.toml", KUMAGAYA_BENEFITS_2025),
        ("112020/2026/benefits.toml", KUMAGAYA_BENEFITS_2026),
        (super::COLLECTION_NATIONAL_FILE, COLLECTION_NATIONAL),
        ("112020/2024/collection.toml", KUMAGAYA_COLLECTION_2024),
        ("112020/2025/collection.toml", KUMAGAYA_COLLECTION_2025),
        ("112020/2026/collection.toml", KUMAGAYA_COLLECTION_2026),
    ];
}

/// The eligibility and cost-share settings (`kokuho_domain::eligibility::EligibilityRules`).
pub const ELIGIBILITY_FILE: &str = "eligibility.toml";
/// The retention periods per kind of record (`kokuho retention run`).
pub const RETENTION_FILE: &str = "retention.toml";
/// The provision allow-list (`kokuho_domain::provision::AllowList`).
pub const MANAGEMENT_NUMBERS_FILE: &str = "provision/management_numbers.json";
/// The names the citizen's view shows for the municipality's side.
pub const ORGANISATIONS_FILE: &str = "provision/organisations.json";

/// The statutory NHI tax figures of each fiscal year (`kokuho_domain::tax::NationalTax`).
pub const TAX_NATIONAL_FILE: &str = "tax_national.toml";
/// A municipality's NHI tax rates for one fiscal year (`kokuho_domain::tax::CityRates`), only
/// per tenant: `<tenant>/<year>/tax.toml` (or `<tenant>/tax.toml` for every year).
pub const TAX_FILE: &str = "tax.toml";

/// The statutory benefit figures by effective date (`kokuho_domain::benefits::NationalBenefits`).
pub const BENEFITS_NATIONAL_FILE: &str = "benefits_national.toml";
/// A municipality's own benefit amounts for one fiscal year (`kokuho_domain::benefits::CityBenefits`),
/// only per tenant: `<tenant>/<year>/benefits.toml` (or `<tenant>/benefits.toml` for every year).
pub const BENEFITS_FILE: &str = "benefits.toml";

/// The national collection figures: the due-date calendar, the reminder deadline, the late-fee
/// rates, pension withholding (`kokuho_domain::collection::NationalCollection`).
pub const COLLECTION_NATIONAL_FILE: &str = "collection_national.toml";
/// A municipality's installments for one fiscal year (`kokuho_domain::collection::CityCollection`),
/// only per tenant: `<tenant>/<year>/collection.toml` (or `<tenant>/collection.toml`).
pub const COLLECTION_FILE: &str = "collection.toml";

/// How errors name a shipped file: its path in the repository.
pub const SHIPPED_DIR: &str = "rules";

/// A rule file kokuho reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleFile {
    /// Its path under `rules/` at the national level.
    pub name: &'static str,
    /// Whether it is looked up per tenant and fiscal year (`<tenant>/<year>/<name>`,
    /// `<tenant>/<name>`); otherwise only the national file is read.
    pub per_tenant: bool,
}

/// Every rule file kokuho reads. A new kind of rule file is added here (and, when it has a
/// national default, to [`shipped::ALL`]).
pub const FILES: &[RuleFile] = &[
    RuleFile { name: ELIGIBILITY_FILE, per_tenant: false },
    RuleFile { name: RETENTION_FILE, per_tenant: false },
    RuleFile { name: MANAGEMENT_NUMBERS_FILE, per_tenant: false },
    // Per-municipality names are listed inside the one file.
    RuleFile { name: ORGANISATIONS_FILE, per_tenant: false },
    RuleFile { name: TAX_NATIONAL_FILE, per_tenant: false },
    RuleFile { name: TAX_FILE, per_tenant: true },
    RuleFile { name: BENEFITS_NATIONAL_FILE, per_tenant: false },
    RuleFile { name: BENEFITS_FILE, per_tenant: true },
    RuleFile { name: COLLECTION_NATIONAL_FILE, per_tenant: false },
    RuleFile { name: COLLECTION_FILE, per_tenant: true },
];

/// A rule file that cannot be used: which file, where in it when that can be told, and why.
///
/// Shown as `rules/eligibility.toml, line 12, key `notification_deadline_days`: invalid type:
/// string "14", expected u32`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file: `rules/<path>` for a shipped file, else the path it was read from.
    pub file: String,
    /// 1-based.
    pub line: Option<usize>,
    /// The key at fault, dotted from the top of the file (`elderly.basic_deduction`).
    pub key: Option<String>,
    pub reason: String,
}

impl RuleError {
    pub fn new(file: impl Into<String>, reason: impl Into<String>) -> RuleError {
        RuleError { file: file.into(), line: None, key: None, reason: reason.into() }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RuleError {}

/// One rule file's text, where it came from, and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// Its path in the rules tree: `eligibility.toml`, `112020/2025/tax.toml`.
    pub name: String,
    /// Where it was read from, as errors name it: `rules/eligibility.toml` for a shipped file,
    /// else the file's path.
    pub path: String,
    pub text: String,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
    /// Compiled into this build (not replaced by an override).
    pub shipped: bool,
}

impl RuleSource {
    /// A rule file held in memory; `path` names it in errors.
    pub fn new(name: &str, path: &str, text: impl Into<String>) -> RuleSource {
        let text = text.into();
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        RuleSource { name: name.to_owned(), path: path.to_owned(), text, sha256, shipped: false }
    }

    fn shipped(name: &str, text: &str) -> RuleSource {
        RuleSource { shipped: true, ..RuleSource::new(name, &format!("{SHIPPED_DIR}/{name}"), text) }
    }

    /// The file at `file`, to be used as the rule file `name`.
    pub fn read(name: &str, file: &Path) -> Result<RuleSource, RuleError> {
        let path = file.display().to_string();
        let bytes = std::fs::read(file).map_err(|io| RuleError::new(&path, format!("cannot be read: {io}")))?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let line = line_of(&String::from_utf8_lossy(error.as_bytes()), error.utf8_error().valid_up_to());
            RuleError { line: Some(line), ..RuleError::new(&path, "is not UTF-8 text") }
        })?;
        Ok(RuleSource::new(name, &path, text))
    }

    /// Where the file came from, for summaries: `built-in rules/retention.toml` or its path.
    pub fn origin(&self) -> String {
        if self.shipped {
            format!("built-in {}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// Reads the file as TOML into `T`; the structs of rule files refuse unknown keys
    /// (`#[serde(deny_unknown_fields)]`), so a misspelt key fails here.
    pub fn parse_toml<T: DeserializeOwned>(&self) -> Result<T, RuleError> {
        toml::from_str(&self.text).map_err(|error| {
            let at = error.span().map(|span| span.start);
            let mut key = at.and_then(|at| toml_key_at(&self.text, at));
            if let Some(missing) = quoted_after(error.message(), "missing field `") {
                key = Some(key.map_or_else(|| missing.to_owned(), |table| format!("{table}.{missing}")));
            }
            RuleError {
                file: self.path.clone(),
                line: at.map(|at| line_of(&self.text, at)),
                key,
                reason: error.message().trim_end().to_owned(),
            }
        })
    }

    /// Reads the file as JSON into `T`. The key named is the one on the line at fault, when
    /// there is one.
    pub fn parse_json<T: DeserializeOwned>(&self) -> Result<T, RuleError> {
        serde_json::from_str(&self.text).map_err(|error| {
            let line = (error.line() > 0).then_some(error.line());
            let shown = error.to_string();
            let position = format!(" at line {} column {}", error.line(), error.column());
            let reason = shown.strip_suffix(&position).unwrap_or(&shown).to_owned();
            let key = quoted_after(&reason, "missing field `")
                .map(str::to_owned)
                .or_else(|| line.and_then(|line| json_key_on(&self.text, line, error.column())));
            RuleError { file: self.path.clone(), line, key, reason }
        })
    }

    /// An error about the file as a whole (a check after parsing).
    pub fn error(&self, reason: impl Into<String>) -> RuleError {
        RuleError::new(&self.path, reason)
    }

    /// An error about the value at `span` (from a [`Spanned`] value), naming its line.
    pub fn error_at(&self, span: Range<usize>, reason: impl Into<String>) -> RuleError {
        RuleError { line: Some(line_of(&self.text, span.start)), ..self.error(reason) }
    }
}

/// Where a file in the tree applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    National,
    Tenant,
    TenantYear,
}

/// Splits a path in the tree into where it applies and the file's name, refusing paths that
/// cannot be meant: a numeric folder that is not a tenant code, a year that is not a year, a
/// file nothing reads, or a national-only file given per tenant.
fn place(path: &str) -> Result<Placement, String> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.iter().any(|part| part.is_empty() || *part == "." || *part == "..") {
        return Err(format!("{path:?} is not a plain relative path"));
    }
    let numeric = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let (placement, skip) = if !numeric(parts[0]) {
        (Placement::National, 0)
    } else {
        TenantCode::parse(parts[0]).map_err(|error| format!("folder {:?} is not a tenant: {error}", parts[0]))?;
        match parts.get(1) {
            Some(year) if numeric(year) => {
                if year.len() != 4 {
                    return Err(format!("folder {year:?} is not a fiscal year (4 digits, e.g. 2025)"));
                }
                (Placement::TenantYear, 2)
            }
            _ => (Placement::Tenant, 1),
        }
    };
    let name = parts[skip..].join("/");
    let Some(file) = FILES.iter().find(|file| file.name == name) else {
        let known: Vec<&str> = FILES.iter().map(|file| file.name).collect();
        return Err(format!("{name:?} is not a rule file kokuho reads (it reads {})", known.join(", ")));
    };
    if placement != Placement::National && !file.per_tenant {
        return Err(format!(
            "{name} is read only as the national default (rules/{name}), never per tenant or fiscal year: \
             this file would be ignored"
        ));
    }
    Ok(placement)
}

/// The rule files in force: the shipped ones, each replaced by an override's file of the same
/// path.
#[derive(Debug, Clone)]
pub struct Rules {
    files: BTreeMap<String, RuleSource>,
}

impl Rules {
    /// The files compiled into this build.
    pub fn shipped() -> Rules {
        let files =
            shipped::ALL.iter().map(|(name, text)| (name.to_string(), RuleSource::shipped(name, text))).collect();
        Rules { files }
    }

    /// The shipped files, each replaced by the file of the same path in `override_dir`.
    pub fn load(override_dir: Option<&Path>) -> Result<Rules, RuleError> {
        let mut rules = Rules::shipped();
        if let Some(dir) = override_dir {
            rules.overlay(dir)?;
        }
        Ok(rules)
    }

    /// Replaces (or adds) every rule file `dir` holds: `*.toml` and `*.json`, at any depth; other
    /// files (a README) and hidden ones are left alone. Returns the paths taken, in order.
    pub fn overlay(&mut self, dir: &Path) -> Result<Vec<String>, RuleError> {
        let mut found = Vec::new();
        collect(dir, "", &mut found)?;
        found.sort();
        let mut taken = Vec::new();
        for (name, file) in found {
            self.insert(RuleSource::read(&name, &file)?)?;
            taken.push(name);
        }
        Ok(taken)
    }

    /// Puts `source` in force at its path (`source.name`), replacing any file there.
    pub fn insert(&mut self, source: RuleSource) -> Result<(), RuleError> {
        place(&source.name).map_err(|reason| source.error(reason))?;
        self.files.insert(source.name.clone(), source);
        Ok(())
    }

    /// The rule file `name` for `tenant` in `fiscal_year`: `<tenant>/<year>/<name>`, else
    /// `<tenant>/<name>`, else the national `<name>`. Without a tenant only the national file
    /// is looked up (a fiscal year alone means nothing).
    pub fn file(
        &self,
        name: &str,
        tenant: Option<TenantCode>,
        fiscal_year: Option<i32>,
    ) -> Result<&RuleSource, RuleError> {
        let mut candidates = Vec::new();
        if let Some(tenant) = tenant {
            if let Some(year) = fiscal_year {
                candidates.push(format!("{tenant}/{year}/{name}"));
            }
            candidates.push(format!("{tenant}/{name}"));
        }
        candidates.push(name.to_owned());
        candidates.iter().find_map(|candidate| self.files.get(candidate)).ok_or_else(|| {
            RuleError::new(
                format!("{SHIPPED_DIR}/{name}"),
                format!("no such rule file (looked for {})", candidates.join(", ")),
            )
        })
    }

    /// Every file in force, by path.
    pub fn files(&self) -> impl Iterator<Item = &RuleSource> {
        self.files.values()
    }
}

/// The tax rules of one tenant and fiscal year: the statutory figures and the city's rates,
/// checked against each other, with the files they came from.
#[derive(Debug, Clone)]
pub struct TaxRuleSet {
    pub rules: std::sync::Arc<TaxRules>,
    /// The city's file, as a path in the tree (`112020/2025/tax.toml`).
    pub file: String,
    /// SHA-256 of the city's file.
    pub sha256: String,
    /// SHA-256 of `tax_national.toml`.
    pub national_sha256: String,
}

impl Rules {
    /// The tax rules of `tenant` for `fiscal_year`. Refused, naming the file, the key and the
    /// reason, when the tenant has no rates for the year or a file does not parse or check.
    pub fn tax(&self, tenant: TenantCode, fiscal_year: i32) -> Result<TaxRuleSet, RuleError> {
        let national_source = self.file(TAX_NATIONAL_FILE, None, None)?;
        let national: NationalTax = national_source.parse_toml()?;
        let city_source = self.file(TAX_FILE, Some(tenant), Some(fiscal_year)).map_err(|_| {
            RuleError::new(
                format!("{SHIPPED_DIR}/{tenant}/{fiscal_year}/{TAX_FILE}"),
                format!("no NHI tax rates for municipality {tenant} in fiscal year {fiscal_year}: add this file"),
            )
        })?;
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
        for name in self.files.keys() {
            let parts: Vec<&str> = name.split('/').collect();
            if let [tenant, year, TAX_FILE] = parts.as_slice() {
                if let (Ok(tenant), Ok(year)) = (TenantCode::parse(tenant), year.parse::<i32>()) {
                    self.tax(tenant, year)?;
                }
            }
        }
        Ok(())
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

/// The benefit rules of one tenant and fiscal year: every statutory period and the city's
/// amounts, checked, with the files they came from.
#[derive(Debug, Clone)]
pub struct BenefitRuleSet {
    pub rules: std::sync::Arc<BenefitRules>,
    /// The city's file, as a path in the tree (`112020/2025/benefits.toml`).
    pub file: String,
    /// SHA-256 of the city's file.
    pub sha256: String,
    /// SHA-256 of `benefits_national.toml`.
    pub national_sha256: String,
}

impl Rules {
    /// The benefit rules of `tenant` for `fiscal_year`. Refused, naming the file, the line and
    /// the key where they can be told, when the tenant has no file for the year or a file does not
    /// parse or check.
    pub fn benefits(&self, tenant: TenantCode, fiscal_year: i32) -> Result<BenefitRuleSet, RuleError> {
        let national_source = self.file(BENEFITS_NATIONAL_FILE, None, None)?;
        let national: NationalBenefits = national_source.parse_toml()?;
        let city_source = self.file(BENEFITS_FILE, Some(tenant), Some(fiscal_year)).map_err(|_| {
            RuleError::new(
                format!("{SHIPPED_DIR}/{tenant}/{fiscal_year}/{BENEFITS_FILE}"),
                format!("no benefit amounts for municipality {tenant} in fiscal year {fiscal_year}: add this file"),
            )
        })?;
        let city: CityBenefits = city_source.parse_toml()?;
        let rules = BenefitRules::new(national, city, &tenant.to_string(), fiscal_year).map_err(|error| {
            // A key of the city file (tenant, fiscal_year, funeral.amount) names that file; any
            // other, the national one.
            let city_key = ["tenant", "fiscal_year", "funeral.amount"].contains(&error.key.as_str());
            let source = if city_key { city_source } else { national_source };
            RuleError {
                line: line_of_key(&source.text, &error.key),
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
        for name in self.files.keys() {
            let parts: Vec<&str> = name.split('/').collect();
            if let [tenant, year, BENEFITS_FILE] = parts.as_slice() {
                if let (Ok(tenant), Ok(year)) = (TenantCode::parse(tenant), year.parse::<i32>()) {
                    self.benefits(tenant, year)?;
                }
            }
        }
        Ok(())
    }
}

/// The 1-based line of a dotted key reported by a check (`high_cost[1].elderly.general.base`):
/// the `n`-th `[[array]]` table when the key names one, then the first line below it that sets
/// the key's last part (or opens its table). A reading of the lines, good for the plain files of
/// `rules/`.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let mut parts = key.split('.');
    let first = parts.next()?;
    let (array, index) = match first.split_once('[') {
        Some((array, index)) => (array, index.trim_end_matches(']').parse::<usize>().ok()?),
        None => (first, 0),
    };
    let lines: Vec<&str> = text.lines().collect();
    let header = format!("[[{array}]]");
    let start = if first.contains('[') {
        lines.iter().enumerate().filter(|(_, line)| line.trim() == header).nth(index)?.0
    } else {
        0
    };
    let rest: Vec<&str> = if first.contains('[') { parts.collect() } else { key.split('.').collect() };
    let last = rest.last().copied().unwrap_or(array);
    // Within the entry, when the key names one: up to the next `[[array]]` header.
    let end = if first.contains('[') {
        lines.iter().enumerate().skip(start + 1).find(|(_, line)| line.trim() == header).map_or(lines.len(), |(i, _)| i)
    } else {
        lines.len()
    };
    let table = rest.iter().rev().nth(1).copied();
    (start..end)
        .find(|&i| {
            let line = lines[i].trim_start();
            let sets = line.starts_with(&format!("{last} ")) || line.starts_with(&format!("{last}="));
            let inline = table
                .is_some_and(|table| line.starts_with(&format!("{table} ")) && line.contains(&format!("{last} =")));
            let opens = line.trim_end().ends_with(&format!(".{last}]"))
                || line.trim() == format!("[{last}]")
                || line.trim() == format!("[[{last}]]");
            sets || inline || opens
        })
        .map(|i| i + 1)
}

/// The collection rules of one tenant and fiscal year, checked, with the files they came from.
#[derive(Debug, Clone)]
pub struct CollectionRuleSet {
    pub rules: std::sync::Arc<CollectionRules>,
    /// The city's file, as a path in the tree (`112020/2025/collection.toml`).
    pub file: String,
    /// SHA-256 of the city's file.
    pub sha256: String,
    /// SHA-256 of `collection_national.toml`.
    pub national_sha256: String,
}

impl Rules {
    /// The collection rules of `tenant` for `fiscal_year`. Refused, naming the file, the line and
    /// the key where they can be told, when the tenant has no file for the year, a file does not
    /// parse or check, or the city's installments differ from its tax file's `[installments]`
    /// for the year (the assessment splits with those).
    pub fn collection(&self, tenant: TenantCode, fiscal_year: i32) -> Result<CollectionRuleSet, RuleError> {
        let national_source = self.file(COLLECTION_NATIONAL_FILE, None, None)?;
        let national: NationalCollection = national_source.parse_toml()?;
        let city_source = self.file(COLLECTION_FILE, Some(tenant), Some(fiscal_year)).map_err(|_| {
            RuleError::new(
                format!("{SHIPPED_DIR}/{tenant}/{fiscal_year}/{COLLECTION_FILE}"),
                format!("no collection rules for municipality {tenant} in fiscal year {fiscal_year}: add this file"),
            )
        })?;
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
        for name in self.files.keys() {
            let parts: Vec<&str> = name.split('/').collect();
            if let [tenant, year, COLLECTION_FILE] = parts.as_slice() {
                if let (Ok(tenant), Ok(year)) = (TenantCode::parse(tenant), year.parse::<i32>()) {
                    self.collection(tenant, year)?;
                }
            }
        }
        Ok(())
    }
}

/// The 1-based line of a dotted key from a check (`late_fee.years[2].after`,
/// `ordinary.due_days[0]`): below the table the key names (the `n`-th `[[table.array]]` header
/// for an indexed array of tables), the first line that sets the key's last part or opens its
/// table; else the table's header. A reading of the lines, good for the plain files of `rules/`.
fn line_of_dotted_key(text: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let parts: Vec<&str> = key.split('.').collect();
    let (last, tables) = parts.split_last()?;
    let mut start = 0;
    let mut end = lines.len();
    let mut path = String::new();
    for table in tables {
        let (name, index) = match table.split_once('[') {
            Some((name, index)) => (name, index.trim_end_matches(']').parse::<usize>().ok()),
            None => (*table, None),
        };
        path = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        let header = |line: &&str| {
            let line = line.trim();
            line == format!("[{path}]") || line == format!("[[{path}]]")
        };
        let found = lines[start..end].iter().enumerate().filter(|(_, line)| header(line)).nth(index.unwrap_or(0));
        let Some((offset, _)) = found else { break };
        start += offset;
        // Up to the next header that is not a table inside this one (the next entry of an array
        // of tables included).
        let inside = |line: &&str| {
            let name = line.trim().trim_start_matches('[').split(']').next().unwrap_or("").trim();
            name.starts_with(&format!("{path}."))
        };
        end = lines[start + 1..]
            .iter()
            .position(|line| line.trim_start().starts_with('[') && !inside(line))
            .map_or(lines.len(), |i| start + 1 + i);
    }
    let (name, _) = last.split_once('[').unwrap_or((last, ""));
    (start..end)
        .find(|&i| {
            let line = lines[i].trim_start();
            line.starts_with(&format!("{name} ")) || line.starts_with(&format!("{name}="))
        })
        .or_else(|| {
            // A key that is itself a table or an array of tables: its first header.
            let full = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
            (start..end).find(|&i| lines[i].trim() == format!("[{full}]") || lines[i].trim() == format!("[[{full}]]"))
        })
        .or_else(|| (!tables.is_empty() || start > 0).then_some(start))
        .or_else(|| {
            lines.iter().position(|line| line.trim() == format!("[{name}]") || line.trim() == format!("[[{name}]]"))
        })
        .map(|i| i + 1)
}

/// The rule files under `dir` (`prefix` is its path in the tree): (path in the tree, file).
fn collect(dir: &Path, prefix: &str, found: &mut Vec<(String, std::path::PathBuf)>) -> Result<(), RuleError> {
    let unreadable = |io: std::io::Error| RuleError::new(dir.display().to_string(), format!("cannot be read: {io}"));
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
            return Err(RuleError::new(path.display().to_string(), "the name is not UTF-8"));
        };
        if file_name.starts_with('.') {
            continue;
        }
        let name = if prefix.is_empty() { file_name.to_owned() } else { format!("{prefix}/{file_name}") };
        // Follows symbolic links, as an operator's folder may hold them.
        let metadata = std::fs::metadata(&path)
            .map_err(|io| RuleError::new(path.display().to_string(), format!("cannot be read: {io}")))?;
        if metadata.is_dir() {
            collect(&path, &name, found)?;
        } else if file_name.ends_with(".toml") || file_name.ends_with(".json") {
            found.push((name, path));
        }
    }
    Ok(())
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// The text between `prefix` and the next backtick in `message`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    rest.split('`').next()
}

/// The dotted key of the TOML value at byte `at`: the table header above it and the key on its
/// line (or, in a value spanning lines, the key that opened it). A reading of the lines, good for
/// the plain files of `rules/`; `None` when no key can be told.
fn toml_key_at(text: &str, at: usize) -> Option<String> {
    let mut table: Vec<String> = Vec::new();
    let mut key: Vec<String> = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if start > at {
            break;
        }
        start += line.len();
        let content = line.trim();
        if let Some(header) = content.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            table = dotted(header.split(']').next().unwrap_or(header));
            key.clear();
        } else if !content.starts_with('#') {
            if let Some((left, _)) = content.split_once('=') {
                let left = dotted(left);
                if !left.is_empty() && !left.iter().any(|part| part.contains(['"', '\'', ',', ' '])) {
                    key = left;
                }
            }
        }
    }
    let path: Vec<String> = table.into_iter().chain(key).collect();
    (!path.is_empty()).then(|| path.join("."))
}

fn dotted(key: &str) -> Vec<String> {
    key.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_owned())
        .filter(|part| !part.is_empty())
        .collect()
}

/// The last `"key":` on 1-based `line` that starts before 1-based `column`.
fn json_key_on(text: &str, line: usize, column: usize) -> Option<String> {
    let content = text.lines().nth(line.checked_sub(1)?)?;
    let bytes = content.as_bytes();
    let mut key = None;
    let mut at = 0;
    while at < bytes.len() && at < column {
        if bytes[at] != b'"' {
            at += 1;
            continue;
        }
        let start = at + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        if content[end.min(content.len())..].trim_start_matches('"').trim_start().starts_with(':') {
            key = Some(content[start..end].to_owned());
        }
        at = end + 1;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuho_domain::eligibility::EligibilityRules;
    use serde::Deserialize;

    fn kumagaya() -> TenantCode {
        TenantCode::parse("112020").unwrap()
    }

    /// A per-tenant file, as the tax tables will be, put in place without the check of
    /// [`Rules::insert`] (no per-tenant file exists yet).
    fn put(rules: &mut Rules, name: &str, text: &str) {
        rules.files.insert(name.to_owned(), RuleSource::new(name, name, text));
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

    #[test]
    fn a_tenants_file_for_the_year_beats_the_tenants_which_beats_the_national_default() {
        let mut rules = Rules::shipped();
        put(&mut rules, "tax.toml", "national");
        put(&mut rules, "112020/tax.toml", "kumagaya");
        put(&mut rules, "112020/2025/tax.toml", "kumagaya 2025");
        let text = |tenant, year| rules.file("tax.toml", tenant, year).unwrap().text.as_str();
        assert_eq!(text(Some(kumagaya()), Some(2025)), "kumagaya 2025");
        assert_eq!(text(Some(kumagaya()), Some(2030)), "kumagaya");
        assert_eq!(text(Some(kumagaya()), None), "kumagaya");
        assert_eq!(text(Some(TenantCode::parse("112062").unwrap()), Some(2025)), "national");
        assert_eq!(text(None, Some(2025)), "national", "a year without a tenant means nothing");
        assert_eq!(text(None, None), "national");

        let missing = rules.file("nothing.toml", Some(kumagaya()), Some(2025)).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "rules/nothing.toml: no such rule file (looked for 112020/2025/nothing.toml, 112020/nothing.toml, \
             nothing.toml)"
        );
        // The shipped files are national: a tenant's lookup finds them.
        let eligibility = rules.file(ELIGIBILITY_FILE, Some(kumagaya()), Some(2025)).unwrap();
        assert_eq!((eligibility.path.as_str(), eligibility.shipped), ("rules/eligibility.toml", true));
        assert_eq!(eligibility.origin(), "built-in rules/eligibility.toml");
    }

    #[test]
    fn an_override_folder_replaces_the_shipped_file_it_holds_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let changed =
            shipped::ELIGIBILITY.replace("notification_deadline_days = 14", "notification_deadline_days = 30");
        std::fs::write(dir.path().join("eligibility.toml"), &changed).unwrap();
        std::fs::write(dir.path().join("README.md"), "notes are not rule files").unwrap();
        std::fs::create_dir(dir.path().join("provision")).unwrap();
        std::fs::write(dir.path().join("provision/organisations.json"), shipped::ORGANISATIONS).unwrap();

        let rules = Rules::load(Some(dir.path())).unwrap();
        let eligibility = rules.file(ELIGIBILITY_FILE, None, None).unwrap();
        assert_eq!(eligibility.text, changed);
        assert!(!eligibility.shipped);
        assert_eq!(eligibility.path, dir.path().join("eligibility.toml").display().to_string());
        let parsed: EligibilityRules = eligibility.parse_toml().unwrap();
        assert_eq!(parsed.notification_deadline_days, 30);
        assert_ne!(eligibility.sha256, Rules::shipped().file(ELIGIBILITY_FILE, None, None).unwrap().sha256);
        // A subfolder's file replaces the file at that path: same bytes, same hash.
        let organisations = rules.file(ORGANISATIONS_FILE, None, None).unwrap();
        assert!(!organisations.shipped);
        assert_eq!(organisations.sha256, Rules::shipped().file(ORGANISATIONS_FILE, None, None).unwrap().sha256);
        // What the folder does not hold stays as shipped.
        assert!(rules.file(RETENTION_FILE, None, None).unwrap().shipped);
        assert!(rules.file(MANAGEMENT_NUMBERS_FILE, None, None).unwrap().shipped);

        let unreadable = Rules::load(Some(&dir.path().join("nonexistent"))).unwrap_err();
        assert!(unreadable.file.ends_with("nonexistent"), "{unreadable}");
        assert!(unreadable.reason.starts_with("cannot be read"), "{unreadable}");
    }

    #[test]
    fn an_override_folder_that_holds_a_file_nothing_would_read_is_refused() {
        let cases = [
            ("eligibilty.toml", "\"eligibilty.toml\" is not a rule file kokuho reads"),
            ("112020/eligibility.toml", "eligibility.toml is read only as the national default"),
            ("112020/2025/retention.toml", "retention.toml is read only as the national default"),
            ("112021/eligibility.toml", "folder \"112021\" is not a tenant: the check digit"),
            ("11202/eligibility.toml", "folder \"11202\" is not a tenant"),
            ("112020/25/eligibility.toml", "folder \"25\" is not a fiscal year"),
        ];
        for (path, why) in cases {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, shipped::ELIGIBILITY).unwrap();
            let error = Rules::load(Some(dir.path())).expect_err(path);
            assert_eq!(error.file, file.display().to_string());
            assert!(error.reason.contains(why), "{path}: {error}");
        }
    }

    #[test]
    fn a_bad_toml_file_is_refused_naming_the_file_the_line_and_the_key() {
        let mut rules = Rules::shipped();
        let text =
            shipped::ELIGIBILITY.replace("notification_deadline_days = 14", "notification_deadline_days = \"14\"");
        let line = text.lines().position(|line| line.starts_with("notification_deadline_days")).unwrap() + 1;
        rules.insert(RuleSource::new(ELIGIBILITY_FILE, "rules/eligibility.toml", text)).unwrap();
        let error = rules.file(ELIGIBILITY_FILE, None, None).unwrap().parse_toml::<EligibilityRules>().unwrap_err();
        assert_eq!(
            (error.file.as_str(), error.line, error.key.as_deref()),
            ("rules/eligibility.toml", Some(line), Some("notification_deadline_days"))
        );
        assert_eq!(
            error.to_string(),
            format!(
                "rules/eligibility.toml, line {line}, key `notification_deadline_days`: invalid type: string \
                 \"14\", expected u32"
            )
        );

        // In a table, the key is dotted from the top.
        let text = shipped::ELIGIBILITY.replace("basic_deduction = 430000", "basic_deduction = 430_000.5");
        let error = RuleSource::new(ELIGIBILITY_FILE, "e.toml", text.clone()).parse_toml::<EligibilityRules>();
        let error = error.unwrap_err();
        assert_eq!(error.key.as_deref(), Some("elderly.basic_deduction"), "{error}");
        assert_eq!(error.line, Some(text.lines().count()), "{error}");

        // A missing key names the table it is missing from.
        let text = shipped::ELIGIBILITY.replace("general_share = \"two_tenths\"", "");
        let error = RuleSource::new(ELIGIBILITY_FILE, "e.toml", text).parse_toml::<EligibilityRules>().unwrap_err();
        assert_eq!(error.key.as_deref(), Some("elderly.general_share"), "{error}");
        assert!(error.reason.contains("missing field `general_share`"), "{error}");

        // Not TOML at all.
        let error = RuleSource::new(ELIGIBILITY_FILE, "e.toml", "[elderly\nx = 1\n")
            .parse_toml::<EligibilityRules>()
            .unwrap_err();
        assert_eq!(error.line, Some(1), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        // Every struct read from a rule file refuses what it does not know.
        let misspelt = shipped::ELIGIBILITY.replace("notification_deadline_days", "notification_deadline");
        let error = RuleSource::new(ELIGIBILITY_FILE, "rules/eligibility.toml", misspelt)
            .parse_toml::<EligibilityRules>()
            .unwrap_err();
        assert_eq!(error.key.as_deref(), Some("notification_deadline"), "{error}");
        assert!(error.reason.starts_with("unknown field `notification_deadline`"), "{error}");

        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Period {
            years: u32,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct File {
            payment: Period,
        }
        let error =
            RuleSource::new("x.toml", "x.toml", "[payment]\nyears = 5\nyeers = 5\n").parse_toml::<File>().unwrap_err();
        assert_eq!((error.line, error.key.as_deref()), (Some(3), Some("payment.yeers")), "{error}");
        let error = RuleSource::new("x.json", "x.json", "{\"payment\": {\"years\": 5,\n  \"yeers\": 5}}")
            .parse_json::<File>()
            .unwrap_err();
        assert_eq!((error.line, error.key.as_deref()), (Some(2), Some("yeers")), "{error}");
        assert!(error.to_string().starts_with("x.json, line 2, key `yeers`: unknown field `yeers`"), "{error}");
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_bytes_and_changes_with_one_byte() {
        let source = RuleSource::new("x.toml", "x.toml", "years = 5\n");
        assert_eq!(source.sha256, hex::encode(Sha256::digest(b"years = 5\n")));
        assert_eq!(source.sha256.len(), 64);
        let one_byte = RuleSource::new("x.toml", "x.toml", "years = 6\n");
        assert_ne!(source.sha256, one_byte.sha256);
        let shipped = Rules::shipped();
        let eligibility = shipped.file(ELIGIBILITY_FILE, None, None).unwrap();
        assert_eq!(eligibility.sha256, hex::encode(Sha256::digest(shipped::ELIGIBILITY.as_bytes())));
    }

    #[test]
    fn every_file_under_rules_is_shipped_and_placed_where_it_is_read() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
        let mut on_disk = Vec::new();
        collect(&root, "", &mut on_disk).unwrap();
        let mut on_disk: Vec<String> = on_disk.into_iter().map(|(name, _)| name).collect();
        on_disk.sort();
        let mut compiled: Vec<String> = shipped::ALL.iter().map(|(name, _)| name.to_string()).collect();
        compiled.sort();
        assert_eq!(on_disk, compiled, "rules/ and shipped::ALL list the same files");
        for (name, text) in shipped::ALL {
            assert_eq!(std::fs::read_to_string(root.join(name)).unwrap(), *text, "{name}");
            assert!(place(name).is_ok(), "{name}");
        }
        // The whole tree loads as an override of itself.
        let rules = Rules::load(Some(&root)).unwrap();
        assert!(rules.files().all(|file| !file.shipped));
    }
}
