//! A fresh database per test, and the two municipalities the tests use.

use std::path::PathBuf;

use kokuho::{CheckpointKeySource, Config, MasterKeySource};
use kokuho_domain::TenantCode;
use kokuho_store::{Db, EventStore, StoreMetrics};
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

    /// This test's checkpoint signing key file (created on first use).
    pub fn checkpoint_key_file(&self) -> PathBuf {
        self.dir.path().join("checkpoint.key")
    }

    /// This test's checkpoint signing key.
    pub fn checkpoint_key(&self) -> kokuho_store::CheckpointKey {
        kokuho_store::CheckpointKey::load_or_generate(&self.checkpoint_key_file()).expect("checkpoint key").0
    }

    pub fn config(&self) -> Config {
        Config {
            database_url: self.url.clone(),
            master_key: MasterKeySource::File(self.key_file()),
            checkpoint_key: CheckpointKeySource::File(self.checkpoint_key_file()),
            checkpoint_minutes: 10,
            merkle_tree: true,
            metrics_token: None,
            http: Default::default(),
            limits: Default::default(),
        }
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
