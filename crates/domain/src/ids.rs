//! Identifiers: the municipality (tenant) and the person.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A municipality's 6-digit local government code (全国地方公共団体コード), e.g. Kumagaya `112020`.
///
/// The sixth digit is a check digit: weights 6, 5, 4, 3, 2 on the first five digits, and the
/// last digit of `11 − (sum mod 11)`. Checking it catches most typos in a tenant code before
/// they open an empty ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantCode(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantCodeError {
    #[error("a local government code has exactly 6 digits")]
    NotSixDigits,
    #[error("the check digit of local government code {code} should be {expected}")]
    CheckDigit { code: String, expected: u32 },
}

impl TenantCode {
    pub fn parse(text: &str) -> Result<TenantCode, TenantCodeError> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TenantCodeError::NotSixDigits);
        }
        let digits: Vec<u32> = text.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits[..5].iter().zip([6, 5, 4, 3, 2]).map(|(d, w)| d * w).sum();
        let expected = (11 - sum % 11) % 10;
        if digits[5] != expected {
            return Err(TenantCodeError::CheckDigit { code: text.to_owned(), expected });
        }
        Ok(TenantCode(text.parse().expect("six ASCII digits fit in u32")))
    }

    /// A stable number for this tenant, used as a PostgreSQL advisory lock key.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TenantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl FromStr for TenantCode {
    type Err = TenantCodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TenantCode::parse(text)
    }
}

impl TryFrom<String> for TenantCode {
    type Error = TenantCodeError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        TenantCode::parse(&text)
    }
}

impl From<TenantCode> for String {
    fn from(code: TenantCode) -> String {
        code.to_string()
    }
}

/// The ledger's own id for a person (one stream per person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(Uuid);

impl PersonId {
    pub fn new() -> PersonId {
        PersonId(Uuid::now_v7())
    }
    pub fn from_uuid(id: Uuid) -> PersonId {
        PersonId(id)
    }
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
    /// The event stream that holds this person's history.
    pub fn stream_id(self) -> String {
        format!("person-{}", self.0)
    }
}

impl Default for PersonId {
    fn default() -> Self {
        PersonId::new()
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_local_government_codes_pass_their_check_digit() {
        for code in ["112020", "131016", "011002", "271004"] {
            assert_eq!(TenantCode::parse(code).unwrap().to_string(), code);
        }
    }

    #[test]
    fn a_typo_in_a_tenant_code_is_caught() {
        assert_eq!(
            TenantCode::parse("112021"),
            Err(TenantCodeError::CheckDigit { code: "112021".into(), expected: 0 })
        );
        assert_eq!(TenantCode::parse("11202"), Err(TenantCodeError::NotSixDigits));
        assert_eq!(TenantCode::parse("11202x"), Err(TenantCodeError::NotSixDigits));
    }
}
