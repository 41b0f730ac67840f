//! Staff roles, the NHI affairs (purposes) a read may declare, and which role serves which.
//!
//! Purpose limitation (docs/domain.md §3 rule 2) means every read of a person's data names the affair
//! it is for, and a user may only name affairs their role carries out (rule 1: role-based limits
//! on functions). [`role_serves`] is that table, written as data and denying by default: a pair
//! not listed is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a staff user does in the NHI section. Names are stable: they are stored with users and
/// written into every access event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 資格管理係: registers who is insured, from when to when.
    EligibilityClerk,
    /// 賦課係: assesses the annual premium tax.
    TaxClerk,
    /// 給付係: pays medical, high-cost and other benefits.
    BenefitsClerk,
    /// 収納係: records payments, arrears and refunds.
    CollectionClerk,
    /// 係長・課長: oversees the section's affairs and approves what clerks may not do alone.
    Supervisor,
    /// 監査: reviews the record of who did and saw what.
    Auditor,
    /// システム管理者: manages users and configuration, not citizens' records.
    Administrator,
}

/// The NHI affair a read is for. Names are stable: they are written into every access event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// 資格管理
    Eligibility,
    /// 賦課
    Assessment,
    /// 収納
    Collection,
    /// 給付
    Benefits,
    /// 情報提供: answering other agencies' inquiries through the intermediate server.
    Provision,
    /// 監査
    Audit,
    /// Managing users and configuration of the system itself.
    Administration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role; expected one of: eligibility_clerk, tax_clerk, benefits_clerk, collection_clerk, supervisor, auditor, administrator")]
pub struct UnknownRole;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown purpose; expected one of: eligibility, assessment, collection, benefits, provision, audit, administration"
)]
pub struct UnknownPurpose;

impl Role {
    pub const ALL: [Role; 7] = [
        Role::EligibilityClerk,
        Role::TaxClerk,
        Role::BenefitsClerk,
        Role::CollectionClerk,
        Role::Supervisor,
        Role::Auditor,
        Role::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::EligibilityClerk => "eligibility_clerk",
            Role::TaxClerk => "tax_clerk",
            Role::BenefitsClerk => "benefits_clerk",
            Role::CollectionClerk => "collection_clerk",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
        }
    }
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::Eligibility,
        Purpose::Assessment,
        Purpose::Collection,
        Purpose::Benefits,
        Purpose::Provision,
        Purpose::Audit,
        Purpose::Administration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Eligibility => "eligibility",
            Purpose::Assessment => "assessment",
            Purpose::Collection => "collection",
            Purpose::Benefits => "benefits",
            Purpose::Provision => "provision",
            Purpose::Audit => "audit",
            Purpose::Administration => "administration",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == name).ok_or(UnknownRole)
    }
}

impl FromStr for Purpose {
    type Err = UnknownPurpose;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Purpose::ALL.into_iter().find(|purpose| purpose.as_str() == name).ok_or(UnknownPurpose)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which affairs each role carries out. Anything not listed is denied.
const SERVES: [(Role, &[Purpose]); 7] = [
    // Each clerk works one affair (one ID per person, least privilege, §3 rule 1), so a clerk's
    // reads are confined to the data that affair needs (§3 rule 2).
    (Role::EligibilityClerk, &[Purpose::Eligibility]),
    (Role::TaxClerk, &[Purpose::Assessment]),
    (Role::BenefitsClerk, &[Purpose::Benefits]),
    (Role::CollectionClerk, &[Purpose::Collection]),
    // Supervisors approve across the section's affairs, including provision for sensitive
    // persons that may not be answered automatically (§3 rule 4); they do not manage the system.
    (
        Role::Supervisor,
        &[
            Purpose::Eligibility,
            Purpose::Assessment,
            Purpose::Collection,
            Purpose::Benefits,
            Purpose::Provision,
            Purpose::Audit,
        ],
    ),
    // Auditors read the record of what was done; they do not take part in any affair they audit.
    (Role::Auditor, &[Purpose::Audit]),
    // Administrators manage users and configuration; keeping them out of citizens' records means
    // the people who can grant access cannot use it themselves.
    (Role::Administrator, &[Purpose::Administration]),
];

/// Whether a user in `role` may declare `purpose` for a read.
pub fn role_serves(role: Role, purpose: Purpose) -> bool {
    SERVES.iter().any(|(listed, purposes)| *listed == role && purposes.contains(&purpose))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Access {
        Serves,
        Denied,
    }
    use Access::{Denied, Serves};

    /// Every (role, purpose) pair, written out independently of `SERVES`. Columns follow
    /// `Purpose::ALL`: eligibility, assessment, collection, benefits, provision, audit, administration.
    #[rustfmt::skip]
    const EXPECTED: [(Role, [Access; 7]); 7] = [
        (Role::EligibilityClerk, [Serves, Denied, Denied, Denied, Denied, Denied, Denied]),
        (Role::TaxClerk,         [Denied, Serves, Denied, Denied, Denied, Denied, Denied]),
        (Role::BenefitsClerk,    [Denied, Denied, Denied, Serves, Denied, Denied, Denied]),
        (Role::CollectionClerk,  [Denied, Denied, Serves, Denied, Denied, Denied, Denied]),
        (Role::Supervisor,       [Serves, Serves, Serves, Serves, Serves, Serves, Denied]),
        (Role::Auditor,          [Denied, Denied, Denied, Denied, Denied, Serves, Denied]),
        (Role::Administrator,    [Denied, Denied, Denied, Denied, Denied, Denied, Serves]),
    ];

    #[test]
    fn every_role_and_purpose_pair_is_decided_as_the_table_says() {
        assert_eq!(EXPECTED.map(|(role, _)| role), Role::ALL, "one row per role, in order");
        for (role, row) in &EXPECTED {
            for (purpose, expected) in Purpose::ALL.iter().zip(row) {
                let actual = if role_serves(*role, *purpose) { Serves } else { Denied };
                assert_eq!(&actual, expected, "{role} declaring {purpose}");
            }
        }
    }

    #[test]
    fn an_auditor_cannot_declare_the_eligibility_purpose() {
        assert!(!role_serves(Role::Auditor, Purpose::Eligibility));
        assert!(role_serves(Role::Auditor, Purpose::Audit));
    }

    #[test]
    fn names_round_trip_through_from_str_and_serde() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
            assert_eq!(serde_json::from_str::<Role>(&format!("\"{role}\"")).unwrap(), role);
        }
        for purpose in Purpose::ALL {
            assert_eq!(purpose.as_str().parse::<Purpose>(), Ok(purpose));
            assert_eq!(serde_json::to_string(&purpose).unwrap(), format!("\"{purpose}\""));
            assert_eq!(serde_json::from_str::<Purpose>(&format!("\"{purpose}\"")).unwrap(), purpose);
        }
        assert_eq!("tax_clerk".parse::<Role>(), Ok(Role::TaxClerk));
        assert_eq!("benefits".parse::<Purpose>(), Ok(Purpose::Benefits));
    }

    #[test]
    fn unknown_names_are_refused() {
        assert_eq!("TaxClerk".parse::<Role>(), Err(UnknownRole));
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
        assert_eq!("marketing".parse::<Purpose>(), Err(UnknownPurpose));
        assert!(serde_json::from_str::<Purpose>("\"Eligibility\"").is_err());
    }
}
