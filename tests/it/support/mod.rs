//! What every integration test shares, in one place:
//!
//! - [`TestDb`]: a fresh database per test, on the backend the run is for, with its master key;
//! - [`TestClock`]: a clock the test moves by hand; the store stamps `recorded_at` with it and
//!   the ledger decides with it, so "as recorded at T" needs no sleeping;
//! - [`Client`]: the HTTP API, either in process (the router, with the ledger following) or
//!   against the real `kokuho serve` binary over TCP, with the same methods;
//! - builders for the bodies tests keep repeating: [`PersonBuilder`], [`HouseholdBuilder`],
//!   [`StaffBuilder`] (an account created, then enrolled by its owner through the enrolment
//!   path: [`enrol`], or [`enrol_over_http`] against a server), [`acquisition`], [`loss`];
//! - the real binary ([`kokuho`], [`output`], [`serve`]);
//! - domain commands for tests that drive the ledger directly ([`register`], [`acquire`],
//!   [`meta`]), a payment as ledgers recorded them on the person before the household account
//!   ([`legacy_payment`]), a household account scheduled as the collection policy does
//!   ([`scheduled_account`]), the ledger in process on a pinned day ([`ledgerd_on`],
//!   [`restarted`]), and [`Scenario`], given / when / then over any aggregate's pure decisions.

mod binary;
mod builders;
mod client;
mod clock;
mod commands;
mod db;
mod ledgerd;

pub use binary::*;
pub use builders::*;
pub use client::*;
pub use clock::*;
pub use commands::*;
pub use db::*;
pub use kokuho_domain::aggregate::Scenario;
pub use ledgerd::*;
