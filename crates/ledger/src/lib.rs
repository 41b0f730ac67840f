//! The command path: load an aggregate's state, decide, append with optimistic concurrency.
//!
//! This is where the pure domain meets the store. A command is decided against the person's
//! current state (from a bounded in-memory cache, else replayed from their stream) and appended
//! expecting the version it was decided on; if another command got there first, the command is
//! decided again on the fresh state (a bounded number of times). As-of reads replay the stream
//! as recorded at an instant.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use kokuho_domain::eligibility::EligibilityRules;
use kokuho_domain::household::Household;
use kokuho_domain::person::Person;
use kokuho_domain::provision::AllowList;
use kokuho_domain::{Aggregate, Context, PersonId, Refusal, Rejection, TenantCode};
use kokuho_events::{LedgerEvent, PersonalPart};
use kokuho_projections::Projector;
use kokuho_rules::{RuleError, RuleSource, Rules};
use kokuho_store::{
    Actor, AppendError, AppendOutcome, AppendRequest, CommandMeta, Decrypt, EventStore, ExpectedVersion, KeyUse,
    NewEvent, PersonalData, RecordedEvent, SearchToken, StoreError,
};

pub mod benefits;
pub mod collection;
mod elderly_shares;
mod eligibility_view;
mod lookups;
pub mod policies;
pub mod replay_print;
pub mod tax;
pub use eligibility_view::EligibilityAnswer;
pub use lookups::Lookup;

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
    /// A lookup waited for the read tables to show the ledger's head, in vain.
    #[error("{0}")]
    ProjectionsBehind(String),
}

/// The clock decisions use; tests and replays set their own. The store's clock type: give the
/// ledger the clock its store stamps `recorded_at` with (`kokuho::Ledgerd::open` does).
pub use kokuho_store::{system_clock, Clock};

/// The search token kind of a person's 宛名番号 (see `Ledger::atena_no_registered_to`).
pub const ATENA_NO_TOKEN: &str = "atena_no";

/// Japan Standard Time: the civil date of every rule in this domain.
pub fn jst_date(at: DateTime<Utc>) -> NaiveDate {
    let jst = FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    at.with_timezone(&jst).date_naive()
}

/// The result of a command that was appended (or had been, for a retried idempotency key: then
/// `outcome.duplicate` and no `events`), or that recorded nothing ([`Executed::unchanged`]).
#[derive(Debug, Clone)]
pub struct Executed {
    pub outcome: AppendOutcome,
    pub events: Vec<LedgerEvent>,
}

impl Executed {
    /// A decision that found nothing to record: no position, the stream's version unchanged.
    fn unchanged(stream_version: i64, now: DateTime<Utc>) -> Executed {
        let outcome =
            AppendOutcome { first_position: 0, last_position: 0, stream_version, recorded_at: now, duplicate: false };
        Executed { outcome, events: Vec::new() }
    }

    /// Whether the decision recorded nothing (neither now nor by a first attempt).
    pub fn is_unchanged(&self) -> bool {
        self.events.is_empty() && !self.outcome.duplicate
    }
}

/// An aggregate's state and history as recorded at some instant.
pub struct View<A: Aggregate> {
    pub id: A::Id,
    /// The stream's version (0: nothing recorded).
    pub version: i64,
    pub state: A::State,
    pub events: Vec<(RecordedEvent, LedgerEvent)>,
}

impl<A: Aggregate> Clone for View<A> {
    fn clone(&self) -> Self {
        View { id: self.id, version: self.version, state: self.state.clone(), events: self.events.clone() }
    }
}

impl<A: Aggregate> std::fmt::Debug for View<A>
where
    A::State: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("id", &self.id.to_string())
            .field("version", &self.version)
            .field("state", &self.state)
            .finish()
    }
}

/// A person's state as known at some instant.
pub type PersonView = View<Person>;
/// A household's state as known at some instant.
pub type HouseholdView = View<Household>;

/// A command that was not recorded: the aggregate refused it (its own rejection, with a stable
/// code), or the ledger could not decide or append it.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<R: Refusal> {
    #[error(transparent)]
    Refused(R),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl<R: Refusal> From<StoreError> for CommandError<R> {
    fn from(error: StoreError) -> Self {
        CommandError::Ledger(error.into())
    }
}

pub struct Ledger {
    store: EventStore,
    clock: Clock,
    rules: EligibilityRuleSet,
    allow_list: Arc<AllowList>,
    /// Read tables that lookups consult (the households a person belongs to), waited for.
    projector: Option<Arc<Projector>>,
    /// The last known state of recently used streams, by (tenant, stream id): a bounded cache.
    states: Mutex<StateCache>,
    /// The tax rule files in force, and each (tenant, fiscal year)'s rules once loaded.
    tax_rules: tax::TaxRulesCache,
    /// The collection rule files in force, and each (tenant, fiscal year)'s rules once loaded.
    collection_rules: collection::CollectionRulesCache,
    /// Held while an overpayment settlement is decided and appended ([`Ledger::execute_account`]).
    settling: tokio::sync::Mutex<()>,
}

/// (tenant, stream id) → (stream version, the aggregate's state).
type StateCache = HashMap<(TenantCode, String), (i64, Arc<dyn Any + Send + Sync>)>;

/// The eligibility rule settings decisions apply, with the SHA-256 of the file they came from
/// (recorded in decision events, invariant 6).
#[derive(Debug, Clone)]
pub struct EligibilityRuleSet {
    pub rules: Arc<EligibilityRules>,
    pub sha256: String,
}

impl EligibilityRuleSet {
    /// The rule file shipped with the ledger: `rules/eligibility.toml`.
    pub const BUNDLED: &'static str = kokuho_rules::shipped::ELIGIBILITY;

    /// The national `eligibility.toml` of `rules` (shipped, or an operator's override).
    pub fn from_rules(rules: &Rules) -> Result<EligibilityRuleSet, RuleError> {
        EligibilityRuleSet::from_source(rules.file(kokuho_rules::ELIGIBILITY_FILE, None, None)?)
    }

    /// Reads a rule file; unknown or missing settings are refused.
    pub fn from_source(source: &RuleSource) -> Result<EligibilityRuleSet, RuleError> {
        let rules: EligibilityRules = source.parse_toml()?;
        Ok(EligibilityRuleSet { rules: Arc::new(rules), sha256: source.sha256.clone() })
    }

    /// Parses the text of a rule file; unknown or missing settings are refused.
    pub fn parse(text: &str) -> Result<EligibilityRuleSet, String> {
        let source = RuleSource::new(kokuho_rules::ELIGIBILITY_FILE, kokuho_rules::ELIGIBILITY_FILE, text);
        EligibilityRuleSet::from_source(&source).map_err(|error| error.to_string())
    }

    pub fn bundled() -> EligibilityRuleSet {
        EligibilityRuleSet::from_rules(&Rules::shipped()).expect("the bundled eligibility rules parse")
    }
}

impl Ledger {
    pub fn new(store: EventStore, clock: Clock) -> Ledger {
        Ledger {
            store,
            clock,
            rules: EligibilityRuleSet::bundled(),
            allow_list: Arc::new(AllowList::default()),
            projector: None,
            states: Mutex::new(HashMap::new()),
            tax_rules: tax::TaxRulesCache::new(Rules::shipped()),
            collection_rules: collection::CollectionRulesCache::new(Rules::shipped()),
            settling: tokio::sync::Mutex::new(()),
        }
    }

    /// Assesses tax with the rule files of `rules` (shipped, or an operator's override).
    pub fn with_tax_rules(mut self, rules: Rules) -> Ledger {
        self.collection_rules = collection::CollectionRulesCache::new(rules.clone());
        self.tax_rules = tax::TaxRulesCache::new(rules);
        self
    }

    /// The provision allow-list that provision and inquiry decisions apply.
    pub fn with_allow_list(mut self, allow_list: Arc<AllowList>) -> Ledger {
        self.allow_list = allow_list;
        self
    }

    /// The projections lookups may consult; they are waited for, never written, by the ledger.
    pub fn with_projector(mut self, projector: Arc<Projector>) -> Ledger {
        self.projector = Some(projector);
        self
    }

    pub fn allow_list(&self) -> &Arc<AllowList> {
        &self.allow_list
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
        Context { today: jst_date(self.now()), rules: self.rules.rules.clone(), atena_no_registered_to: None }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn cached<A: Aggregate>(&self, tenant: TenantCode, stream_id: &str) -> Option<(i64, A::State)> {
        let states = self.states.lock().expect("state cache lock");
        let (version, state) = states.get(&(tenant, stream_id.to_owned()))?;
        Some((*version, state.downcast_ref::<A::State>()?.clone()))
    }

    fn remember<A: Aggregate>(&self, tenant: TenantCode, stream_id: String, version: i64, state: A::State) {
        if !A::CACHED {
            return;
        }
        let mut states = self.states.lock().expect("state cache lock");
        if states.len() >= CACHED_STATES_MAX {
            states.clear();
        }
        // A slower reader must not put back an older state than a command just remembered.
        let key = (tenant, stream_id);
        if states.get(&key).is_some_and(|(known, _)| *known > version) {
            return;
        }
        states.insert(key, (version, Arc::new(state)));
    }

    fn forget_stream(&self, tenant: TenantCode, stream_id: &str) {
        self.states.lock().expect("state cache lock").remove(&(tenant, stream_id.to_owned()));
    }

    /// Drops what this process remembers of a person (after erasure, or a conflict).
    pub fn forget(&self, tenant: TenantCode, person_id: PersonId) {
        self.forget_stream(tenant, &person_id.stream_id());
    }

    /// The aggregate's state and version, and whether they came from the cache.
    async fn current<A: Aggregate>(&self, tenant: TenantCode, id: A::Id) -> Result<(i64, A::State, bool), LedgerError> {
        let stream_id = A::stream_id(id);
        if A::CACHED {
            if let Some((version, state)) = self.cached::<A>(tenant, &stream_id) {
                return Ok((version, state, true));
            }
        }
        let decrypt = if A::READS_PERSONAL { Decrypt::Yes } else { Decrypt::No };
        let view = self.replay::<A>(tenant, id, None, decrypt).await?;
        self.remember::<A>(tenant, stream_id, view.version, view.state.clone());
        Ok((view.version, view.state, false))
    }

    /// The one command path: decides `command` for the aggregate `id` on its current state
    /// (with the lookups it needs) and appends the events, expecting the version decided on.
    /// If another command got there first, decides again on the fresh state, a bounded number of
    /// times. A retried Idempotency-Key answers the first result (`duplicate`); a decision that
    /// records nothing answers [`Executed::unchanged`].
    pub async fn execute<A: Lookup>(
        &self,
        tenant: TenantCode,
        id: A::Id,
        command: A::Command,
        meta: CommandMeta,
    ) -> Result<Executed, CommandError<A::Rejection>> {
        self.execute_deciding::<A>(tenant, id, command, meta, None).await
    }

    /// [`Ledger::execute`] with lookups the caller gathered already (a batch job that read
    /// every stream it needs in one pass). The caller answers for their freshness: the append
    /// still checks the aggregate's own stream version.
    pub async fn execute_with<A: Lookup>(
        &self,
        tenant: TenantCode,
        id: A::Id,
        command: A::Command,
        lookups: &A::Lookups,
        meta: CommandMeta,
    ) -> Result<Executed, CommandError<A::Rejection>> {
        self.execute_deciding::<A>(tenant, id, command, meta, Some(lookups)).await
    }

    async fn execute_deciding<A: Lookup>(
        &self,
        tenant: TenantCode,
        id: A::Id,
        command: A::Command,
        meta: CommandMeta,
        given: Option<&A::Lookups>,
    ) -> Result<Executed, CommandError<A::Rejection>> {
        let stream_id = A::stream_id(id);
        // A person's key (staff, citizen) is bound to the stream and to this command: sent again
        // with another, it is refused (idempotency_key_reused), never answered with the first
        // command's result. A policy's or a job's key derives from what triggered it, and
        // reacting again (after a crash, a rewind, a rule change) may decide another command
        // under it: that is the reaction already issued, so their keys stay bound to the stream.
        let fingerprint = match (&meta.idempotency_key, &meta.actor) {
            (Some(_), Actor::Staff(_) | Actor::Citizen(_)) => {
                let command = serde_json::to_vec(&command)
                    .map_err(|error| AppendError::Invalid(format!("a {} command cannot be encoded: {error}", A::NAME)))
                    .map_err(LedgerError::from)?;
                Some(self.store.command_fingerprint(tenant, &stream_id, &command))
            }
            _ => None,
        };
        for _ in 0..CONFLICT_RETRIES_MAX {
            let (version, state, from_cache) = self.current::<A>(tenant, id).await?;
            let gathered;
            let lookups = match given {
                Some(lookups) => lookups,
                None => {
                    gathered = A::lookups(self, tenant, id, &state, &command).await?;
                    &gathered
                }
            };
            let decided = A::decide(id, &state, command.clone(), lookups);
            // Only an append checks the version a decision was made on: a refusal, or nothing
            // to record, is trusted only when decided on the stream as stored (another process
            // may have written since this one cached the state).
            if from_cache && decided.as_ref().map_or(true, Vec::is_empty) {
                self.forget_stream(tenant, &stream_id);
                continue;
            }
            let events = match decided {
                Ok(events) => events,
                Err(rejection) => {
                    // A retry of a command that already succeeded is refused by the state it
                    // created; answer it with the first result instead.
                    if let Some(key) = meta.idempotency_key.as_deref() {
                        if let Some(first) = self.first_answer(tenant, key, &stream_id, fingerprint.as_ref()).await? {
                            return Ok(first);
                        }
                    }
                    return Err(CommandError::Refused(rejection));
                }
            };
            if events.is_empty() {
                // Nothing to record may be a person's retry of a command that recorded
                // something (a claim whose id comes from the key): the first result. The same
                // key with another command is refused, as an append would refuse it.
                if let (Some(key), Some(_)) = (meta.idempotency_key.as_deref(), fingerprint.as_ref()) {
                    if let Some(first) = self.first_answer(tenant, key, &stream_id, fingerprint.as_ref()).await? {
                        return Ok(first);
                    }
                }
                return Ok(Executed::unchanged(version, self.now()));
            }
            let request = AppendRequest {
                stream_id: stream_id.clone(),
                expected_version: ExpectedVersion::from_current(version),
                meta: meta.clone(),
                events: events.iter().map(to_new_event).collect(),
                search_tokens: self.search_tokens(tenant, &events),
                command_fingerprint: fingerprint,
            };
            match self.store.append(tenant, request).await {
                Ok(outcome) if outcome.duplicate => {
                    self.forget_stream(tenant, &stream_id);
                    return Ok(Executed { outcome, events: Vec::new() });
                }
                Ok(outcome) => {
                    let state = events.iter().fold(state, A::evolve);
                    self.remember::<A>(tenant, stream_id, outcome.stream_version, state);
                    return Ok(Executed { outcome, events });
                }
                Err(AppendError::Conflict { .. }) => self.forget_stream(tenant, &stream_id),
                Err(error) => {
                    self.forget_stream(tenant, &stream_id);
                    return Err(LedgerError::from(error).into());
                }
            }
        }
        Err(LedgerError::Contended { stream_id }.into())
    }

    /// The first result of the command `key` was used for, when this is a retry of it; refused
    /// (`idempotency_key_reused`) when the key was used for another command; `None` when unused.
    async fn first_answer(
        &self,
        tenant: TenantCode,
        key: &str,
        stream_id: &str,
        fingerprint: Option<&[u8; 32]>,
    ) -> Result<Option<Executed>, LedgerError> {
        match self.store.idempotent_outcome(tenant, key, stream_id, fingerprint).await? {
            KeyUse::SameCommand(outcome) => Ok(Some(Executed { outcome, events: Vec::new() })),
            KeyUse::OtherCommand => Err(AppendError::IdempotencyKeyReused { key: key.to_owned() }.into()),
            KeyUse::Unused => Ok(None),
        }
    }

    /// Blind index tokens for the personal values staff search by (name, kana, date of birth).
    fn search_tokens(&self, tenant: TenantCode, events: &[LedgerEvent]) -> Vec<SearchToken> {
        let mut tokens = Vec::new();
        for event in events {
            let token = |kind, person_id, value: &str| self.store.search_token(tenant, kind, person_id, value);
            match event {
                LedgerEvent::PersonRegistered(e) => {
                    // The 宛名番号 is in clear, but its token, written in the same transaction,
                    // lets a registration find the person holding it without waiting for a
                    // read table; erasure deletes it with the others.
                    tokens.push(token(ATENA_NO_TOKEN, e.person_id, &e.atena_no));
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
            command_fingerprint: None,
        };
        Ok(self.store.append(tenant, request).await?)
    }

    /// An aggregate's state and history as recorded at `as_of` (default: now); personal parts
    /// are decrypted only when asked.
    pub async fn replay<A: Aggregate>(
        &self,
        tenant: TenantCode,
        id: A::Id,
        as_of: Option<DateTime<Utc>>,
        decrypt: Decrypt,
    ) -> Result<View<A>, LedgerError> {
        let stream_id = A::stream_id(id);
        let recorded = match as_of {
            None => self.store.read_stream(tenant, &stream_id, decrypt).await?,
            Some(at) => self.store.read_stream_as_of(tenant, &stream_id, at, decrypt).await?,
        };
        let mut state = A::State::default();
        let mut events = Vec::with_capacity(recorded.len());
        for event in recorded {
            let decoded = decode(&event)?;
            state = A::evolve(state, &decoded);
            events.push((event, decoded));
        }
        let version = events.last().map_or(0, |(event, _)| event.stream_version);
        Ok(View { id, version, state, events })
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
        let error = EligibilityRuleSet::parse(&misspelt).expect_err("a misspelt setting is refused");
        assert!(error.contains("key `notification_deadline`: unknown field"), "{error}");
    }
}
