//! The arrears list (滞納) found from the read tables: one query says which accounts are in
//! arrears on the day asked (their installments and dated credits), and only those are replayed.
//! Three households with the FY2024 case (232,700 yen: 29,700 due 31 July, then 29,000 due 2
//! September, 30 September, …): one pays on time, one pays the second installment late, one misses
//! it and pays part of it later.

use axum::http::StatusCode;
use kokuho_auth::Role;
use serde_json::{json, Value};

use super::*;

/// The rows of `list` for `household`.
fn rows_of<'a>(list: &'a Value, household: &str) -> Vec<&'a Value> {
    list["rows"].as_array().unwrap().iter().filter(|row| row["household_id"] == json!(household)).collect()
}

async fn arrears_on(api: &Client, token: &str, query: &str) -> Value {
    let (status, list) = api.get(token, &format!("/collection/arrears?purpose=collection&{query}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}

#[tokio::test]
async fn the_arrears_list_shows_the_households_behind_on_the_day_and_never_those_paid_up() {
    let api = client_at("2024-06-30T15:00:00Z").await;
    let (_, on_time) = assessed_fy2024(&api).await;
    let (_, late) = assessed_fy2024(&api).await;
    let (_, missed) = assessed_fy2024(&api).await;
    move_to(&api, "2024-09-19T15:00:00Z"); // 20 September 2024 (JST)
    let (_, collector) = api.signed_in(Role::CollectionClerk).await;
    let payments = [
        (&on_time, "ON-1", 29_700, "2024-07-31"),
        (&on_time, "ON-2", 29_000, "2024-09-02"),
        (&late, "LATE-1", 29_700, "2024-07-30"),
        (&late, "LATE-2", 29_000, "2024-09-20"),
        (&missed, "MISS-1", 29_700, "2024-07-31"),
        (&missed, "MISS-2", 10_000, "2024-09-20"),
    ];
    for (household, receipt, amount, received_on) in payments {
        let (status, paid) = pay(&api, &collector, (household, 2024), receipt, amount, received_on, "bank").await;
        assert_eq!(status, StatusCode::CREATED, "{paid}");
    }

    // On 10 September the second installment (due 2 September) of two of them is unpaid.
    let list = arrears_on(&api, &collector, "on=2024-09-10").await;
    assert!(rows_of(&list, &on_time).is_empty(), "paid on its due day: {list}");
    for household in [&late, &missed] {
        let rows = rows_of(&list, household);
        assert_eq!(rows.len(), 1, "{list}");
        assert_eq!(
            (
                &rows[0]["installment"],
                &rows[0]["due_on"],
                &rows[0]["amount_yen"],
                &rows[0]["paid_yen"],
                &rows[0]["unpaid_yen"]
            ),
            (&json!(2), &json!("2024-09-02"), &json!(29_000), &json!(0), &json!(29_000)),
            "{list}"
        );
        assert_eq!(rows[0]["reminder_deadline"], json!("2024-09-22"));
    }
    assert_eq!(list["next"], Value::Null);

    // On 25 September the late payer is paid up; the other still owes 19,000 of it.
    let list = arrears_on(&api, &collector, "on=2024-09-25").await;
    assert!(rows_of(&list, &on_time).is_empty() && rows_of(&list, &late).is_empty(), "{list}");
    let rows = rows_of(&list, &missed);
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(
        (&rows[0]["installment"], &rows[0]["paid_yen"], &rows[0]["unpaid_yen"]),
        (&json!(2), &json!(10_000), &json!(19_000)),
        "{list}"
    );

    // A page holds accounts in arrears: the first page of one is the household behind, whatever
    // the order of the households' ids, and the next is empty.
    let list = arrears_on(&api, &collector, "on=2024-09-25&limit=1").await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(rows_of(&list, &missed).len(), 1, "{list}");
    assert_eq!(list["next"], json!(format!("2024/{missed}")));
    let after = list["next"].as_str().unwrap().to_owned();
    let list = arrears_on(&api, &collector, &format!("on=2024-09-25&limit=1&after={after}")).await;
    assert_eq!((list["rows"].clone(), list["next"].clone()), (json!([]), Value::Null), "{list}");

    // The read tables rebuilt from the ledger are the same, and so is the list.
    let list = arrears_on(&api, &collector, "on=2024-09-10").await;
    let followed = api.ledgerd.projector.dump("collection_accounts").await.unwrap();
    api.ledgerd.projector.rebuild(Some("collection_accounts"), &mut |_, _| {}).await.unwrap();
    assert_eq!(api.ledgerd.projector.dump("collection_accounts").await.unwrap(), followed, "a rebuild differs");
    assert_eq!(arrears_on(&api, &collector, "on=2024-09-10").await, list);
}

/// The list agrees with each account's own answer on every day asked, through a partial payment
/// and a re-spread: the 2023 income corrected in September lowers FY2024 to 177,200 (as in
/// tests/it/tax.rs), spread again over the installments not yet due.
#[tokio::test]
async fn the_arrears_list_agrees_with_the_account_through_a_respread() {
    let api = client_at("2024-06-30T15:00:00Z").await;
    let (person, household) = assessed_fy2024(&api).await;
    move_to(&api, "2024-09-19T15:00:00Z"); // 20 September 2024 (JST)
    let (_, collector) = api.signed_in(Role::CollectionClerk).await;
    let (_, tax_clerk) = api.signed_in(Role::TaxClerk).await;
    for (receipt, amount, received_on) in [("R-1", 29_700, "2024-07-31"), ("R-2", 10_000, "2024-09-20")] {
        let (status, paid) = pay(&api, &collector, (&household, 2024), receipt, amount, received_on, "bank").await;
        assert_eq!(status, StatusCode::CREATED, "{paid}");
    }
    let agree = |days: &'static [&'static str]| {
        let (api, collector, household) = (&api, collector.clone(), household.clone());
        async move {
            for day in days {
                let list = arrears_on(api, &collector, &format!("on={day}")).await;
                let listed: Vec<(Value, Value)> = rows_of(&list, &household)
                    .iter()
                    .map(|row| (row["installment"].clone(), row["unpaid_yen"].clone()))
                    .collect();
                let (status, shown) = account(api, &collector, &household, 2024, &format!("&on={day}")).await;
                assert_eq!(status, StatusCode::OK, "{shown}");
                let owed: Vec<(Value, Value)> = shown["installments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|installment| installment["in_arrears"] == json!(true))
                    .map(|installment| {
                        let unpaid =
                            installment["amount_yen"].as_i64().unwrap() - installment["paid_yen"].as_i64().unwrap();
                        (installment["number"].clone(), json!(unpaid))
                    })
                    .collect();
                assert_eq!(listed, owed, "on {day}: {list} {shown}");
                let unpaid: i64 = listed.iter().map(|(_, unpaid)| unpaid.as_i64().unwrap()).sum();
                assert_eq!(json!(unpaid), shown["arrears_yen"], "on {day}");
            }
        }
    };
    agree(&["2024-07-31", "2024-08-01", "2024-09-10", "2024-09-25"]).await;
    let list = arrears_on(&api, &collector, "on=2024-09-25").await;
    assert_eq!(rows_of(&list, &household).len(), 1, "19,000 of the second installment: {list}");

    report_income(&api, &tax_clerk, &person, 2023, 1_500_000, 2_300_000).await;
    let respread = account_with_total(&api, &collector, &household, 2024, 177_200).await;
    assert_eq!(column(&respread, "number").len(), 8, "{respread}");
    agree(&["2024-09-25", "2024-10-01", "2024-11-05", "2025-01-10", "2025-03-31"]).await;
    let list = arrears_on(&api, &collector, "on=2025-03-31").await;
    assert_eq!(rows_of(&list, &household).len(), 7, "every installment but the first: {list}");
}
