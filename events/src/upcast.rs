//! Upcasters: each reads one schema version of one event type as the next version.
//!
//! Stored events are never rewritten (invariant 1); old versions are read through this chain
//! instead. An upcaster is a pure function on the JSON object, so it also works on the clear
//! part of an event whose personal part is unavailable.

use chrono::{Days, NaiveDate};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::DecodeError;

/// `(event type, from version, upcaster to from + 1)`.
pub type Upcaster = fn(Map<String, Value>) -> Map<String, Value>;

pub const UPCASTERS: &[(&str, u16, Upcaster)] = &[
    ("PaymentReceived", 1, payment_received_v1_to_v2),
    ("EligibilityAcquired", 1, eligibility_acquired_v1_to_v2),
    ("StaffSignInFailed", 1, staff_sign_in_failed_v1_to_v2),
];

/// v1 kept the login as typed (a password typed into the login field, 60 KB of anything); v2
/// keeps only its keyed hash. An upcaster holds no key, so it cannot compute the hash: a v1
/// event reads as v2 with `login_hmac: null`, and the typed text, still in the stored bytes
/// (events are never rewritten, and the hash chain covers them), is not passed on to any reader.
/// `user_id` says whose account it was whenever the login existed.
fn staff_sign_in_failed_v1_to_v2(mut object: Map<String, Value>) -> Map<String, Value> {
    object.remove("login");
    object.insert("login_hmac".to_owned(), Value::Null);
    object
}

/// v1 had `amount` (yen) and no channel; every v1 payment was taken at the counter.
fn payment_received_v1_to_v2(mut object: Map<String, Value>) -> Map<String, Value> {
    if let Some(amount) = object.remove("amount") {
        object.insert("amount_yen".to_owned(), amount);
    }
    object.entry("channel").or_insert_with(|| Value::String("counter".to_owned()));
    object
}

/// v1 had no period id, source, lateness or former municipality:
///
/// - `period_id`: derived from the person and the first insured day (a person had at most one
///   period starting on a day), so every reader names the period alike;
/// - `acquisition`: `not_recorded` (v1 did not ask for it);
/// - `notification_late`: the national 14-day deadline (施行規則 §2) applied to the dates;
/// - `former_municipality`: none.
fn eligibility_acquired_v1_to_v2(mut object: Map<String, Value>) -> Map<String, Value> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (person_id, effective_on) = (text("person_id"), text("effective_on"));
    let period_id = derived_uuid(&format!("kokuho period id/{person_id}/{effective_on}"));
    let late = match (text("event_date").parse::<NaiveDate>(), text("notified_on").parse::<NaiveDate>()) {
        (Ok(event_date), Ok(notified_on)) => notified_on > event_date + Days::new(V1_NOTIFICATION_DEADLINE_DAYS),
        _ => false,
    };
    object.insert("period_id".to_owned(), Value::String(period_id.to_string()));
    object
        .entry("acquisition")
        .or_insert_with(|| serde_json::json!({ "source": "not_recorded", "legal_basis": "not_recorded" }));
    object.entry("notification_late").or_insert(Value::Bool(late));
    object.entry("former_municipality").or_insert(Value::Null);
    object
}

/// The deadline every v1 acquisition was under (国民健康保険法施行規則 §2).
const V1_NOTIFICATION_DEADLINE_DAYS: u64 = 14;

/// A UUID (version 8) derived from `name`: the same name always gives the same id.
fn derived_uuid(name: &str) -> Uuid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let bytes: [u8; 16] = digest[..16].try_into().expect("a SHA-256 digest has 32 bytes");
    Uuid::new_v8(bytes)
}

pub(crate) fn to_current(event_type: &str, mut version: u16, current: u16, value: Value) -> Result<Value, DecodeError> {
    let Value::Object(mut object) = value else {
        // Not an object: let the typed decode report it precisely.
        return Ok(value);
    };
    while version < current {
        let (_, _, upcaster) = UPCASTERS
            .iter()
            .find(|(name, from, _)| *name == event_type && *from == version)
            .ok_or_else(|| DecodeError::MissingUpcaster { event_type: event_type.to_owned(), version })?;
        object = upcaster(object);
        version += 1;
    }
    Ok(Value::Object(object))
}
