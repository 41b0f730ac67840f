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
    type Id: Copy + Send + Sync + std::fmt::Display + 'static;
    type State: Default + Clone + Send + Sync + 'static;
    type Command: Clone + Send + Sync;
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
