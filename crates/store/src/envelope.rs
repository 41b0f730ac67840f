//! The envelope every event carries (invariant 2), as appended and as read back.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A staff member, by user id.
    Staff(String),
    /// A citizen acting for themselves.
    Citizen(Uuid),
    /// A scheduled job or a command-line tool (`bench`, `retention`, …).
    System(String),
}

impl Actor {
    /// The stored form: `staff:<id>`, `citizen:<uuid>`, `system:<job>`.
    pub fn encode(&self) -> String {
        self.to_string()
    }

    pub fn decode(text: &str) -> Option<Actor> {
        let (kind, id) = text.split_once(':')?;
        match kind {
            "staff" => Some(Actor::Staff(id.to_owned())),
            "citizen" => Uuid::parse_str(id).ok().map(Actor::Citizen),
            "system" => Some(Actor::System(id.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Staff(id) => write!(f, "staff:{id}"),
            Actor::Citizen(id) => write!(f, "citizen:{id}"),
            Actor::System(job) => write!(f, "system:{job}"),
        }
    }
}

/// The stream version an append expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version (versions start at 1).
    Exact(i64),
    /// Append whatever the version: for append-only logs (sign-ins, the access record) whose
    /// events decide nothing.
    Any,
}

impl ExpectedVersion {
    pub fn from_current(version: i64) -> ExpectedVersion {
        if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        }
    }

    /// Whether a stream at `current` satisfies this expectation.
    pub fn allows(self, current: i64) -> bool {
        match self {
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(version) => current == version,
            ExpectedVersion::Any => true,
        }
    }

    /// The version expected, for error messages (`-1` for [`ExpectedVersion::Any`]).
    pub fn as_version(self) -> i64 {
        match self {
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exact(version) => version,
            ExpectedVersion::Any => -1,
        }
    }
}

/// The metadata of one command's append: who, why, and how it relates to other work.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub actor: Actor,
    /// Which NHI affair this serves (e.g. `eligibility`, `collection`).
    pub purpose: String,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    /// A retried command with the same key returns the first result and appends nothing.
    pub idempotency_key: Option<String>,
}

/// An event to append: its encoded payload, not yet sealed.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: String,
    pub schema_version: i64,
    /// The person whose data key seals `personal`.
    pub subject_id: Option<Uuid>,
    pub payload: Vec<u8>,
    /// The personal part in clear; the store seals it before it reaches the writer.
    pub personal: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream_id: String,
    pub expected_version: ExpectedVersion,
    pub meta: CommandMeta,
    pub events: Vec<NewEvent>,
    /// Blind index tokens to store with the events (see `EventStore::search_token`).
    pub search_tokens: Vec<SearchToken>,
    /// The keyed digest of the command (see `EventStore::command_fingerprint`): with an
    /// idempotency key, a retry must carry the same one, or it is refused as a reused key.
    /// `None` binds the key to the stream only.
    pub command_fingerprint: Option<[u8; 32]>,
}

/// A keyed blind index token of one personal value of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchToken {
    pub person_id: Uuid,
    /// What the value is: `name`, `name_kana`, `date_of_birth`.
    pub kind: &'static str,
    pub token: [u8; 32],
}

/// What an append did (or, for a retried idempotency key, what the first attempt did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    pub first_position: i64,
    pub last_position: i64,
    /// The stream's version after the append.
    pub stream_version: i64,
    pub recorded_at: DateTime<Utc>,
    /// True when nothing was appended because the idempotency key had been used.
    pub duplicate: bool,
}

/// The personal part of a stored event, as this read has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonalData {
    /// The event has no personal part.
    None,
    /// Decrypted JSON.
    Plain(Vec<u8>),
    /// Still sealed: this read did not ask for decryption.
    Sealed,
    /// The person's key was destroyed: the part is unreadable for good.
    Erased,
}

/// An event as stored, with its full envelope.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub tenant: String,
    pub position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i64,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub purpose: String,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub subject_id: Option<Uuid>,
    pub payload: Vec<u8>,
    pub personal: PersonalData,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// Microseconds since the Unix epoch: the stored and hashed form of `recorded_at`.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("stored timestamps are in range")
}
