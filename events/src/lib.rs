//! The stored event payloads of the kokuho ledger.
//!
//! This crate owns what an event *says*: its type name, its schema version, the serde shape of
//! its payload, and the upcasters that read old versions as the current one. It knows nothing of
//! envelopes, hashing, encryption or databases (that is `kokuho-store`), nor of the rules that
//! decide which events happen (that is `kokuho-domain`).
//!
//! Personal data convention: everything personal in a payload lives under the top-level key
//! `personal`, typed as [`Personal<T>`]. The store encrypts that part with the data subject's key
//! and stores the rest in clear, so projections never need to decrypt, and destroying the key
//! erases the personal part everywhere while the hash chain (which covers the ciphertext) still
//! verifies.

mod benefits;
mod codec;
mod collection;
mod eligibility;
mod payloads;
mod personal;
mod tax;
mod upcast;

pub use benefits::*;
pub use codec::{DecodeError, Encoded, LedgerEvent, PersonalPart, CATALOG};
pub use collection::*;
pub use eligibility::*;
pub use payloads::*;
pub use personal::Personal;
pub use tax::*;
pub use upcast::UPCASTERS;
