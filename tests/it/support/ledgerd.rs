//! The ledger in process, its clock pinned to a day, for tests that drive it directly.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use kokuho::Ledgerd;

use super::{kumagaya, TestDb};

/// The ledger with its clock at noon on `today` in Japan (the test does not depend on the day
/// it runs), deciding under `rules` (the shipped files when `None`); not following.
pub async fn ledgerd_with_rules_on(db: &TestDb, today: NaiveDate, rules: Option<kokuho_rules::Rules>) -> Ledgerd {
    let noon_jst = Utc.from_utc_datetime(&today.and_hms_opt(3, 0, 0).unwrap());
    let rules = rules.unwrap_or_else(kokuho_rules::Rules::shipped);
    Ledgerd::open_with_rules(&db.config(), Arc::new(move || noon_jst), rules).await.unwrap()
}

/// [`ledgerd_with_rules_on`] with the shipped rules.
pub async fn ledgerd_on(db: &TestDb, today: NaiveDate) -> Ledgerd {
    ledgerd_with_rules_on(db, today, None).await
}

/// The ledger started as `serve` starts it (projections and policies followed), once the
/// policies have reacted to everything committed in Kumagaya's ledger.
pub async fn restarted(db: &TestDb, today: NaiveDate) -> Ledgerd {
    let mut ledgerd = ledgerd_on(db, today).await;
    ledgerd.start_following();
    let head = ledgerd.store.head(kumagaya()).await.unwrap();
    assert!(
        ledgerd.policies.wait_for(kumagaya(), head, Duration::from_secs(30)).await,
        "the policies reach the head after a restart"
    );
    ledgerd
}
