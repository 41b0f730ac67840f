//! The command path for aggregates other than the person (a provision, an inquiry, a person's
//! sensitivity flags): short streams of their own, replayed on every command rather than
//! cached, decided by a pure function and appended with optimistic concurrency like
//! [`Ledger::execute`]. Each aggregate has its own rejection type, so a refusal is handed back
//! as a value rather than as a [`LedgerError`].

use kokuho_domain::TenantCode;
use kokuho_events::LedgerEvent;
use kokuho_store::{AppendError, AppendRequest, CommandMeta, Decrypt, ExpectedVersion};

use crate::{decode, to_new_event, Executed, Ledger, LedgerError, CONFLICT_RETRIES_MAX};

/// What a command on a stream came to.
#[derive(Debug)]
pub enum StreamOutcome<R> {
    /// Appended (or, for a retried idempotency key, appended by the first attempt: then
    /// `events` is empty).
    Appended(Executed),
    /// The decision found nothing to record.
    Unchanged,
    /// The decision refused the command.
    Refused(R),
}

impl Ledger {
    /// A stream's state, folded with `evolve` from its current events, and its version.
    /// Personal parts are not decrypted: no decision on these streams reads them.
    pub async fn load_stream<S: Default>(
        &self,
        tenant: TenantCode,
        stream_id: &str,
        evolve: fn(S, &LedgerEvent) -> S,
    ) -> Result<(i64, S), LedgerError> {
        let recorded = self.store.read_stream(tenant, stream_id, Decrypt::No).await?;
        let mut state = S::default();
        let mut version = 0;
        for event in &recorded {
            state = evolve(state, &decode(event)?);
            version = event.stream_version;
        }
        Ok((version, state))
    }

    /// Decides a command against `stream_id`'s current state and appends the events expecting
    /// the version decided on; on losing a race, decides again on the fresh state.
    pub async fn decide_on_stream<S: Default, R>(
        &self,
        tenant: TenantCode,
        stream_id: &str,
        evolve: fn(S, &LedgerEvent) -> S,
        mut decide: impl FnMut(&S) -> Result<Vec<LedgerEvent>, R>,
        meta: CommandMeta,
    ) -> Result<StreamOutcome<R>, LedgerError> {
        for _ in 0..CONFLICT_RETRIES_MAX {
            let (version, state) = self.load_stream(tenant, stream_id, evolve).await?;
            let events = match decide(&state) {
                Ok(events) => events,
                Err(rejection) => {
                    // A retry of a command that already succeeded is refused by the state it
                    // created; answer it with the first result instead.
                    if let Some(key) = meta.idempotency_key.as_deref() {
                        if let Some(outcome) = self.store.idempotent_outcome(tenant, key).await? {
                            return Ok(StreamOutcome::Appended(Executed { outcome, events: Vec::new() }));
                        }
                    }
                    return Ok(StreamOutcome::Refused(rejection));
                }
            };
            if events.is_empty() {
                return Ok(StreamOutcome::Unchanged);
            }
            let request = AppendRequest {
                stream_id: stream_id.to_owned(),
                expected_version: ExpectedVersion::from_current(version),
                meta: meta.clone(),
                events: events.iter().map(to_new_event).collect(),
                search_tokens: self.search_tokens(tenant, &events),
            };
            match self.store.append(tenant, request).await {
                Ok(outcome) if outcome.duplicate => {
                    return Ok(StreamOutcome::Appended(Executed { outcome, events: Vec::new() }))
                }
                Ok(outcome) => return Ok(StreamOutcome::Appended(Executed { outcome, events })),
                Err(AppendError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(LedgerError::Contended { stream_id: stream_id.to_owned() })
    }
}
