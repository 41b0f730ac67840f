//! Sensitive persons (取扱注意者, docs/domain.md §3 rule 4): the no-auto-response flag (自動応答不可
//! フラグ) and the non-disclosure flag (不開示該当フラグ) a supervisor sets on a person, e.g. a
//! victim of domestic violence under support measures.
//!
//! The flags are their own aggregate, stream `sensitivity-<person_id>`, so setting them never
//! contends with the person's own commands. Each `SensitivityFlagsSet` states both flags as
//! they are from then on; the free-text reason is personal and sealed with the person's key.
//! The national interface knows three values per flag; the city's decision is yes or no, which
//! is what is recorded here.
//!
//! `decide` and `evolve` are pure; whether the person is registered arrives as an argument.
//! The role check (supervisors only) is the HTTP layer's.

use kokuho_events::{LedgerEvent, Personal, SensitivityFlagsSet, SensitivityReason};
use uuid::Uuid;

use crate::PersonId;

/// The longest reason kept (in characters): a reason is a sentence, not a case file.
pub const REASON_CHARS_MAX: usize = 500;

/// The stream holding a person's sensitivity flags.
pub fn stream_id(person_id: PersonId) -> String {
    format!("sensitivity-{}", person_id.as_uuid())
}

/// A person's flags as their events tell them; both clear for a person never flagged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SensitivityState {
    pub no_auto_response: bool,
    pub non_disclosure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetFlags {
    pub no_auto_response: bool,
    pub non_disclosure: bool,
    /// The supervisor; the caller has checked the role.
    pub set_by: Uuid,
    pub reason: String,
}

/// Why setting the flags was refused. Codes are part of the HTTP contract: never rename one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SensitivityRejection {
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: PersonId },
    #[error("a reason must be given")]
    ReasonRequired,
    #[error("a reason has at most {max} characters, this has {chars}")]
    ReasonTooLong { chars: usize, max: usize },
}

impl crate::Refusal for SensitivityRejection {
    fn code(&self) -> &'static str {
        SensitivityRejection::code(self)
    }
    fn kind(&self) -> crate::RejectionKind {
        match self {
            SensitivityRejection::PersonNotFound { .. } => crate::RejectionKind::NotFound,
            _ => crate::RejectionKind::Invalid,
        }
    }
}

/// What setting the flags looks up: whether the person is registered.
#[derive(Debug, Clone, Copy)]
pub struct SensitivityLookups {
    pub person_registered: bool,
}

/// A person's sensitivity flags: [`decide`] and [`evolve`] over `sensitivity-<person id>`.
pub struct Sensitivity;

impl crate::Aggregate for Sensitivity {
    const NAME: &'static str = "sensitivity";
    const READS_PERSONAL: bool = false;
    type Id = PersonId;
    type State = SensitivityState;
    type Command = SetFlags;
    type Lookups = SensitivityLookups;
    type Rejection = SensitivityRejection;

    fn stream_id(id: PersonId) -> String {
        stream_id(id)
    }
    fn decide(
        id: PersonId,
        state: &SensitivityState,
        command: SetFlags,
        lookups: &SensitivityLookups,
    ) -> Result<Vec<LedgerEvent>, SensitivityRejection> {
        decide(id, lookups.person_registered, state, command)
    }
    fn evolve(state: SensitivityState, event: &LedgerEvent) -> SensitivityState {
        evolve(state, event)
    }
}

impl SensitivityRejection {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            SensitivityRejection::PersonNotFound { .. } => "person_not_found",
            SensitivityRejection::ReasonRequired => "reason_required",
            SensitivityRejection::ReasonTooLong { .. } => "reason_too_long",
        }
    }
}

/// The events that set the flags as `command` says: none when they are already so (setting
/// them is idempotent, and a repeat would only add noise to the person's record).
pub fn decide(
    person_id: PersonId,
    person_registered: bool,
    state: &SensitivityState,
    command: SetFlags,
) -> Result<Vec<LedgerEvent>, SensitivityRejection> {
    if !person_registered {
        return Err(SensitivityRejection::PersonNotFound { person_id });
    }
    let reason = command.reason.trim();
    if reason.is_empty() {
        return Err(SensitivityRejection::ReasonRequired);
    }
    let chars = reason.chars().count();
    if chars > REASON_CHARS_MAX {
        return Err(SensitivityRejection::ReasonTooLong { chars, max: REASON_CHARS_MAX });
    }
    let wanted =
        SensitivityState { no_auto_response: command.no_auto_response, non_disclosure: command.non_disclosure };
    if wanted == *state {
        return Ok(Vec::new());
    }
    Ok(vec![LedgerEvent::SensitivityFlagsSet(SensitivityFlagsSet {
        person_id: person_id.as_uuid(),
        no_auto_response: wanted.no_auto_response,
        non_disclosure: wanted.non_disclosure,
        set_by: command.set_by,
        personal: Personal::Present(SensitivityReason { reason: reason.to_owned() }),
    })])
}

pub fn evolve(state: SensitivityState, event: &LedgerEvent) -> SensitivityState {
    match event {
        LedgerEvent::SensitivityFlagsSet(e) => {
            SensitivityState { no_auto_response: e.no_auto_response, non_disclosure: e.non_disclosure }
        }
        // Nothing else is ever appended to this stream.
        _ => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> PersonId {
        PersonId::from_uuid(Uuid::nil())
    }

    fn set(no_auto_response: bool, non_disclosure: bool, reason: &str) -> SetFlags {
        SetFlags { no_auto_response, non_disclosure, set_by: Uuid::from_u128(7), reason: reason.to_owned() }
    }

    fn apply(state: SensitivityState, command: SetFlags) -> (SensitivityState, usize) {
        let events = decide(person(), true, &state, command).expect("valid");
        let count = events.len();
        (events.iter().fold(state, evolve), count)
    }

    #[test]
    fn flags_are_set_and_cleared_and_the_reason_is_sealed() {
        let events = decide(person(), true, &SensitivityState::default(), set(true, true, " DV等支援措置 ")).unwrap();
        let [LedgerEvent::SensitivityFlagsSet(e)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(e.personal, Personal::Present(SensitivityReason { reason: "DV等支援措置".into() }));
        assert_eq!(events[0].subject(), Some(Uuid::nil()), "sealed with the person's key");
        let flagged = evolve(SensitivityState::default(), &events[0]);
        assert_eq!(flagged, SensitivityState { no_auto_response: true, non_disclosure: true });
        let (cleared, count) = apply(flagged, set(false, false, "支援措置終了"));
        assert_eq!((cleared, count), (SensitivityState::default(), 1));
    }

    #[test]
    fn setting_the_flags_they_already_have_records_nothing() {
        let (flagged, _) = apply(SensitivityState::default(), set(true, false, "申出"));
        assert_eq!(apply(flagged, set(true, false, "再申出")), (flagged, 0));
        assert_eq!(apply(SensitivityState::default(), set(false, false, "確認")), (SensitivityState::default(), 0));
    }

    #[test]
    fn refusals_name_their_reason() {
        let state = SensitivityState::default();
        assert_eq!(decide(person(), false, &state, set(true, true, "x")).unwrap_err().code(), "person_not_found");
        assert_eq!(decide(person(), true, &state, set(true, true, "  ")).unwrap_err().code(), "reason_required");
        let long = "あ".repeat(REASON_CHARS_MAX + 1);
        assert_eq!(decide(person(), true, &state, set(true, true, &long)).unwrap_err().code(), "reason_too_long");
        assert!(decide(person(), true, &state, set(true, true, &"あ".repeat(REASON_CHARS_MAX))).is_ok());
    }
}
