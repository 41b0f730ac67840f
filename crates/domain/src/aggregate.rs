//! The one contract every aggregate keeps, so the ledger has one command path for all of them.
//!
//! An aggregate is a stream of events (`<prefix>-<id>`) folded into a state by `evolve`, and a
//! pure `decide` that turns a command into new events or a refusal. What a decision needs
//! besides the state and the command (today, the rules, whether the person named exists, …) is
//! its `Lookups`: the ledger gathers them before deciding, so `decide` does no I/O.

use kokuho_events::LedgerEvent;

/// A refusal with a stable snake_case `code` (part of the HTTP contract: never rename one) and
/// the broad class the HTTP layer maps to a status.
pub trait Refusal: std::error::Error + Send + Sync + 'static {
    fn code(&self) -> &'static str;
    fn kind(&self) -> RejectionKind;
}

/// The broad class of a refusal: something that does not exist (HTTP 404), is gone (410),
/// conflicts with what is recorded (409), is not allowed (403), or is bad input (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    NotFound,
    Gone,
    Conflict,
    Forbidden,
    Invalid,
}

pub trait Aggregate: Send + Sync + 'static {
    /// The aggregate's name, for logs and errors.
    const NAME: &'static str;
    /// Whether decisions read personal parts (the ledger then decrypts the stream to fold it).
    const READS_PERSONAL: bool;
    /// Whether the ledger may keep the folded state in memory between commands (streams that
    /// take many commands, like a person's). A cached state is only trusted for an accepted
    /// decision, which the append checks against the stream's version; a refusal or a decision
    /// that records nothing is decided again on the stream as stored.
    const CACHED: bool = false;
    type Id: Copy + Send + Sync + std::fmt::Display + 'static;
    type State: Default + Clone + Send + Sync + 'static;
    /// Serialized (JSON) into the keyed fingerprint an Idempotency-Key is bound to: a key sent
    /// again with another command is refused, not answered with the first command's result.
    type Command: Clone + Send + Sync + serde::Serialize;
    /// What a decision may look up besides its state and the command.
    type Lookups: Send + Sync;
    type Rejection: Refusal + Clone;

    fn stream_id(id: Self::Id) -> String;
    /// The events that follow from `command` (none when there is nothing to record).
    fn decide(
        id: Self::Id,
        state: &Self::State,
        command: Self::Command,
        lookups: &Self::Lookups,
    ) -> Result<Vec<LedgerEvent>, Self::Rejection>;
    fn evolve(state: Self::State, event: &LedgerEvent) -> Self::State;
}

/// Given / when / then over any aggregate, for tests: the state folded from the events `given`,
/// the command `when`, and what it decided.
///
/// ```
/// # use kokuho_domain::aggregate::Scenario;
/// # use kokuho_domain::sensitivity::{Sensitivity, SensitivityLookups, SetFlags};
/// # use kokuho_domain::PersonId;
/// let person = PersonId::new();
/// let set = SetFlags { no_auto_response: true, non_disclosure: false, set_by: uuid::Uuid::nil(), reason: "DV".into() };
/// let registered = SensitivityLookups { person_registered: true };
/// Scenario::<Sensitivity>::given(person, [])
///     .when(set.clone(), &registered)
///     .then_records(1)
///     .when(set, &registered)
///     .then_records(0);
/// ```
pub struct Scenario<A: Aggregate> {
    id: A::Id,
    state: A::State,
    last: Option<Result<Vec<LedgerEvent>, A::Rejection>>,
}

impl<A: Aggregate> Scenario<A> {
    /// The aggregate `id` after `events` (as recorded in its stream, in order).
    pub fn given(id: A::Id, events: impl IntoIterator<Item = LedgerEvent>) -> Self {
        let state = events.into_iter().fold(A::State::default(), |state, event| A::evolve(state, &event));
        Scenario { id, state, last: None }
    }

    /// The aggregate after `commands`, each of which must be accepted.
    pub fn given_commands(id: A::Id, commands: impl IntoIterator<Item = A::Command>, lookups: &A::Lookups) -> Self
    where
        A::Command: std::fmt::Debug,
    {
        let mut scenario = Scenario::<A>::given(id, []);
        for command in commands {
            let shown = format!("{command:?}");
            let events = A::decide(id, &scenario.state, command, lookups)
                .unwrap_or_else(|rejection| panic!("given {shown}: refused {}: {rejection}", rejection.code()));
            scenario.state = events.iter().fold(scenario.state, A::evolve);
        }
        scenario
    }

    /// Decides `command`; accepted events are folded into the state for the next step.
    pub fn when(mut self, command: A::Command, lookups: &A::Lookups) -> Self {
        let decided = A::decide(self.id, &self.state, command, lookups);
        if let Ok(events) = &decided {
            self.state = events.iter().fold(self.state, A::evolve);
        }
        self.last = Some(decided);
        self
    }

    /// The events the last command recorded; panics if it was refused.
    pub fn then_events(&self) -> &[LedgerEvent] {
        match &self.last {
            Some(Ok(events)) => events,
            Some(Err(rejection)) => panic!("refused {}: {rejection}", rejection.code()),
            None => panic!("no command was decided: call when() first"),
        }
    }

    /// Asserts the last command recorded `count` events.
    pub fn then_records(self, count: usize) -> Self {
        assert_eq!(self.then_events().len(), count, "{:?}", self.then_events());
        self
    }

    /// Asserts the last command was refused with `code`.
    pub fn then_refused(self, code: &str) -> Self {
        match &self.last {
            Some(Err(rejection)) => assert_eq!(rejection.code(), code, "{rejection}"),
            Some(Ok(events)) => panic!("expected {code}, recorded {events:?}"),
            None => panic!("no command was decided: call when() first"),
        }
        self
    }

    /// The state after the last accepted command.
    pub fn state(&self) -> &A::State {
        &self.state
    }
}
