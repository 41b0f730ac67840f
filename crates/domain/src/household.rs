//! The household aggregate (世帯): one stream per household, `household-<id>`.
//!
//! A household is established with its head (世帯主), who is its first member; members join and
//! leave; the head changes. The head need not be insured (擬制世帯主 is normal): membership is a
//! fact of the resident registry, eligibility a fact of each person's own stream.
//!
//! Dates are valid time: a member belongs from `joined_on` to the day before `left_on`.
//! Whether a person exists is looked up by the caller before deciding and passed in the
//! [`HouseholdContext`] (decisions stay pure).

use chrono::NaiveDate;
use kokuho_events::{
    Acquisition, HouseholdEstablished, HouseholdHeadChanged, HouseholdMemberJoined, HouseholdMemberLeft,
    IncomeExceptionApplied, LedgerEvent,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{Aggregate, PersonId, Refusal, RejectionKind};

/// The stream a household's events live in.
pub fn stream_id(household_id: Uuid) -> String {
    format!("household-{household_id}")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HouseholdState {
    pub established_on: Option<NaiveDate>,
    /// Heads in the order they took over: (person, from).
    pub heads: Vec<(Uuid, NaiveDate)>,
    pub memberships: Vec<Membership>,
    /// Days the head applied for the 基準収入額 exception.
    pub income_exception_applied_on: Vec<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub person_id: Uuid,
    pub joined_on: NaiveDate,
    /// First day no longer a member; `None` while a member.
    pub left_on: Option<NaiveDate>,
}

impl Membership {
    pub fn contains(&self, on: NaiveDate) -> bool {
        self.joined_on <= on && self.left_on.is_none_or(|left_on| on < left_on)
    }
}

impl HouseholdState {
    pub fn is_established(&self) -> bool {
        self.established_on.is_some()
    }

    /// The members on `on`, in the order they joined.
    pub fn members_on(&self, on: NaiveDate) -> Vec<Uuid> {
        self.memberships.iter().filter(|m| m.contains(on)).map(|m| m.person_id).collect()
    }

    /// The head on `on`: the latest head who took over on or before that day.
    pub fn head_on(&self, on: NaiveDate) -> Option<Uuid> {
        self.heads.iter().rev().find(|(_, from)| *from <= on).map(|(person_id, _)| *person_id)
    }

    /// The current head (the last who took over).
    pub fn head(&self) -> Option<Uuid> {
        self.heads.last().map(|(person_id, _)| *person_id)
    }

    fn open_membership(&self, person_id: Uuid) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.person_id == person_id && m.left_on.is_none())
    }

    /// Whether the 基準収入額 exception was applied for on or before `on`.
    pub fn income_exception_applied(&self, on: NaiveDate) -> bool {
        self.income_exception_applied_on.iter().any(|applied_on| *applied_on <= on)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum HouseholdCommand {
    Establish { head_person_id: Uuid, established_on: NaiveDate, acquisition: Acquisition },
    Join { person_id: Uuid, joined_on: NaiveDate },
    Leave { person_id: Uuid, left_on: NaiveDate },
    ChangeHead { person_id: Uuid, changed_on: NaiveDate },
    ApplyIncomeException { applied_on: NaiveDate },
}

/// What a household decision knows besides the household's state and the command.
#[derive(Debug, Clone)]
pub struct HouseholdContext {
    pub today: NaiveDate,
    /// Whether the person the command names is registered (and not erased). Ignored by
    /// commands that name no person.
    pub person_known: bool,
    /// The memberships of the person an `Establish` or `Join` names in other households (a
    /// person belongs to one household at a time).
    pub other_memberships: Vec<OtherMembership>,
}

/// A membership of the person a command names, in another household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherMembership {
    pub household_id: Uuid,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

/// Why a household command was refused. Codes are part of the HTTP contract: never rename one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HouseholdRejection {
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: PersonId },
    #[error("{field} is in the future (today is {today})")]
    DateInFuture { field: &'static str, date: NaiveDate, today: NaiveDate },
    #[error("household {household_id} does not exist")]
    HouseholdNotFound { household_id: Uuid },
    #[error("household {household_id} already exists")]
    HouseholdAlreadyEstablished { household_id: Uuid },
    #[error("{date} is before the household was established ({established_on})")]
    DateBeforeEstablishment { date: NaiveDate, established_on: NaiveDate },
    #[error("person {person_id} is already a member of this household since {since}")]
    AlreadyAMember { person_id: Uuid, since: NaiveDate },
    #[error("person {person_id} is a member of household {household_id} on {on}: record their departure there first")]
    MemberOfAnotherHousehold { person_id: Uuid, household_id: Uuid, on: NaiveDate },
    #[error("person {person_id} is not a member of this household on {on}")]
    NotAMember { person_id: Uuid, on: NaiveDate },
    #[error("person {person_id} cannot leave on {left_on}: they joined on {joined_on}")]
    LeftBeforeJoined { person_id: Uuid, joined_on: NaiveDate, left_on: NaiveDate },
    #[error("person {person_id} heads the household: make another member head first")]
    HeadMustChangeFirst { person_id: Uuid },
    #[error("person {person_id} already heads the household")]
    AlreadyHead { person_id: Uuid },
    #[error("{date} is before the household's last change of head ({last_change})")]
    BeforeLastHeadChange { date: NaiveDate, last_change: NaiveDate },
    /// What a clerk typed wrong ([`crate::checks`]): its own code.
    #[error(transparent)]
    Input(#[from] crate::Rejection),
}

impl Refusal for HouseholdRejection {
    fn code(&self) -> &'static str {
        match self {
            HouseholdRejection::PersonNotFound { .. } => "person_not_found",
            HouseholdRejection::DateInFuture { .. } => "date_in_future",
            HouseholdRejection::HouseholdNotFound { .. } => "household_not_found",
            HouseholdRejection::HouseholdAlreadyEstablished { .. } => "household_already_established",
            HouseholdRejection::DateBeforeEstablishment { .. } => "date_before_establishment",
            HouseholdRejection::AlreadyAMember { .. } => "already_a_member",
            HouseholdRejection::MemberOfAnotherHousehold { .. } => "member_of_another_household",
            HouseholdRejection::NotAMember { .. } => "not_a_member",
            HouseholdRejection::LeftBeforeJoined { .. } => "left_before_joined",
            HouseholdRejection::HeadMustChangeFirst { .. } => "head_must_change_first",
            HouseholdRejection::AlreadyHead { .. } => "already_head",
            HouseholdRejection::BeforeLastHeadChange { .. } => "before_last_head_change",
            HouseholdRejection::Input(rejection) => rejection.code(),
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            HouseholdRejection::PersonNotFound { .. } | HouseholdRejection::HouseholdNotFound { .. } => {
                RejectionKind::NotFound
            }
            HouseholdRejection::HouseholdAlreadyEstablished { .. }
            | HouseholdRejection::AlreadyAMember { .. }
            | HouseholdRejection::AlreadyHead { .. }
            | HouseholdRejection::MemberOfAnotherHousehold { .. } => RejectionKind::Conflict,
            HouseholdRejection::Input(rejection) => rejection.kind(),
            _ => RejectionKind::Invalid,
        }
    }
}

/// The household aggregate: [`decide`] and [`evolve`] over the stream `household-<id>`.
pub struct Household;

impl Aggregate for Household {
    const NAME: &'static str = "household";
    const READS_PERSONAL: bool = false;
    type Id = Uuid;
    type State = HouseholdState;
    type Command = HouseholdCommand;
    type Lookups = HouseholdContext;
    type Rejection = HouseholdRejection;

    fn stream_id(id: Uuid) -> String {
        stream_id(id)
    }
    fn decide(
        id: Uuid,
        state: &HouseholdState,
        command: HouseholdCommand,
        lookups: &HouseholdContext,
    ) -> Result<Vec<LedgerEvent>, HouseholdRejection> {
        decide(id, state, command, lookups)
    }
    fn evolve(state: HouseholdState, event: &LedgerEvent) -> HouseholdState {
        evolve(state, event)
    }
}

/// Refused when the person is a member of another household on `from` or later: their
/// departure there must be recorded first.
fn not_in_another_household(
    person_id: Uuid,
    from: NaiveDate,
    context: &HouseholdContext,
) -> Result<(), HouseholdRejection> {
    match context.other_memberships.iter().find(|m| m.left_on.is_none_or(|left_on| left_on > from)) {
        Some(other) => {
            Err(HouseholdRejection::MemberOfAnotherHousehold { person_id, household_id: other.household_id, on: from })
        }
        None => Ok(()),
    }
}

pub fn decide(
    household_id: Uuid,
    state: &HouseholdState,
    command: HouseholdCommand,
    context: &HouseholdContext,
) -> Result<Vec<LedgerEvent>, HouseholdRejection> {
    let not_in_future = |field: &'static str, date: NaiveDate| {
        if date > context.today {
            Err(HouseholdRejection::DateInFuture { field, date, today: context.today })
        } else {
            Ok(())
        }
    };
    match &command {
        HouseholdCommand::Establish { established_on, acquisition, .. } => {
            crate::checks::date("established_on", *established_on)?;
            crate::checks::acquisition(acquisition)?;
        }
        HouseholdCommand::Join { joined_on: on, .. } => crate::checks::date("joined_on", *on)?,
        HouseholdCommand::Leave { left_on: on, .. } => crate::checks::date("left_on", *on)?,
        HouseholdCommand::ChangeHead { changed_on: on, .. } => crate::checks::date("changed_on", *on)?,
        HouseholdCommand::ApplyIncomeException { applied_on: on } => crate::checks::date("applied_on", *on)?,
    }
    let person_known = |person_id: Uuid| {
        if context.person_known {
            Ok(())
        } else {
            Err(HouseholdRejection::PersonNotFound { person_id: PersonId::from_uuid(person_id) })
        }
    };
    if let HouseholdCommand::Establish { head_person_id, established_on, acquisition } = command {
        if state.is_established() {
            return Err(HouseholdRejection::HouseholdAlreadyEstablished { household_id });
        }
        not_in_another_household(head_person_id, established_on, context)?;
        person_known(head_person_id)?;
        not_in_future("established_on", established_on)?;
        return Ok(vec![LedgerEvent::HouseholdEstablished(HouseholdEstablished {
            household_id,
            head_person_id,
            established_on,
            acquisition,
        })]);
    }
    let Some(established_on) = state.established_on else {
        return Err(HouseholdRejection::HouseholdNotFound { household_id });
    };
    let after_establishment = |date: NaiveDate| {
        if date < established_on {
            Err(HouseholdRejection::DateBeforeEstablishment { date, established_on })
        } else {
            Ok(())
        }
    };
    match command {
        HouseholdCommand::Establish { .. } => unreachable!("handled above"),
        HouseholdCommand::Join { person_id, joined_on } => {
            not_in_another_household(person_id, joined_on, context)?;
            person_known(person_id)?;
            not_in_future("joined_on", joined_on)?;
            after_establishment(joined_on)?;
            if let Some(open) = state.open_membership(person_id) {
                return Err(HouseholdRejection::AlreadyAMember { person_id, since: open.joined_on });
            }
            // A former member may come back, but not into days they were already a member.
            if let Some(last_left) =
                state.memberships.iter().filter(|m| m.person_id == person_id).filter_map(|m| m.left_on).max()
            {
                if joined_on < last_left {
                    return Err(HouseholdRejection::AlreadyAMember { person_id, since: joined_on });
                }
            }
            Ok(vec![LedgerEvent::HouseholdMemberJoined(HouseholdMemberJoined { household_id, person_id, joined_on })])
        }
        HouseholdCommand::Leave { person_id, left_on } => {
            not_in_future("left_on", left_on)?;
            let Some(open) = state.open_membership(person_id) else {
                return Err(HouseholdRejection::NotAMember { person_id, on: left_on });
            };
            if left_on <= open.joined_on {
                return Err(HouseholdRejection::LeftBeforeJoined { person_id, joined_on: open.joined_on, left_on });
            }
            let others_remain = state.memberships.iter().any(|m| m.person_id != person_id && m.left_on.is_none());
            if state.head() == Some(person_id) && others_remain {
                return Err(HouseholdRejection::HeadMustChangeFirst { person_id });
            }
            Ok(vec![LedgerEvent::HouseholdMemberLeft(HouseholdMemberLeft { household_id, person_id, left_on })])
        }
        HouseholdCommand::ChangeHead { person_id, changed_on } => {
            not_in_future("changed_on", changed_on)?;
            after_establishment(changed_on)?;
            if state.head() == Some(person_id) {
                return Err(HouseholdRejection::AlreadyHead { person_id });
            }
            if let Some((_, last_change)) = state.heads.last() {
                if changed_on < *last_change {
                    return Err(HouseholdRejection::BeforeLastHeadChange {
                        date: changed_on,
                        last_change: *last_change,
                    });
                }
            }
            match state.open_membership(person_id) {
                Some(open) if open.joined_on <= changed_on => {}
                _ => return Err(HouseholdRejection::NotAMember { person_id, on: changed_on }),
            }
            Ok(vec![LedgerEvent::HouseholdHeadChanged(HouseholdHeadChanged {
                household_id,
                head_person_id: person_id,
                changed_on,
            })])
        }
        HouseholdCommand::ApplyIncomeException { applied_on } => {
            not_in_future("applied_on", applied_on)?;
            after_establishment(applied_on)?;
            Ok(vec![LedgerEvent::IncomeExceptionApplied(IncomeExceptionApplied { household_id, applied_on })])
        }
    }
}

pub fn evolve(mut state: HouseholdState, event: &LedgerEvent) -> HouseholdState {
    match event {
        LedgerEvent::HouseholdEstablished(e) => {
            state.established_on = Some(e.established_on);
            state.heads.push((e.head_person_id, e.established_on));
            state.memberships.push(Membership {
                person_id: e.head_person_id,
                joined_on: e.established_on,
                left_on: None,
            });
        }
        LedgerEvent::HouseholdMemberJoined(e) => {
            state.memberships.push(Membership { person_id: e.person_id, joined_on: e.joined_on, left_on: None });
        }
        LedgerEvent::HouseholdMemberLeft(e) => {
            if let Some(open) = state.memberships.iter_mut().find(|m| m.person_id == e.person_id && m.left_on.is_none())
            {
                open.left_on = Some(e.left_on);
            }
        }
        LedgerEvent::HouseholdHeadChanged(e) => state.heads.push((e.head_person_id, e.changed_on)),
        LedgerEvent::IncomeExceptionApplied(e) => state.income_exception_applied_on.push(e.applied_on),
        _ => {}
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn source() -> Acquisition {
        Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() }
    }

    fn run(
        history: &[HouseholdCommand],
        command: HouseholdCommand,
        person_known: bool,
    ) -> Result<HouseholdState, HouseholdRejection> {
        let context = HouseholdContext { today: date(2025, 6, 1), person_known: true, other_memberships: Vec::new() };
        let mut state = HouseholdState::default();
        for past in history {
            for event in decide(id(100), &state, past.clone(), &context).expect("history is valid") {
                state = evolve(state, &event);
            }
        }
        let events = decide(id(100), &state, command, &HouseholdContext { person_known, ..context.clone() })?;
        Ok(events.iter().fold(state, evolve))
    }

    fn establish() -> HouseholdCommand {
        HouseholdCommand::Establish { head_person_id: id(1), established_on: date(2025, 4, 1), acquisition: source() }
    }

    #[test]
    fn composition_and_head_over_time() {
        let history = [
            establish(),
            HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 4, 10) },
            HouseholdCommand::ChangeHead { person_id: id(2), changed_on: date(2025, 5, 1) },
        ];
        let state =
            run(&history, HouseholdCommand::Leave { person_id: id(1), left_on: date(2025, 5, 20) }, true).unwrap();
        // (on, members, head)
        let table = [
            (date(2025, 3, 31), vec![], None),
            (date(2025, 4, 1), vec![id(1)], Some(id(1))),
            (date(2025, 4, 10), vec![id(1), id(2)], Some(id(1))),
            (date(2025, 5, 1), vec![id(1), id(2)], Some(id(2))),
            (date(2025, 5, 19), vec![id(1), id(2)], Some(id(2))),
            (date(2025, 5, 20), vec![id(2)], Some(id(2))),
        ];
        for (on, members, head) in table {
            assert_eq!((state.members_on(on), state.head_on(on)), (members, head), "on {on}");
        }
    }

    #[test]
    fn every_refusal_has_its_code() {
        let joined = [establish(), HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 4, 10) }];
        // (history, command, person known, code)
        let table: Vec<(&[HouseholdCommand], HouseholdCommand, bool, &str)> = vec![
            (
                &[],
                HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 4, 10) },
                true,
                "household_not_found",
            ),
            (&[], establish(), false, "person_not_found"),
            (&joined, establish(), true, "household_already_established"),
            (
                &joined,
                HouseholdCommand::Join { person_id: id(3), joined_on: date(2025, 4, 10) },
                false,
                "person_not_found",
            ),
            (
                &joined,
                HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 5, 1) },
                true,
                "already_a_member",
            ),
            (
                &joined,
                HouseholdCommand::Join { person_id: id(3), joined_on: date(2025, 3, 1) },
                true,
                "date_before_establishment",
            ),
            (&joined, HouseholdCommand::Join { person_id: id(3), joined_on: date(2025, 7, 1) }, true, "date_in_future"),
            (&joined, HouseholdCommand::Leave { person_id: id(3), left_on: date(2025, 5, 1) }, true, "not_a_member"),
            (
                &joined,
                HouseholdCommand::Leave { person_id: id(2), left_on: date(2025, 4, 10) },
                true,
                "left_before_joined",
            ),
            (
                &joined,
                HouseholdCommand::Leave { person_id: id(1), left_on: date(2025, 5, 1) },
                true,
                "head_must_change_first",
            ),
            (
                &joined,
                HouseholdCommand::ChangeHead { person_id: id(1), changed_on: date(2025, 5, 1) },
                true,
                "already_head",
            ),
            (
                &joined,
                HouseholdCommand::ChangeHead { person_id: id(3), changed_on: date(2025, 5, 1) },
                true,
                "not_a_member",
            ),
            (
                &joined,
                HouseholdCommand::ChangeHead { person_id: id(2), changed_on: date(2025, 4, 5) },
                true,
                "not_a_member",
            ),
        ];
        for (history, command, known, code) in table {
            let refusal = run(history, command.clone(), known).expect_err(code);
            assert_eq!(refusal.code(), code, "{command:?}: {refusal}");
        }
    }

    #[test]
    fn a_person_belongs_to_one_household_at_a_time() {
        let elsewhere = |left_on| HouseholdContext {
            today: date(2025, 6, 1),
            person_known: true,
            other_memberships: vec![OtherMembership { household_id: id(200), joined_on: date(2024, 1, 1), left_on }],
        };
        let join = HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 4, 10) };
        let mut state = HouseholdState::default();
        for event in decide(id(100), &state, establish(), &elsewhere(Some(date(2025, 1, 1)))).unwrap() {
            state = evolve(state, &event);
        }
        // Still a member there on the day they would join: refused, naming the other household.
        let refusal = decide(id(100), &state, join.clone(), &elsewhere(None)).unwrap_err();
        assert_eq!(
            refusal,
            HouseholdRejection::MemberOfAnotherHousehold {
                person_id: id(2),
                household_id: id(200),
                on: date(2025, 4, 10)
            }
        );
        assert_eq!(refusal.kind(), RejectionKind::Conflict);
        // Left there on the day they join here (the first day no longer a member): accepted.
        assert!(decide(id(100), &state, join, &elsewhere(Some(date(2025, 4, 10)))).is_ok());
    }

    #[test]
    fn the_last_member_may_leave_and_a_former_member_return() {
        let history = [
            establish(),
            HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 4, 10) },
            HouseholdCommand::Leave { person_id: id(2), left_on: date(2025, 4, 20) },
        ];
        let state =
            run(&history, HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 5, 1) }, true).unwrap();
        assert_eq!(state.members_on(date(2025, 4, 25)), vec![id(1)]);
        assert_eq!(state.members_on(date(2025, 5, 1)), vec![id(1), id(2)]);
        let back_in_time =
            run(&history, HouseholdCommand::Join { person_id: id(2), joined_on: date(2025, 4, 15) }, true);
        assert_eq!(back_in_time.unwrap_err().code(), "already_a_member");
        let alone =
            run(&[establish()], HouseholdCommand::Leave { person_id: id(1), left_on: date(2025, 5, 1) }, true).unwrap();
        assert!(alone.members_on(date(2025, 5, 1)).is_empty(), "the household is dissolved");
    }
}
