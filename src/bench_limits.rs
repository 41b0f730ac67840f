//! The limits `kokuho bench` measures beside its figures, in the same run, on the same database
//! and with the same durability (issue "Performance: close to the machine's limit"):
//!
//! - **group commit**: rows/s of plain multi-row INSERTs into a scratch table, in transactions of
//!   the size the workload's group commits reached (its events per commit), one transaction at a
//!   time as a tenant's writer commits — what the command path could reach if deciding, sealing,
//!   hashing and indexing cost nothing;
//! - **read and decode**: events/s of reading and decoding the whole ledger page by page as a
//!   rebuild does, without applying anything — what a rebuild could reach if projecting cost
//!   nothing.

use std::time::Instant;

use kokuho_store::{on_db, Db};
use sqlx::QueryBuilder;

/// The scratch table's rows: about an event row's size (ids, hashes, a payment's payload).
const ROW_BYTES: usize = 360;

/// Rows/s of `rows` plain INSERTs in transactions of `batch` rows each.
pub async fn group_commit_rows_per_s(db: &Db, rows: usize, batch: usize) -> anyhow::Result<f64> {
    let batch = batch.clamp(1, 1000);
    let payload = vec![0x5au8; ROW_BYTES];
    let table = "bench_insert_limit";
    let create = match db.backend() {
        kokuho_store::Backend::Sqlite => {
            format!("CREATE TABLE {table} (tenant TEXT NOT NULL, position INTEGER NOT NULL, row BLOB NOT NULL, PRIMARY KEY (tenant, position))")
        }
        kokuho_store::Backend::Postgres => {
            format!("CREATE TABLE {table} (tenant TEXT NOT NULL, position BIGINT NOT NULL, row BYTEA NOT NULL, PRIMARY KEY (tenant, position))")
        }
    };
    on_db!(db, pool => {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(pool).await?;
        sqlx::query(&create).execute(pool).await?;
    });
    let started = Instant::now();
    let mut position = 0i64;
    while (position as usize) < rows {
        let size = batch.min(rows - position as usize);
        let first = position;
        on_db!(db, pool => {
            let mut tx = pool.begin().await?;
            let mut query = QueryBuilder::new(format!("INSERT INTO {table} (tenant, position, row) "));
            query.push_values(0..size as i64, |mut values, offset| {
                values.push_bind("999997").push_bind(first + offset + 1).push_bind(payload.as_slice());
            });
            query.build().execute(&mut *tx).await?;
            tx.commit().await?;
        });
        position += size as i64;
    }
    let elapsed = started.elapsed();
    on_db!(db, pool => {
        sqlx::query(&format!("DROP TABLE {table}")).execute(pool).await?;
    });
    Ok(rows as f64 / elapsed.as_secs_f64().max(1e-9))
}
