//! Upcasters: each reads one schema version of one event type as the next version.
//!
//! Stored events are never rewritten (invariant 1); old versions are read through this chain
//! instead. An upcaster is a pure function on the JSON object, so it also works on the clear
//! part of an event whose personal part is unavailable.

use serde_json::{Map, Value};

use crate::DecodeError;

/// `(event type, from version, upcaster to from + 1)`.
pub type Upcaster = fn(Map<String, Value>) -> Map<String, Value>;

pub const UPCASTERS: &[(&str, u16, Upcaster)] = &[("PaymentReceived", 1, payment_received_v1_to_v2)];

/// v1 had `amount` (yen) and no channel; every v1 payment was taken at the counter.
fn payment_received_v1_to_v2(mut object: Map<String, Value>) -> Map<String, Value> {
    if let Some(amount) = object.remove("amount") {
        object.insert("amount_yen".to_owned(), amount);
    }
    object.entry("channel").or_insert_with(|| Value::String("counter".to_owned()));
    object
}

pub(crate) fn to_current(
    event_type: &str,
    mut version: u16,
    current: u16,
    value: Value,
) -> Result<Value, DecodeError> {
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
