//! What every rule file's check answers when a file cannot be used: the dotted key at fault
//! (`high_cost[1].under_70.u.base`, `medical.limit`) and why. `kokuho-rules` turns it into an
//! error naming the file and the line.

/// A rule file's figure that fails its check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key `{key}`: {reason}")]
pub struct RuleCheckError {
    pub key: String,
    pub reason: String,
}

/// The error for `key`, with its reason.
pub(crate) fn refuse(key: impl Into<String>, reason: impl Into<String>) -> RuleCheckError {
    RuleCheckError { key: key.into(), reason: reason.into() }
}
