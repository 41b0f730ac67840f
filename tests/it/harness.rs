//! A fresh database per test, on the backend the run is for, and small builders.

use std::path::PathBuf;

use chrono::NaiveDate;
use kokuho::{Config, MasterKeySource};
use kokuho_domain::person::PersonCommand;
use kokuho_domain::{FiscalYear, TenantCode, Yen};
use kokuho_events::{Acquisition, AcquisitionReason, PaymentChannel, PersonDetails, Sex};
use kokuho_store::{Actor, CommandMeta, Db, EventStore, StoreMetrics};
use kokuho_vault::MasterKey;
use sqlx::Connection;
use uuid::Uuid;

pub const KUMAGAYA: &str = "112020";
pub const GYODA: &str = "112062";

pub fn kumagaya() -> TenantCode {
    TenantCode::parse(KUMAGAYA).unwrap()
}

pub fn gyoda() -> TenantCode {
    TenantCode::parse(GYODA).unwrap()
}

pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn fresh() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = match std::env::var("KOKUHO_TEST_POSTGRES_URL") {
            Ok(admin_url) => {
                let name = format!("kokuho_test_{}", Uuid::new_v4().simple());
                let mut admin =
                    sqlx::PgConnection::connect(&admin_url).await.expect("the test PostgreSQL server answers");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("CREATE DATABASE");
                admin.close().await.ok();
                let (base, _) = admin_url.rsplit_once('/').expect("a URL with a database name");
                format!("{base}/{name}")
            }
            Err(_) => format!("sqlite://{}", dir.path().join("ledger.db").display()),
        };
        TestDb { url, dir }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    pub fn config(&self) -> Config {
        Config { database_url: self.url.clone(), master_key: MasterKeySource::File(self.key_file()) }
    }

    /// A store on this database with this test's master key, as a separate process would open it.
    pub async fn store(&self) -> EventStore {
        let db = Db::connect(&self.url).await.expect("connect");
        db.migrate().await.expect("migrate");
        let (key, _) = MasterKey::load_or_generate(&self.key_file()).expect("master key");
        EventStore::new(db, key, StoreMetrics::unregistered())
    }

    /// Runs one statement with plain SQL, as an intruder or an operator would.
    pub async fn raw_execute(&self, sql: &str) -> u64 {
        let db = Db::connect(&self.url).await.expect("connect");
        let affected =
            kokuho_store::on_db!(&db, pool => sqlx::query(sql).execute(pool).await.expect(sql).rows_affected());
        db.close().await;
        affected
    }

    pub async fn raw_bytes(&self, sql: &str) -> Vec<Vec<u8>> {
        let db = Db::connect(&self.url).await.expect("connect");
        let rows: Vec<(Vec<u8>,)> =
            kokuho_store::on_db!(&db, pool => sqlx::query_as(sql).fetch_all(pool).await.expect(sql));
        db.close().await;
        rows.into_iter().map(|(bytes,)| bytes).collect()
    }
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn meta(key: Option<&str>) -> CommandMeta {
    CommandMeta {
        actor: Actor::Staff("tester".into()),
        purpose: "eligibility".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: key.map(str::to_owned),
    }
}

pub fn register(name: &str) -> PersonCommand {
    PersonCommand::Register {
        atena_no: format!("A{}", &Uuid::new_v4().simple().to_string()[..9]),
        details: PersonDetails {
            name: name.to_owned(),
            name_kana: "クマガヤ ハナコ".into(),
            sex: Sex::Female,
            date_of_birth: date(1980, 5, 5),
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        },
        acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
    }
}

pub fn acquire() -> PersonCommand {
    PersonCommand::AcquireEligibility {
        reason: AcquisitionReason::MovedIn,
        event_date: date(2025, 4, 1),
        notified_on: date(2025, 4, 3),
        period_id: uuid::Uuid::now_v7(),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
        former_municipality: None,
        loss: None,
    }
}

pub fn pay(amount: i64) -> PersonCommand {
    PersonCommand::RecordPayment {
        fiscal_year: FiscalYear::new(2025),
        amount: Yen::new(amount),
        received_on: date(2025, 7, 31),
        channel: PaymentChannel::BankTransfer,
    }
}

/// Waits (bounded) until `check` holds; panics with `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A clock the test moves by hand (sessions, lockouts and TOTP steps without sleeping).
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::Mutex<chrono::DateTime<chrono::Utc>>>);

impl TestClock {
    pub fn new() -> TestClock {
        TestClock::at(chrono::Utc::now())
    }
    pub fn at(instant: chrono::DateTime<chrono::Utc>) -> TestClock {
        TestClock(std::sync::Arc::new(std::sync::Mutex::new(instant)))
    }
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
    pub fn advance(&self, by: chrono::TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
    /// This clock as the store and the ledger take it.
    pub fn as_clock(&self) -> kokuho_store::Clock {
        let clock = self.clone();
        std::sync::Arc::new(move || clock.now())
    }
}

/// The real `kokuho` binary, on the test's database and master key, run from its directory.
pub fn kokuho(db: &TestDb) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kokuho"));
    command
        .current_dir(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("KOKUHO_MASTER_KEY_FILE", db.key_file())
        .env_remove("KOKUHO_MASTER_KEY")
        .env_remove("KOKUHO_RETENTION_RULES")
        .env("KOKUHO_LOG", "warn");
    command
}

/// Runs `command` to the end: (exit code, stdout, stderr).
pub fn output(command: &mut std::process::Command) -> (i32, String, String) {
    let output = command.output().expect("kokuho runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `kokuho serve` on 127.0.0.1 port 0; killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>`, as the server printed it.
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kokuho serve` and waits for the line saying where it listens.
pub fn serve(db: &TestDb) -> Served {
    use std::io::{BufRead, BufReader};
    let mut child = kokuho(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kokuho serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = lines.next().expect("serve prints where it listens").expect("a line of text");
    // Keep draining what the server prints: a closed pipe would fail its next write.
    std::thread::spawn(move || lines.for_each(drop));
    let base = first.split_whitespace().last().expect("an address").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    Served { child, base }
}
