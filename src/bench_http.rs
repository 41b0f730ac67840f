//! `kokuho bench http`: the clerk's request mix over HTTP, on loopback, against kokuho's own
//! server (issue 13, "an HTTP load benchmark").
//!
//! The bench starts the real application ([`crate::Application`]: router, serve loop with its
//! limits, follower of projections and policies) on `127.0.0.1:0` on the ledger it is given,
//! creates two staff accounts as `kokuho admin create-user` does, and their owners enrol and sign
//! in over HTTP (enrolment code, password, TOTP code). Then `connections` clients, each with one
//! kept-alive HTTP/1 connection, each send the clerk cycle for their share of `persons`, one
//! request at a time (a bounded, closed-loop load: at most `connections` requests in flight):
//!
//! 1. register a person (eligibility clerk),
//! 2. acquire eligibility (eligibility clerk; the answer waits for the policies' reactions),
//! 3. record [`PAYMENTS_PER_CYCLE`] payments on the account of the person's household for fiscal
//!    year [`ACCOUNT_FISCAL_YEAR`] (collection clerk, each with its own receipt id),
//! 4. read the person with a purpose (collection clerk, `purpose=collection`; the access is
//!    recorded before the answer),
//! 5. ask the eligibility answer as recorded at a past instant (eligibility clerk, `as_of` = the
//!    acquisition's `recorded_at`; access recorded too).
//!
//! Every request is authorised by its session token and role. Then, in the same process and on
//! the same ledger, the same commands without HTTP (`ledger.execute`, same number of clients):
//! the in-process rate the HTTP figures are compared with.
//!
//! Setup, in process and not timed: before each of the two runs, every cycle's household
//! account is scheduled (`AccountCommand::Schedule`, the assessed total being the sum of the
//! cycle's payments, split by the bench tenant's collection file, [`crate::bench::bench_rules`]);
//! after it, each registered person is made the head of that household (`HouseholdCommand::Establish`:
//! a person registered over HTTP in the mix exists only once the cycle has begun). The account
//! decision reads no household, so the payments do not wait for it.
//!
//! The requests are built in one place ([`requests`]), one function per kind.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use kokuho_auth::{Role, TotpSecret};
use kokuho_domain::collection::household_account::{AccountCommand, AccountId, HouseholdAccount};
use kokuho_domain::collection::{Channel, ReceiptId};
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason};
use kokuho_ledger::Ledger;
use kokuho_store::Backend;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::bench::{payment_amount, percentile_ms, Progress, ACCOUNT_FISCAL_YEAR, BENCH_TENANT};
use crate::Config;

/// Payments a clerk records per person in one cycle.
pub const PAYMENTS_PER_CYCLE: usize = 3;

/// The assessed total of a cycle's household account: the sum of its payments.
fn cycle_total() -> i64 {
    (0..PAYMENTS_PER_CYCLE).map(payment_amount).sum()
}

#[derive(Debug, Clone)]
pub struct HttpBenchOptions {
    /// Persons (clerk cycles) over HTTP; as many again in process.
    pub persons: usize,
    /// Concurrent HTTP/1 connections (and in-process clients).
    pub connections: usize,
}

/// The kinds of request of the clerk's mix, in the order of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Register,
    AcquireEligibility,
    RecordPayment,
    ReadPerson,
    EligibilityAsOf,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::Register, Kind::AcquireEligibility, Kind::RecordPayment, Kind::ReadPerson, Kind::EligibilityAsOf];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::AcquireEligibility => "acquire_eligibility",
            Kind::RecordPayment => "record_payment",
            Kind::ReadPerson => "read_person",
            Kind::EligibilityAsOf => "eligibility_as_of",
        }
    }

    pub fn is_command(self) -> bool {
        matches!(self, Kind::Register | Kind::AcquireEligibility | Kind::RecordPayment)
    }
}

/// One request kind's figures.
#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    pub kind: Kind,
    pub requests: usize,
    /// Of this kind, over the whole HTTP run's duration.
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers that were not 2xx, by status (0: no answer, the connection failed).
    pub non_2xx: BTreeMap<u16, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HttpBenchReport {
    pub workload: String,
    pub backend: &'static str,
    pub connections: usize,
    pub persons: usize,
    pub requests: usize,
    pub elapsed_s: f64,
    /// Every request of the mix per second.
    pub requests_per_s: f64,
    /// The mix's commands (register, acquire, payments) per second over HTTP.
    pub http_commands_per_s: f64,
    /// The same commands through `ledger.execute`, same clients, same ledger, same run.
    pub in_process_commands_per_s: f64,
    /// `requests_per_s / in_process_commands_per_s` (the issue's target: ≥ 50%).
    pub requests_share_of_in_process: f64,
    /// Answers 500–599: must be 0.
    pub server_errors: usize,
    /// Every non-2xx answer by status, all kinds together.
    pub non_2xx: BTreeMap<u16, usize>,
    pub kinds: Vec<KindReport>,
}

/// The request builders, one per kind: the one place to change when a route moves.
pub mod requests {
    use super::*;

    /// A request ready to send: method, path under the server's base, body, Idempotency-Key.
    #[derive(Debug, Clone)]
    pub struct Spec {
        pub kind: Kind,
        pub method: reqwest::Method,
        pub path: String,
        pub body: Option<Value>,
        pub idempotency_key: Option<String>,
    }

    /// A 宛名番号 unique to this run and person.
    pub fn atena_no(run: &str, index: usize) -> String {
        format!("H{}{index:09}", &run[run.len().saturating_sub(8)..])
    }

    pub fn register(tenant: &str, run: &str, index: usize) -> Spec {
        Spec {
            kind: Kind::Register,
            method: reqwest::Method::POST,
            path: format!("/v1/{tenant}/persons"),
            body: Some(json!({
                "atena_no": atena_no(run, index),
                "name": format!("試験 花子{index}"),
                "name_kana": "シケン ハナコ",
                "sex": if index.is_multiple_of(2) { "female" } else { "male" },
                "date_of_birth": format!("{}-{:02}-{:02}", 1960 + index % 50, 1 + index % 12, 1 + index % 28),
                "address": format!("埼玉県熊谷市宮町二丁目{}番地", index % 100),
                "source": "resident_registry",
                "legal_basis": "住民基本台帳法",
            })),
            idempotency_key: Some(format!("{run}-{index}-r")),
        }
    }

    pub fn acquire_eligibility(tenant: &str, run: &str, index: usize, person: Uuid) -> Spec {
        Spec {
            kind: Kind::AcquireEligibility,
            method: reqwest::Method::POST,
            path: format!("/v1/{tenant}/persons/{person}/eligibility"),
            body: Some(json!({
                "reason": "moved_in",
                "event_date": "2025-04-01",
                "notified_on": "2025-04-07",
                "source": "person_or_agent",
                "legal_basis": "国民健康保険法 第9条",
            })),
            idempotency_key: Some(format!("{run}-{index}-a")),
        }
    }

    /// The `payment`-th payment of cycle `index` to its household's account.
    pub fn record_payment(tenant: &str, run: &str, index: usize, household: Uuid, payment: usize) -> Spec {
        Spec {
            kind: Kind::RecordPayment,
            method: reqwest::Method::POST,
            path: format!("/v1/{tenant}/households/{household}/accounts/{ACCOUNT_FISCAL_YEAR}/payments"),
            body: Some(json!({
                "receipt_id": receipt_id(index, payment),
                "amount_yen": payment_amount(payment),
                "received_on": format!("{ACCOUNT_FISCAL_YEAR}-07-31"),
                "channel": "bank",
            })),
            idempotency_key: Some(format!("{run}-{index}-p{payment}")),
        }
    }

    /// A receipt id unique on the cycle's account.
    pub fn receipt_id(index: usize, payment: usize) -> String {
        format!("bench-{index}-{payment}")
    }

    pub fn read_person(tenant: &str, person: Uuid) -> Spec {
        Spec {
            kind: Kind::ReadPerson,
            method: reqwest::Method::GET,
            path: format!("/v1/{tenant}/persons/{person}?purpose=collection"),
            body: None,
            idempotency_key: None,
        }
    }

    pub fn eligibility_as_of(tenant: &str, person: Uuid, as_of: DateTime<Utc>) -> Spec {
        // RFC 3339 with a `Z`, nothing to escape in a query.
        let as_of = as_of.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        Spec {
            kind: Kind::EligibilityAsOf,
            method: reqwest::Method::GET,
            path: format!("/v1/{tenant}/persons/{person}/eligibility?purpose=eligibility&as_of={as_of}&on=2025-10-01"),
            body: None,
            idempotency_key: None,
        }
    }
}

/// The signed-in clerks the mix needs: who sends which kind.
#[derive(Clone)]
struct Clerks {
    eligibility: String,
    collection: String,
}

impl Clerks {
    fn token_for(&self, kind: Kind) -> &str {
        match kind {
            Kind::Register | Kind::AcquireEligibility | Kind::EligibilityAsOf => &self.eligibility,
            Kind::RecordPayment | Kind::ReadPerson => &self.collection,
        }
    }
}

/// One request's outcome: (kind, status or 0 without an answer, latency).
type Sample = (Kind, u16, Duration);

/// Sends `spec`; answers the status (0 when the connection failed) and the body as JSON.
async fn send(client: &reqwest::Client, base: &str, token: Option<&str>, spec: &requests::Spec) -> (u16, Value) {
    let mut request = client.request(spec.method.clone(), format!("{base}{}", spec.path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = &spec.idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = &spec.body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
            (status, body.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// A staff account of `role`, created as `kokuho admin create-user` does, whose owner then
/// enrols and signs in over HTTP as a browser would: answers the session token.
async fn clerk(
    staff: &kokuho_staff::Staff,
    client: &reqwest::Client,
    base: &str,
    tenant: TenantCode,
    role: Role,
) -> anyhow::Result<String> {
    let login = format!("bench-{}-{}", role.as_str().replace('_', "-"), &Uuid::now_v7().simple().to_string()[24..]);
    let created = staff.create_user(tenant, &login, "負荷試験 職員", role, None).await?;
    let code = created.enrolment.code.to_string();
    let post = |path: String, body: Value| requests::Spec {
        kind: Kind::Register,
        method: reqwest::Method::POST,
        path,
        body: Some(body),
        idempotency_key: None,
    };
    let (status, started) = send(
        client,
        base,
        None,
        &post(format!("/v1/{tenant}/enrolment"), json!({"login": login, "enrolment_code": code})),
    )
    .await;
    anyhow::ensure!(status == 200 || status == 201, "starting the enrolment of {login} answered {status}");
    let secret = started["totp_secret_base32"]
        .as_str()
        .and_then(TotpSecret::from_base32)
        .context("the enrolment answered no authenticator secret")?;
    let password =
        format!("load test {} keeps {}", Uuid::new_v4().simple(), &Uuid::new_v4().simple().to_string()[..12]);
    // Complete with the previous step's code (accepted), keeping the current one for the
    // sign-in: each step's code works once. A step may begin between the two: try once more.
    let mut completed = false;
    for _ in 0..2 {
        let code_then = secret.code_at(Utc::now() - chrono::TimeDelta::seconds(30));
        let body = json!({"login": login, "enrolment_code": code, "password": password, "code": code_then});
        let (status, _) = send(client, base, None, &post(format!("/v1/{tenant}/enrolment/complete"), body)).await;
        if status == 201 || status == 200 {
            completed = true;
            break;
        }
    }
    anyhow::ensure!(completed, "completing the enrolment of {login} was refused");
    for _ in 0..2 {
        let body = json!({"login": login, "password": password, "code": secret.code_at(Utc::now())});
        let (status, session) = send(client, base, None, &post(format!("/v1/{tenant}/sessions"), body)).await;
        if status == 201 || status == 200 {
            return session["token"].as_str().map(str::to_owned).context("the sign-in answered no token");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("signing in {login} was refused")
}

/// What every connection of one run shares.
#[derive(Clone)]
struct Load {
    base: Arc<str>,
    clerks: Clerks,
    run: Arc<str>,
    tenant: String,
    /// Each cycle's household (its account scheduled in setup).
    households: Arc<Vec<Uuid>>,
    done: Arc<std::sync::atomic::AtomicU64>,
    progress: Progress,
    total: u64,
}

/// One connection's clerk cycles for the persons `indices`: the samples, and each person
/// registered (cycle index, person).
async fn cycles(client: reqwest::Client, load: Load, indices: Vec<usize>) -> (Vec<Sample>, Vec<(usize, Uuid)>) {
    let Load { base, clerks, run, tenant, households, done, progress, total } = load;
    let mut samples = Vec::with_capacity(indices.len() * (4 + PAYMENTS_PER_CYCLE));
    let mut registered_persons = Vec::with_capacity(indices.len());
    let timed = |spec: requests::Spec| {
        let (client, base, token) = (client.clone(), base.clone(), clerks.token_for(spec.kind).to_owned());
        async move {
            let at = Instant::now();
            let (status, body) = send(&client, &base, Some(&token), &spec).await;
            ((spec.kind, status, at.elapsed()), body)
        }
    };
    for index in indices {
        let (sample, registered) = timed(requests::register(&tenant, &run, index)).await;
        samples.push(sample);
        let status = sample.1;
        let person = registered["person_id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
        let Some(person) = person.filter(|_| (200..300).contains(&status)) else {
            continue;
        };
        registered_persons.push((index, person));
        let (sample, acquired) = timed(requests::acquire_eligibility(&tenant, &run, index, person)).await;
        samples.push(sample);
        for payment in 0..PAYMENTS_PER_CYCLE {
            samples.push(timed(requests::record_payment(&tenant, &run, index, households[index], payment)).await.0);
        }
        samples.push(timed(requests::read_person(&tenant, person)).await.0);
        let as_of = acquired["recorded_at"].as_str().and_then(|at| DateTime::parse_from_rfc3339(at).ok());
        let as_of = as_of.map(|at| at.with_timezone(&Utc)).unwrap_or_else(Utc::now);
        samples.push(timed(requests::eligibility_as_of(&tenant, person, as_of)).await.0);
        let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress("http", finished, total);
    }
    (samples, registered_persons)
}

fn setup_meta(key: String) -> kokuho_store::CommandMeta {
    kokuho_store::CommandMeta {
        actor: kokuho_store::Actor::System("bench".into()),
        purpose: "collection".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: Some(key),
    }
}

/// Setup, not timed: a household of its own for each of `cycles` cycles, its account of
/// [`ACCOUNT_FISCAL_YEAR`] scheduled to the cycle's payments, `clients` at a time. Answers the
/// households by cycle.
async fn schedule_accounts(
    ledger: &Arc<Ledger>,
    tenant: TenantCode,
    cycles: usize,
    clients: usize,
    progress: &Progress,
) -> anyhow::Result<Arc<Vec<Uuid>>> {
    let run: Arc<str> = Uuid::now_v7().simple().to_string().into();
    let households: Arc<Vec<Uuid>> = Arc::new((0..cycles).map(|_| Uuid::now_v7()).collect());
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (ledger, run, households, done, progress) =
            (ledger.clone(), run.clone(), households.clone(), done.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            for index in (client..cycles).step_by(clients) {
                let id = AccountId { household_id: households[index], fiscal_year: ACCOUNT_FISCAL_YEAR };
                let schedule = crate::bench::yearly_schedule(cycle_total(), ACCOUNT_FISCAL_YEAR);
                let scheduled = ledger
                    .execute::<HouseholdAccount>(tenant, id, schedule, setup_meta(format!("{run}-{index}-s")))
                    .await?;
                anyhow::ensure!(!scheduled.events.is_empty(), "the account of cycle {index} was not scheduled");
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress("accounts", finished, cycles as u64);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(households)
}

/// Not timed: each registered person (cycle index, person) made the head of its cycle's
/// household, 16 at a time.
async fn establish_households(
    ledger: &Arc<Ledger>,
    tenant: TenantCode,
    households: &[Uuid],
    persons: &[(usize, Uuid)],
    progress: &Progress,
) -> anyhow::Result<()> {
    let run = Uuid::now_v7().simple().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    let (mut next, mut done) = (0, 0u64);
    loop {
        while tasks.len() < 16 && next < persons.len() {
            let (index, person) = persons[next];
            let (ledger, household, key) = (ledger.clone(), households[index], format!("{run}-{index}-h"));
            tasks.spawn(async move {
                let establish = HouseholdCommand::Establish {
                    head_person_id: person,
                    established_on: NaiveDate::from_ymd_opt(ACCOUNT_FISCAL_YEAR, 4, 1).expect("valid date"),
                    acquisition: Acquisition {
                        source: "resident_registry".into(),
                        legal_basis: "住民基本台帳法".into(),
                    },
                };
                ledger.execute::<Household>(tenant, household, establish, setup_meta(key)).await.map(drop)
            });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else { break };
        joined??;
        done += 1;
        progress("households", done, persons.len() as u64);
    }
    Ok(())
}

/// The mix's commands for `persons` persons through `ledger.execute`, `clients` at a time:
/// commands per second.
async fn in_process_rate(
    ledger: Arc<Ledger>,
    tenant: TenantCode,
    persons: usize,
    clients: usize,
    progress: &Progress,
) -> anyhow::Result<f64> {
    let households = schedule_accounts(&ledger, tenant, persons, clients, progress).await?;
    let run: Arc<str> = Uuid::now_v7().simple().to_string().into();
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (ledger, run, households, done, progress) =
            (ledger.clone(), run.clone(), households.clone(), done.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut commands = 0usize;
            let mut registered = Vec::new();
            for index in (client..persons).step_by(clients) {
                let person = PersonId::new();
                let meta = |suffix: String| kokuho_store::CommandMeta {
                    actor: kokuho_store::Actor::System("bench".into()),
                    purpose: "eligibility".into(),
                    correlation_id: Uuid::now_v7(),
                    causation_id: None,
                    idempotency_key: Some(format!("{run}-{index}-{suffix}")),
                };
                let register = crate::bench::register_command(index, &run);
                ledger.execute::<Person>(tenant, person, register, meta("r".into())).await?;
                let acquire = PersonCommand::AcquireEligibility {
                    reason: AcquisitionReason::MovedIn,
                    event_date: NaiveDate::from_ymd_opt(2025, 4, 1).expect("valid date"),
                    notified_on: NaiveDate::from_ymd_opt(2025, 4, 7).expect("valid date"),
                    period_id: Uuid::now_v7(),
                    acquisition: Acquisition {
                        source: "person_or_agent".into(),
                        legal_basis: "国民健康保険法 第9条".into(),
                    },
                    former_municipality: None,
                    loss: None,
                };
                ledger.execute::<Person>(tenant, person, acquire, meta("a".into())).await?;
                let account = AccountId { household_id: households[index], fiscal_year: ACCOUNT_FISCAL_YEAR };
                for payment in 0..PAYMENTS_PER_CYCLE {
                    let receive = AccountCommand::Receive {
                        receipt_id: ReceiptId::parse(&requests::receipt_id(index, payment))?,
                        amount: payment_amount(payment),
                        received_on: NaiveDate::from_ymd_opt(ACCOUNT_FISCAL_YEAR, 7, 31).expect("valid date"),
                        channel: Channel::Bank,
                    };
                    ledger.execute::<HouseholdAccount>(tenant, account, receive, meta(format!("p{payment}"))).await?;
                }
                registered.push((index, person.as_uuid()));
                commands += 2 + PAYMENTS_PER_CYCLE;
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress("in-process", finished, persons as u64);
            }
            anyhow::Ok((commands, registered))
        }));
    }
    let (mut commands, mut registered) = (0, Vec::new());
    for task in tasks {
        let (count, persons) = task.await??;
        commands += count;
        registered.extend(persons);
    }
    let rate = commands as f64 / started.elapsed().as_secs_f64().max(1e-9);
    establish_households(&ledger, tenant, &households, &registered, progress).await?;
    Ok(rate)
}

/// Folds the samples into per-kind figures over a run of `elapsed`.
pub fn summarise(samples: &[Sample], elapsed: Duration) -> (Vec<KindReport>, BTreeMap<u16, usize>, usize) {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let mut kinds = Vec::new();
    let mut all_non_2xx = BTreeMap::new();
    let mut server_errors = 0;
    for kind in Kind::ALL {
        let mut latencies: Vec<Duration> = Vec::new();
        let mut non_2xx = BTreeMap::new();
        for &(_, status, latency) in samples.iter().filter(|(k, _, _)| *k == kind) {
            latencies.push(latency);
            if !(200..300).contains(&status) {
                *non_2xx.entry(status).or_insert(0) += 1;
                *all_non_2xx.entry(status).or_insert(0) += 1;
                if (500..600).contains(&status) {
                    server_errors += 1;
                }
            }
        }
        latencies.sort_unstable();
        kinds.push(KindReport {
            kind,
            requests: latencies.len(),
            per_s: latencies.len() as f64 / seconds,
            p50_ms: percentile_ms(&latencies, 0.50),
            p99_ms: percentile_ms(&latencies, 0.99),
            non_2xx,
        });
    }
    (kinds, all_non_2xx, server_errors)
}

/// Runs the HTTP bench on the ledger of `config` (see the module's documentation).
pub async fn run(
    config: &Config,
    rules: kokuho_rules::Rules,
    options: &HttpBenchOptions,
    progress: Progress,
) -> anyhow::Result<HttpBenchReport> {
    anyhow::ensure!(options.persons > 0 && options.connections > 0, "--persons and --connections must be at least 1");
    let tenant = TenantCode::parse(BENCH_TENANT).expect("the bench tenant code is valid");
    let mut config = config.clone();
    // Room for the bench's connections whatever the defaults become.
    config.http.max_connections = config.http.max_connections.max(options.connections + 8);
    let app = crate::Application::build_with_rules(
        &config,
        "127.0.0.1:0".parse().expect("a valid address"),
        kokuho_ledger::system_clock(),
        crate::bench::bench_rules(rules),
    )
    .await?;
    let base: Arc<str> = format!("http://{}", app.local_addr()).into();
    let backend = match app.ledgerd().store.db().backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let (ledger, staff) = (app.ledgerd().ledger.clone(), app.ledgerd().staff.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let outcome = async {
        let setup_client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        let clerks = Clerks {
            eligibility: clerk(&staff, &setup_client, &base, tenant, Role::EligibilityClerk).await?,
            collection: clerk(&staff, &setup_client, &base, tenant, Role::CollectionClerk).await?,
        };
        let households = schedule_accounts(&ledger, tenant, options.persons, options.connections, &progress).await?;
        let run: Arc<str> = Uuid::now_v7().simple().to_string().into();
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for connection in 0..options.connections {
            // One client per connection, at most one idle connection kept: each task is one
            // kept-alive HTTP/1 connection sending one request at a time.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(120))
                .tcp_nodelay(true)
                .build()?;
            let indices: Vec<usize> = (connection..options.persons).step_by(options.connections).collect();
            let load = Load {
                base: base.clone(),
                clerks: clerks.clone(),
                run: run.clone(),
                tenant: tenant.to_string(),
                households: households.clone(),
                done: done.clone(),
                progress: progress.clone(),
                total: options.persons as u64,
            };
            tasks.push(tokio::spawn(cycles(client, load, indices)));
        }
        let (mut samples, mut registered) = (Vec::new(), Vec::new());
        for task in tasks {
            let (cycle_samples, persons) = task.await?;
            samples.extend(cycle_samples);
            registered.extend(persons);
        }
        let elapsed = started.elapsed();
        establish_households(&ledger, tenant, &households, &registered, &progress).await?;
        let in_process =
            in_process_rate(ledger.clone(), tenant, options.persons, options.connections, &progress).await?;
        anyhow::Ok((samples, elapsed, in_process))
    }
    .await;
    let _ = stop.send(());
    server.await??;
    let (samples, elapsed, in_process_commands_per_s) = outcome?;

    let (kinds, non_2xx, server_errors) = summarise(&samples, elapsed);
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let commands = samples.iter().filter(|(kind, _, _)| kind.is_command()).count();
    let requests_per_s = samples.len() as f64 / seconds;
    Ok(HttpBenchReport {
        workload: format!("http-{}-persons", options.persons),
        backend,
        connections: options.connections,
        persons: options.persons,
        requests: samples.len(),
        elapsed_s: seconds,
        requests_per_s,
        http_commands_per_s: commands as f64 / seconds,
        in_process_commands_per_s,
        requests_share_of_in_process: requests_per_s / in_process_commands_per_s.max(1e-9),
        server_errors,
        non_2xx,
        kinds,
    })
}

/// The report as a table (what `kokuho bench http` prints without `--json`).
pub fn table(report: &HttpBenchReport) -> String {
    let mut out = format!(
        "{} on {}: {} connections, {} requests in {:.1} s\n",
        report.workload, report.backend, report.connections, report.requests, report.elapsed_s
    );
    out += &format!("  {:<20} {:>8} {:>9} {:>9} {:>9}  non-2xx\n", "kind", "requests", "per s", "p50 ms", "p99 ms");
    for kind in &report.kinds {
        let non_2xx = if kind.non_2xx.is_empty() {
            "none".to_owned()
        } else {
            kind.non_2xx.iter().map(|(status, count)| format!("{status}×{count}")).collect::<Vec<_>>().join(" ")
        };
        out += &format!(
            "  {:<20} {:>8} {:>9.0} {:>9.2} {:>9.2}  {}\n",
            kind.kind.as_str(),
            kind.requests,
            kind.per_s,
            kind.p50_ms,
            kind.p99_ms,
            non_2xx
        );
    }
    out += &format!(
        "  total {:.0} requests/s ({:.0} commands/s over HTTP); in process, same run: {:.0} commands/s: requests at {:.0}%\n",
        report.requests_per_s,
        report.http_commands_per_s,
        report.in_process_commands_per_s,
        100.0 * report.requests_share_of_in_process
    );
    out += &format!("  5xx: {}\n", report.server_errors);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_each_kind_and_every_non_2xx_status() {
        let ms = Duration::from_millis;
        let samples = vec![
            (Kind::Register, 201, ms(4)),
            (Kind::Register, 201, ms(2)),
            (Kind::RecordPayment, 500, ms(9)),
            (Kind::RecordPayment, 201, ms(1)),
            (Kind::ReadPerson, 0, ms(30)),
            (Kind::EligibilityAsOf, 503, ms(7)),
        ];
        let (kinds, non_2xx, server_errors) = summarise(&samples, Duration::from_secs(2));
        let of = |kind| kinds.iter().find(|k| k.kind == kind).unwrap();
        assert_eq!(of(Kind::Register).requests, 2);
        assert_eq!(of(Kind::Register).per_s, 1.0);
        assert_eq!(of(Kind::Register).p50_ms, 2.0);
        assert_eq!(of(Kind::Register).p99_ms, 4.0);
        assert!(of(Kind::Register).non_2xx.is_empty());
        assert_eq!(of(Kind::RecordPayment).non_2xx, BTreeMap::from([(500, 1)]));
        assert_eq!(of(Kind::AcquireEligibility).requests, 0);
        assert_eq!(non_2xx, BTreeMap::from([(0, 1), (500, 1), (503, 1)]));
        assert_eq!(server_errors, 2, "a 500 and a 503 are the server's");
    }

    #[test]
    fn percentiles_are_the_nearest_rank_of_the_sorted_latencies() {
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&latencies, 0.50), 50.0);
        assert_eq!(percentile_ms(&latencies, 0.99), 99.0);
        assert_eq!(percentile_ms(&latencies, 1.0), 100.0);
        assert_eq!(percentile_ms(&latencies[..1], 0.99), 1.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
        // p99 of 1,000 samples is the 990th, not the slowest.
        let latencies: Vec<Duration> = (1..=1000).map(Duration::from_micros).collect();
        assert_eq!(percentile_ms(&latencies, 0.99), 0.99);
    }

    #[test]
    fn the_as_of_instant_is_sent_in_utc_with_microseconds() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T15:04:05.123456+09:00").unwrap().with_timezone(&Utc);
        let spec = requests::eligibility_as_of("999997", Uuid::nil(), at);
        assert!(spec.path.ends_with("as_of=2026-12-02T06:04:05.123456Z&on=2025-10-01"), "{}", spec.path);
        assert!(spec.idempotency_key.is_none());
    }

    #[test]
    fn a_payment_is_posted_to_the_cycle_households_account_with_a_receipt_of_its_own() {
        let household = Uuid::now_v7();
        let first = requests::record_payment("999997", "run1", 7, household, 0);
        let second = requests::record_payment("999997", "run1", 7, household, 1);
        assert_eq!(first.path, format!("/v1/999997/households/{household}/accounts/2025/payments"));
        let body = |spec: &requests::Spec| spec.body.clone().unwrap();
        assert_eq!(body(&first)["amount_yen"], json!(10_000));
        assert_eq!(body(&second)["amount_yen"], json!(10_100));
        assert_ne!(body(&first)["receipt_id"], body(&second)["receipt_id"]);
        assert_eq!(cycle_total(), 30_300, "the account is scheduled to what the cycle pays");
    }

    #[test]
    fn every_command_request_carries_its_own_idempotency_key() {
        let (person, household) = (Uuid::now_v7(), Uuid::now_v7());
        let keys: Vec<String> = [
            requests::register("999997", "run1", 7),
            requests::acquire_eligibility("999997", "run1", 7, person),
            requests::record_payment("999997", "run1", 7, household, 0),
            requests::record_payment("999997", "run1", 7, household, 1),
        ]
        .into_iter()
        .map(|spec| spec.idempotency_key.unwrap())
        .collect();
        let unique: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
    }
}
