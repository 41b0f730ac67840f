//! Black-box tests of kokuho: the store, projections, HTTP router and the real binary, against
//! SQLite by default and against PostgreSQL when `KOKUHO_TEST_POSTGRES_URL` names a server
//! (`scripts/test` runs the suite both ways). Every test gets a fresh database. What the tests share
//! (the database, the test clock, the HTTP client in process or against `kokuho serve`, builders,
//! the real binary) is in `support/`.

mod age;
mod aggregates;
mod architecture;
mod audit;
mod bench_http;
mod bench_payments;
mod benefits;
mod citizen;
mod cli;
mod collection;
mod eligibility;
mod enrolment;
mod http;
mod input;
mod my_number;
mod openapi;
mod policies;
mod projections;
mod retention;
mod slow_clients;
mod store;
mod support;
mod tax;
mod tax_policy;
mod throttling;
mod walkthrough;
