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

use kokuho_domain::TenantCode;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// A TOML value with the byte range it was read from, for checks that name the line at fault
/// ([`RuleSource::error_at`]).
pub use toml::Spanned;

mod benefits;
mod collection;
mod keys;
mod tax;

pub use benefits::BenefitRuleSet;
pub use collection::CollectionRuleSet;
pub use tax::TaxRuleSet;

use keys::{json_key_on, line_of, quoted_after, toml_key_at};

/// The rules of one area (tax, benefits, collection) for one tenant and fiscal year, checked, with
/// the files they came from; decisions record the hashes.
#[derive(Debug, Clone)]
pub struct RuleSet<T> {
    pub rules: std::sync::Arc<T>,
    /// The city's file, as a path in the tree (`112020/2025/tax.toml`).
    pub file: String,
    /// SHA-256 of the city's file.
    pub sha256: String,
    /// SHA-256 of the area's national file.
    pub national_sha256: String,
}

impl Rules {
    /// An area's national file and `tenant`'s file for `fiscal_year`; without the latter, an error
    /// naming the file to add (`what` says what it holds: "NHI tax rates").
    fn area_files(
        &self,
        national: &str,
        city: &str,
        tenant: TenantCode,
        fiscal_year: i32,
        what: &str,
    ) -> Result<(&RuleSource, &RuleSource), RuleError> {
        let national_source = self.file(national, None, None)?;
        let city_source = self.file(city, Some(tenant), Some(fiscal_year)).map_err(|_| {
            RuleError::new(
                format!("{SHIPPED_DIR}/{tenant}/{fiscal_year}/{city}"),
                format!("no {what} for municipality {tenant} in fiscal year {fiscal_year}: add this file"),
            )
        })?;
        Ok((national_source, city_source))
    }

    /// Loads every `<tenant>/<year>/<file>` with `load`, so a broken file stops startup rather
    /// than a decision.
    fn check_each(&self, file: &str, load: impl Fn(TenantCode, i32) -> Result<(), RuleError>) -> Result<(), RuleError> {
        for name in self.files.keys() {
            let parts: Vec<&str> = name.split('/').collect();
            if let [tenant, year, found] = parts.as_slice() {
                if let (true, Ok(tenant), Ok(year)) = (*found == file, TenantCode::parse(tenant), year.parse::<i32>()) {
                    load(tenant, year)?;
                }
            }
        }
        Ok(())
    }
}

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
