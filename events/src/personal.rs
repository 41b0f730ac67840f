//! [`Personal<T>`]: the part of a payload that is encrypted per person.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Personal data inside an event payload.
///
/// `Present` when the reader could decrypt it. `Unavailable` when the reader did not decrypt it
/// (projections never do) or when the person's key was destroyed at the end of retention: either
/// way the data is not there to use, and code must not guess it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Personal<T> {
    Present(T),
    #[default]
    Unavailable,
}

impl<T> Personal<T> {
    pub fn as_present(&self) -> Option<&T> {
        match self {
            Personal::Present(value) => Some(value),
            Personal::Unavailable => None,
        }
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Present(value) => value.serialize(serializer),
            Personal::Unavailable => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Personal::Present(value),
            None => Personal::Unavailable,
        })
    }
}
