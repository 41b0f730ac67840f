//! The command path: load an aggregate's state, decide, append with optimistic concurrency.
//!
//! This is where the pure domain meets the store. A command is decided against the person's
//! current state (from a bounded in-memory cache, else replayed from their stream) and appended
//! expecting the version it was decided on; if another command got there first, the command is
//! decided again on the fresh state (a bounded number of times). As-of reads replay the stream
//! as recorded at an instant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use kokuho_domain::eligibility::EligibilityRules;
use kokuho_domain::person::{self, PersonCommand, PersonState};
use kokuho_domain::{Context, PersonId, Rejection, TenantCode};
use kokuho_events::{LedgerEvent, PersonalPart};
use kokuho_store::{
    AppendError, AppendOutcome, AppendRequest, CommandMeta, Decrypt, EventStore, ExpectedVersion, NewEvent,
    PersonalData, RecordedEvent, SearchToken, StoreError,
};

mod elderly_shares;
mod eligibility_view;
pub mod policies;
mod stream_commands;
pub use eligibility_view::{EligibilityAnswer, HouseholdView};
pub use stream_commands::StreamOutcome;

/// States kept in memory; past that the cache starts over (it is only a cache).
const CACHED_STATES_MAX: usize = 100_000;
/// Times a command is decided again after losing a race for its stream.
const CONFLICT_RETRIES_MAX: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Append(#[from] AppendError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stream {stream_id} kept changing under the command; try again")]
    Contended { stream_id: String },
    #[error("event at position {position} cannot be read: {reason}")]
    Decode { position: i64, reason: String },
    #[error("projection: {0}")]
    Projection(String),
}

/// The clock decisions use; tests and replays set their own. The store's clock type: give the
/// ledger the clock its store stamps `recorded_at` with (`kokuho::Ledgerd::open` does).
pub use kokuho_store::{system_clock, Clock};

/// Japan Standard Time: the civil date of every rule in this domain.
pub fn jst_date(at: DateTime<Utc>) -> NaiveDate {
    let jst = FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    at.with_timezone(&jst).date_naive()
}

/// The result of a command that was appended (or had been, for a retried idempotency key).
#[derive(Debug, Clone)]
pub struct Executed {
    pub outcome: AppendOutcome,
    pub events: Vec<LedgerEvent>,
}

/// A person's state as known at some instant.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub person_id: PersonId,
    pub version: i64,
    pub state: PersonState,
    pub events: Vec<(RecordedEvent, LedgerEvent)>,
}

pub struct Ledger {
    store: EventStore,
    clock: Clock,
    rules: EligibilityRuleSet,
    states: Mutex<HashMap<(TenantCode, PersonId), (i64, PersonState)>>,
}

/// The eligibility rule settings decisions apply, with the SHA-256 of the file they came from
/// (recorded in decision events, invariant 6).
#[derive(Debug, Clone)]
pub struct EligibilityRuleSet {
    pub rules: Arc<EligibilityRules>,
    pub sha256: String,
}

impl EligibilityRuleSet {
    /// The rule file shipped with the ledger: `projections/rules/eligibility.toml`.
    pub const BUNDLED: &'static str = include_str!("../../../projections/rules/eligibility.toml");

    /// Parses a rule file; unknown or missing settings are refused.
    pub fn parse(text: &str) -> Result<EligibilityRuleSet, String> {
        use sha2::Digest;
        let rules: EligibilityRules = toml::from_str(text).map_err(|error| error.to_string())?;
        let sha256 = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        Ok(EligibilityRuleSet { rules: Arc::new(rules), sha256 })
    }

    pub fn bundled() -> EligibilityRuleSet {
        EligibilityRuleSet::parse(Self::BUNDLED).expect("the bundled eligibility rules parse")
    }
}

impl Ledger {
    pub fn new(store: EventStore, clock: Clock) -> Ledger {
        Ledger { store, clock, rules: EligibilityRuleSet::bundled(), states: Mutex::new(HashMap::new()) }
    }

    /// Decides with `rules` instead of the bundled rule file.
    pub fn with_rules(mut self, rules: EligibilityRuleSet) -> Ledger {
        self.rules = rules;
        self
    }

    pub fn rules(&self) -> &EligibilityRuleSet {
        &self.rules
    }

    /// The context decisions are made in: today in Japan and the rules in force.
    pub fn context(&self) -> Context {
        Context { today: jst_date(self.now()), rules: self.rules.rules.clone() }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn cached(&self, tenant: TenantCode, person_id: PersonId) -> Option<(i64, PersonState)> {
        self.states.lock().expect("state cache lock").get(&(tenant, person_id)).cloned()
    }

    fn remember(&self, tenant: TenantCode, person_id: PersonId, version: i64, state: PersonState) {
        let mut states = self.states.lock().expect("state cache lock");
        if states.len() >= CACHED_STATES_MAX {
            states.clear();
        }
        states.insert((tenant, person_id), (version, state));
    }

    /// Drops what this process remembers of a person (after erasure, or a conflict).
    pub fn forget(&self, tenant: TenantCode, person_id: PersonId) {
        self.states.lock().expect("state cache lock").remove(&(tenant, person_id));
    }

    async fn current(&self, tenant: TenantCode, person_id: PersonId) -> Result<(i64, PersonState), LedgerError> {
        if let Some(cached) = self.cached(tenant, person_id) {
            return Ok(cached);
        }
        let view = self.replay(tenant, person_id, None, Decrypt::Yes).await?;
        self.remember(tenant, person_id, view.version, view.state.clone());
        Ok((view.version, view.state))
    }

    /// Decides `command` for `person_id` and appends the result.
    pub async fn execute(
        &self,
        tenant: TenantCode,
        person_id: PersonId,
        command: PersonCommand,
        meta: CommandMeta,
    ) -> Result<Executed, LedgerError> {
        let stream_id = person_id.stream_id();
        for _ in 0..CONFLICT_RETRIES_MAX {
            let (version, state) = self.current(tenant, person_id).await?;
            let context = self.context();
            let events = match person::decide(person_id, &state, command.clone(), &context) {
                Ok(events) => events,
                Err(rejection) => {
                    // A retry of a command that already succeeded is refused by the state it
                    // created; answer it with the first result instead.
                    if let Some(key) = meta.idempotency_key.as_deref() {
                        if let Some(outcome) = self.store.idempotent_outcome(tenant, key).await? {
                            return Ok(Executed { outcome, events: Vec::new() });
                        }
                    }
                    return Err(rejection.into());
                }
            };
            let request = AppendRequest {
                stream_id: stream_id.clone(),
                expected_version: ExpectedVersion::from_current(version),
                meta: meta.clone(),
                events: events.iter().map(to_new_event).collect(),
                search_tokens: self.search_tokens(tenant, &events),
            };
            match self.store.append(tenant, request).await {
                Ok(outcome) if outcome.duplicate => {
                    self.forget(tenant, person_id);
                    return Ok(Executed { outcome, events: Vec::new() });
                }
                Ok(outcome) => {
                    let state = events.iter().fold(state, person::evolve);
                    self.remember(tenant, person_id, outcome.stream_version, state);
                    return Ok(Executed { outcome, events });
                }
                Err(AppendError::Conflict { .. }) => self.forget(tenant, person_id),
                Err(error) => {
                    self.forget(tenant, person_id);
                    return Err(error.into());
                }
            }
        }
        Err(LedgerError::Contended { stream_id })
    }

    /// Blind index tokens for the personal values staff search by (name, kana, date of birth).
    fn search_tokens(&self, tenant: TenantCode, events: &[LedgerEvent]) -> Vec<SearchToken> {
        let mut tokens = Vec::new();
        for event in events {
            let token = |kind, person_id, value: &str| self.store.search_token(tenant, kind, person_id, value);
            match event {
                LedgerEvent::PersonRegistered(e) => {
                    if let Some(details) = e.personal.as_present() {
                        tokens.push(token("name", e.person_id, &details.name));
                        tokens.push(token("name_kana", e.person_id, &details.name_kana));
                        tokens.push(token("date_of_birth", e.person_id, &details.date_of_birth.to_string()));
                    }
                }
                LedgerEvent::PersonNameChanged(e) => {
                    // The former name's tokens stay: a search by a maiden name (旧姓) still finds
                    // the person.
                    if let Some(change) = e.personal.as_present() {
                        tokens.push(token("name", e.person_id, &change.name));
                        tokens.push(token("name_kana", e.person_id, &change.name_kana));
                    }
                }
                _ => {}
            }
        }
        tokens
    }

    /// Appends events that decide nothing (a sign-in, an access, a refusal) to an append-only
    /// log stream, whatever its version. Answers after the commit.
    pub async fn record(
        &self,
        tenant: TenantCode,
        stream_id: String,
        events: &[LedgerEvent],
        meta: CommandMeta,
    ) -> Result<AppendOutcome, LedgerError> {
        let request = AppendRequest {
            stream_id,
            expected_version: ExpectedVersion::Any,
            meta,
            events: events.iter().map(to_new_event).collect(),
            search_tokens: self.search_tokens(tenant, events),
        };
        Ok(self.store.append(tenant, request).await?)
    }

    /// A person's state and history as recorded at `as_of` (default: now); personal parts are
    /// decrypted only when asked.
    pub async fn replay(
        &self,
        tenant: TenantCode,
        person_id: PersonId,
        as_of: Option<DateTime<Utc>>,
        decrypt: Decrypt,
    ) -> Result<PersonView, LedgerError> {
        let stream_id = person_id.stream_id();
        let recorded = match as_of {
            None => self.store.read_stream(tenant, &stream_id, decrypt).await?,
            Some(at) => self.store.read_stream_as_of(tenant, &stream_id, at, decrypt).await?,
        };
        let mut state = PersonState::default();
        let mut events = Vec::with_capacity(recorded.len());
        for event in recorded {
            let decoded = decode(&event)?;
            state = person::evolve(state, &decoded);
            events.push((event, decoded));
        }
        let version = events.last().map_or(0, |(event, _)| event.stream_version);
        Ok(PersonView { person_id, version, state, events })
    }
}

pub fn to_new_event(event: &LedgerEvent) -> NewEvent {
    let encoded = event.encode();
    NewEvent {
        event_type: encoded.event_type.to_owned(),
        schema_version: i64::from(encoded.schema_version),
        subject_id: encoded.subject,
        payload: encoded.payload,
        personal: encoded.personal,
    }
}

/// Reads a stored event as the domain's event, its personal part decrypted when available.
pub fn decode(event: &RecordedEvent) -> Result<LedgerEvent, LedgerError> {
    let schema_version = u16::try_from(event.schema_version).map_err(|_| LedgerError::Decode {
        position: event.position,
        reason: format!("schema version {} is out of range", event.schema_version),
    })?;
    let personal = match &event.personal {
        PersonalData::None => PersonalPart::None,
        PersonalData::Plain(bytes) => PersonalPart::Plain(bytes),
        PersonalData::Sealed | PersonalData::Erased => PersonalPart::Unavailable,
    };
    LedgerEvent::decode(&event.event_type, schema_version, &event.payload, personal)
        .map_err(|error| LedgerError::Decode { position: event.position, reason: error.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_rule_file_holds_the_national_figures() {
        let bundled = EligibilityRuleSet::bundled();
        assert_eq!(*bundled.rules, EligibilityRules::national_defaults());
        assert_eq!(bundled.sha256.len(), 64);
        let misspelt = EligibilityRuleSet::BUNDLED.replace("notification_deadline_days", "notification_deadline");
        assert!(EligibilityRuleSet::parse(&misspelt).is_err(), "a misspelt setting is refused");
    }
}
