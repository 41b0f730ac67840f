//! Eligibility, households, cost shares and certificates through the real router: every reason
//! with its date rule, the two times (as recorded at `as_of`, in effect `on`), corrections that
//! keep history, ages 70 and 75, moves, refusals with their codes, roles, and the same answers
//! after a projection rebuild.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use kokuho_auth::Role;
use serde_json::{json, Value};

use crate::support::*;

mod refusals;

/// GET …/eligibility for `on`, as recorded at `as_of` (default now).
async fn eligibility(api: &Client, token: &str, person: &str, on: &str, as_of: Option<DateTime<Utc>>) -> Value {
    let as_of = as_of
        .map(|at| format!("&as_of={}", urlencode(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))))
        .unwrap_or_default();
    let (status, answer) =
        api.get(token, &format!("/persons/{person}/eligibility?purpose=eligibility&on={on}{as_of}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

fn recorded_at(answer: &Value) -> DateTime<Utc> {
    answer["recorded_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_acquisition_reason_takes_effect_on_the_day_its_rule_gives() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    // (reason, date of birth, event date, first day insured, day before)
    let table = [
        ("moved_in", "1980-05-05", "2025-04-10", "2025-04-10", "2025-04-09"),
        ("left_employee_insurance", "1980-05-05", "2025-03-31", "2025-04-01", "2025-03-31"),
        ("birth", "2025-02-28", "2025-02-28", "2025-02-28", "2025-02-27"),
        ("public_assistance_ended", "1980-05-05", "2025-12-31", "2025-12-31", "2025-12-30"),
    ];
    for (reason, born, event_date, effective_on, day_before) in table {
        let person = PersonBuilder::new().born(born).create(&api, &clerk).await;
        let answer = api
            .ok(&clerk, &format!("/persons/{person}/eligibility"), acquisition(reason, event_date, event_date))
            .await;
        assert_eq!(
            (answer["effective_on"].as_str(), answer["notification_late"].as_bool()),
            (Some(effective_on), Some(false)),
            "{reason}"
        );
        assert!(answer["period_id"].is_string(), "{answer}");
        let on = eligibility(&api, &clerk, &person, effective_on, None).await;
        assert_eq!(on["insured"], json!(true), "{reason}: {on}");
        assert_eq!(on["period"]["acquisition"]["reason"], json!(reason));
        assert_eq!(on["period"]["effective_on"], json!(effective_on));
        assert_eq!(on["period"]["period_id"], answer["period_id"]);
        let before = eligibility(&api, &clerk, &person, day_before, None).await;
        assert_eq!((before["insured"].as_bool(), &before["period"]), (Some(false), &Value::Null), "{reason}: {before}");
    }
}

#[tokio::test]
async fn every_loss_reason_ends_eligibility_on_the_day_its_rule_gives() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    // (reason, date of birth, event date (None: derived), first day not insured)
    let table = [
        ("moved_out", "1980-05-05", Some("2025-06-10"), "2025-06-11"),
        ("joined_employee_insurance", "1980-05-05", Some("2025-06-30"), "2025-07-01"),
        ("death", "1980-05-05", Some("2025-12-31"), "2026-01-01"),
        ("public_assistance_started", "1980-05-05", Some("2025-06-01"), "2025-06-01"),
        // The 75th birthday, by the rule setting `on_birthday`; no event date is typed in.
        ("reached_late_stage_elderly", "1951-06-10", None, "2026-06-10"),
    ];
    for (reason, born, event_date, lost_on) in table {
        let person = PersonBuilder::new().born(born).create(&api, &clerk).await;
        let acquired = api
            .ok(&clerk, &format!("/persons/{person}/eligibility"), acquisition("moved_in", "2025-04-01", "2025-04-01"))
            .await;
        let notified_on = event_date.unwrap_or(lost_on);
        let answer =
            api.ok(&clerk, &format!("/persons/{person}/eligibility/loss"), loss(reason, event_date, notified_on)).await;
        assert_eq!(answer["lost_on"], json!(lost_on), "{reason}: {answer}");
        assert_eq!(answer["period_id"], acquired["period_id"]);
        assert_eq!(answer["notification_late"], json!(false));
        let last_day = (lost_on.parse::<chrono::NaiveDate>().unwrap() - TimeDelta::days(1)).to_string();
        assert_eq!(eligibility(&api, &clerk, &person, &last_day, None).await["insured"], json!(true), "{reason}");
        let after = eligibility(&api, &clerk, &person, lost_on, None).await;
        assert_eq!(after["insured"], json!(false), "{reason}: {after}");
        assert_eq!(after["cost_share_refusal"], json!("not_insured"));
        assert_eq!(after["periods"][0]["loss"]["reason"], json!(reason));
        assert_eq!(after["periods"][0]["lost_on"], json!(lost_on));
        if reason == "death" {
            assert!(
                api.event_types(&format!("person-{person}")).await.contains(&"PersonDied".to_owned()),
                "a loss by death records the death"
            );
        }
        if reason == "reached_late_stage_elderly" {
            assert_eq!(
                after["periods"][0]["loss"]["event_date"],
                json!("2026-06-10"),
                "the event date is the 75th birthday"
            );
        }
    }

    // A death recorded from the registry ends the open period the day after.
    let person = PersonBuilder::new().born("1960-01-01").insured_from("2025-04-01").create(&api, &clerk).await;
    let died = api.ok(&clerk, &format!("/persons/{person}/death"), json!({"died_on": "2025-08-14", "notified_on": "2025-08-15", "source": "resident_registry", "legal_basis": "住民基本台帳法"})).await;
    assert_eq!(died["lost_on"], json!("2025-08-15"));
    let after = eligibility(&api, &clerk, &person, "2025-08-15", None).await;
    assert_eq!(
        (after["insured"].as_bool(), after["periods"][0]["loss"]["reason"].as_str()),
        (Some(false), Some("death"))
    );
}

#[tokio::test]
async fn a_late_notification_is_flagged_and_insured_on_the_real_date_only_as_of_its_recording() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    api.clock.advance(TimeDelta::seconds(1));
    // Moved in on 1 April, notified 20 June: 80 days late, effective from 1 April all the same.
    let answer = api
        .ok(&clerk, &format!("/persons/{person}/eligibility"), acquisition("moved_in", "2025-04-01", "2025-06-20"))
        .await;
    assert_eq!(
        (answer["effective_on"].as_str(), answer["notification_late"].as_bool()),
        (Some("2025-04-01"), Some(true))
    );
    let at = recorded_at(&answer);
    let before = eligibility(&api, &clerk, &person, "2025-04-01", Some(at - TimeDelta::microseconds(1))).await;
    assert_eq!(before["insured"], json!(false), "as recorded before the notification: {before}");
    let after = eligibility(&api, &clerk, &person, "2025-04-01", Some(at)).await;
    assert_eq!(after["insured"], json!(true), "as recorded from the notification on: {after}");
    assert_eq!(after["period"]["acquisition"]["notification_late"], json!(true));
    assert_eq!(after["period"]["acquisition"]["notified_on"], json!("2025-06-20"));
    // A notification within 14 days is not late.
    let other = PersonBuilder::new().create(&api, &clerk).await;
    let on_time = api
        .ok(&clerk, &format!("/persons/{other}/eligibility"), acquisition("moved_in", "2025-04-01", "2025-04-15"))
        .await;
    assert_eq!(on_time["notification_late"], json!(false));
}

#[tokio::test]
async fn a_correction_changes_the_answer_while_the_timeline_keeps_the_original() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (_, auditor) = api.signed_in(Role::Auditor).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let acquired = api
        .ok(&clerk, &format!("/persons/{person}/eligibility"), acquisition("moved_in", "2025-04-10", "2025-04-10"))
        .await;
    let period = acquired["period_id"].as_str().unwrap().to_owned();
    assert_eq!(eligibility(&api, &clerk, &person, "2025-04-05", None).await["insured"], json!(false));
    api.clock.advance(TimeDelta::seconds(1));
    // The clerk typed the wrong day: the person moved in on 1 April.
    let corrected = api
        .ok(&clerk, &format!("/persons/{person}/eligibility/{period}/correction"),
            json!({"reason": "moved_in", "event_date": "2025-04-01", "notified_on": "2025-04-10", "correction_reason": "entry_error"}))
        .await;
    assert_eq!((corrected["effective_on"].as_str(), corrected["lost_on"].as_str()), (Some("2025-04-01"), None));
    let now = eligibility(&api, &clerk, &person, "2025-04-05", None).await;
    assert_eq!((now["insured"].as_bool(), now["period"]["corrections"].as_u64()), (Some(true), Some(1)), "{now}");
    let then =
        eligibility(&api, &clerk, &person, "2025-04-05", Some(recorded_at(&corrected) - TimeDelta::microseconds(1)))
            .await;
    assert_eq!(then["insured"], json!(false), "as recorded before the correction the answer stands: {then}");

    let (status, timeline) = api.get(&auditor, &format!("/persons/{person}/timeline?purpose=audit")).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let events = timeline["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["PersonRegistered", "EligibilityAcquired", "EligibilityCorrected"]);
    assert_eq!(events[1]["payload"]["event_date"], json!("2025-04-10"), "the original entry is kept");
    assert_eq!(events[1]["superseded_by"], events[2]["position"]);
    assert_eq!(events[2]["superseded_by"], Value::Null);
    assert_eq!(events[2]["payload"]["start"]["effective_on"], json!("2025-04-01"));
    assert!(
        events[0]["payload"].get("personal").is_none() && !events[0].to_string().contains("熊谷"),
        "no personal part: {}",
        events[0]
    );
    assert_eq!(events[0]["personal_part"], json!("sealed"));
    assert!(events[1]["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(events[1]["purpose"], json!("eligibility"));

    // A withdrawal: the period never existed; the timeline still holds every entry.
    let withdrawn = api
        .ok(
            &clerk,
            &format!("/persons/{person}/eligibility/{period}/withdrawal"),
            json!({"correction_reason": "new_evidence"}),
        )
        .await;
    let gone = eligibility(&api, &clerk, &person, "2025-04-05", None).await;
    assert_eq!((gone["insured"].as_bool(), gone["periods"].as_array().map(Vec::len)), (Some(false), Some(0)));
    let (_, timeline) = api.get(&auditor, &format!("/persons/{person}/timeline?purpose=audit")).await;
    let events = timeline["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[2]["superseded_by"], json!(withdrawn["position"]));
    // The timeline as recorded before the correction.
    let (_, earlier) = api
        .get(
            &auditor,
            &format!(
                "/persons/{person}/timeline?purpose=audit&as_of={}",
                urlencode(
                    &(recorded_at(&corrected) - TimeDelta::microseconds(1))
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                )
            ),
        )
        .await;
    assert_eq!(earlier["events"].as_array().map(Vec::len), Some(2), "{earlier}");
    assert_eq!(earlier["events"][1]["superseded_by"], Value::Null);
    // Each read was recorded as an access.
    let accesses = api.event_types(&format!("access-{person}")).await;
    assert!(accesses.len() >= 6 && accesses.iter().all(|t| t == "PersonalDataAccessed"), "{accesses:?}");
}

#[tokio::test]
async fn turning_70_changes_the_share_from_the_next_month_and_75_ends_eligibility_on_the_birthday() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (_, tax_clerk) = api.signed_in(Role::TaxClerk).await;
    let (_, auditor) = api.signed_in(Role::Auditor).await;
    // Born 1951-06-10: attains 70 on 2021-06-09 (2割 from 1 July 2021), 75 on 2026-06-10.
    let person = PersonBuilder::new().born("1951-06-10").insured_from("2020-04-01").create(&api, &clerk).await;
    let share = |answer: &Value| {
        (
            answer["cost_share"]["share"].as_str().map(str::to_owned),
            answer["cost_share"]["rule"].as_str().map(str::to_owned),
        )
    };
    let june = eligibility(&api, &clerk, &person, "2021-06-30", None).await;
    assert_eq!(share(&june), (Some("three_tenths".into()), Some("standard".into())), "{june}");
    assert_eq!(june["cost_share"]["tenths"], json!(3));
    let july = eligibility(&api, &clerk, &person, "2021-07-01", None).await;
    assert_eq!(share(&july), (Some("two_tenths".into()), Some("elderly".into())), "{july}");
    assert_eq!(
        (july["cost_share"]["basis"].as_str(), july["cost_share"]["income_year"].as_i64()),
        (Some("no_member_at_threshold"), Some(2019))
    );

    // Income of 2024 at 現役並み: from the re-decision of 1 August 2025 the share is 3割.
    api.clock.advance(TimeDelta::seconds(1));
    let (status, reported) = api
        .post(&tax_clerk, &format!("/persons/{person}/income"),
            json!({"income_year": 2024, "total_income_yen": 3_000_000, "taxable_income_yen": 2_000_000, "salary_income_yen": 0,
                   "pension_income_yen": 3_500_000, "declared": true, "source": "resident_tax", "legal_basis": "番号利用法 第9条"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reported}");
    let july_2025 = eligibility(&api, &clerk, &person, "2025-07-31", None).await;
    assert_eq!(share(&july_2025), (Some("two_tenths".into()), Some("elderly".into())));
    let august_2025 = eligibility(&api, &clerk, &person, "2025-08-01", None).await;
    assert_eq!(share(&august_2025), (Some("three_tenths".into()), Some("elderly".into())), "{august_2025}");
    assert_eq!(
        (august_2025["cost_share"]["basis"].as_str(), august_2025["cost_share"]["income_year"].as_i64()),
        (Some("active_income"), Some(2024))
    );
    // As recorded before the report, 1 August 2025 was 2割.
    let before_report =
        eligibility(&api, &clerk, &person, "2025-08-01", Some(recorded_at(&reported) - TimeDelta::microseconds(1)))
            .await;
    assert_eq!(share(&before_report), (Some("two_tenths".into()), Some("elderly".into())));

    // The ledger recorded the share decisions: on reaching 70, each 1 August, and after the report.
    let (_, timeline) = api.get(&auditor, &format!("/persons/{person}/timeline?purpose=audit")).await;
    let decisions: Vec<&Value> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "ElderlyCostShareDecided")
        .collect();
    let first = decisions.first().expect("a decision on reaching 70");
    assert_eq!(
        (first["payload"]["valid_from"].as_str(), first["payload"]["share"].as_str()),
        (Some("2021-07-01"), Some("two_tenths"))
    );
    let august: Vec<&&Value> = decisions.iter().filter(|d| d["payload"]["valid_from"] == "2025-08-01").collect();
    assert_eq!(august.len(), 2, "decided on 1 August 2025, then again after the income report: {decisions:?}");
    assert_eq!(august[1]["payload"]["share"], json!("three_tenths"));
    assert_eq!(august[1]["payload"]["basis"], json!("active_income"));
    assert_eq!(august[0]["superseded_by"], august[1]["position"]);

    // 75: the loss needs no event date; it is the 75th birthday.
    let lost = api
        .ok(
            &clerk,
            &format!("/persons/{person}/eligibility/loss"),
            loss("reached_late_stage_elderly", None, "2026-06-10"),
        )
        .await;
    assert_eq!(lost["lost_on"], json!("2026-06-10"));
    assert_eq!(eligibility(&api, &clerk, &person, "2026-06-09", None).await["insured"], json!(true));
    let after = eligibility(&api, &clerk, &person, "2026-06-10", None).await;
    assert_eq!((after["insured"].as_bool(), after["cost_share_refusal"].as_str()), (Some(false), Some("not_insured")));
    // No NHI from the 75th birthday on.
    let (status, refusal) = api
        .post(&clerk, &format!("/persons/{person}/eligibility"), acquisition("moved_in", "2026-07-01", "2026-07-01"))
        .await;
    assert_eq!(
        (status, refusal["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("date_beyond_rule")),
        "{refusal}"
    );
    // A child before school age pays 2割.
    let child = PersonBuilder::new().born("2022-05-01").create(&api, &clerk).await;
    api.ok(&clerk, &format!("/persons/{child}/eligibility"), acquisition("birth", "2022-05-01", "2022-05-10")).await;
    let child_share = eligibility(&api, &clerk, &child, "2025-06-01", None).await;
    assert_eq!(share(&child_share), (Some("two_tenths".into()), Some("pre_school".into())));
}

#[tokio::test]
async fn moves_within_the_prefecture_report_gaps_and_overlaps() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    // (former city's first day not insured, kind, days, from, to)
    let table = [
        ("2025-04-08", "gap", 2, Some("2025-04-08"), Some("2025-04-09")),
        ("2025-04-12", "overlap", 2, Some("2025-04-10"), Some("2025-04-11")),
        ("2025-04-10", "continuous", 0, None, None),
    ];
    for (former_lost_on, kind, days, from, to) in table {
        let person = PersonBuilder::new().create(&api, &clerk).await;
        let mut body = acquisition("moved_in", "2025-04-10", "2025-04-11");
        body["former_municipality"] = json!({"municipality_code": GYODA, "lost_on": former_lost_on});
        api.ok(&clerk, &format!("/persons/{person}/eligibility"), body).await;
        let answer = eligibility(&api, &clerk, &person, "2025-05-01", None).await;
        assert_eq!(
            answer["move_continuity"],
            json!({"kind": kind, "days": days, "from": from, "to": to}),
            "{former_lost_on}"
        );
        assert_eq!(
            answer["period"]["former_municipality"],
            json!({"municipality_code": GYODA, "lost_on": former_lost_on})
        );
    }
    // A move from elsewhere without a former city reports nothing.
    let person = PersonBuilder::new().insured_from("2025-04-10").notified_on("2025-04-11").create(&api, &clerk).await;
    assert_eq!(eligibility(&api, &clerk, &person, "2025-05-01", None).await["move_continuity"], Value::Null);
}

#[tokio::test]
async fn a_certificate_is_valid_until_the_eligibility_is_lost() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().insured_from("2025-04-01").create(&api, &clerk).await;
    api.ok(
        &clerk,
        &format!("/persons/{person}/certificates"),
        json!({"certificate_no": "KG-0001", "issued_on": "2025-04-01", "valid_until": "2027-03-31"}),
    )
    .await;
    let status = |answer: &Value| answer["certificates"][0]["status"].as_str().map(str::to_owned);
    assert_eq!(status(&eligibility(&api, &clerk, &person, "2025-03-31", None).await).as_deref(), Some("not_yet_valid"));
    let valid = eligibility(&api, &clerk, &person, "2025-09-01", None).await;
    assert_eq!(status(&valid).as_deref(), Some("valid"));
    assert_eq!(
        valid["certificates"][0],
        json!({"certificate_no": "KG-0001", "valid_from": "2025-04-01", "valid_until": "2027-03-31", "status": "valid"})
    );
    api.clock.advance(TimeDelta::seconds(1));
    let lost = api
        .ok(
            &clerk,
            &format!("/persons/{person}/eligibility/loss"),
            loss("joined_employee_insurance", Some("2025-08-31"), "2025-09-05"),
        )
        .await;
    assert_eq!(status(&eligibility(&api, &clerk, &person, "2025-08-31", None).await).as_deref(), Some("valid"));
    assert_eq!(
        status(&eligibility(&api, &clerk, &person, "2025-09-01", None).await).as_deref(),
        Some("invalidated_by_loss")
    );
    let before_loss =
        eligibility(&api, &clerk, &person, "2025-09-01", Some(recorded_at(&lost) - TimeDelta::microseconds(1))).await;
    assert_eq!(status(&before_loss).as_deref(), Some("valid"), "as recorded before the loss");
    assert_eq!(
        status(&eligibility(&api, &clerk, &person, "2027-04-01", None).await).as_deref(),
        Some("invalidated_by_loss")
    );
}

#[tokio::test]
async fn a_household_whose_head_is_not_insured_and_its_changes_over_time() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    // The head works for a company (employee insurance); the spouse is insured with NHI.
    let head = PersonBuilder::new().born("1975-01-01").create(&api, &clerk).await;
    let spouse = PersonBuilder::new().born("1978-02-02").insured_from("2025-04-01").create(&api, &clerk).await;
    let (status, established) = api
        .request(
            Method::POST,
            &format!("/v1/{KUMAGAYA}/households"),
            Some(&clerk),
            Some("household-1"),
            Some(HouseholdBuilder::new(&head).body()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{established}");
    let household = established["household_id"].as_str().unwrap().to_owned();
    // A retry names the same household and records nothing.
    let (status, retried) = api
        .request(
            Method::POST,
            &format!("/v1/{KUMAGAYA}/households"),
            Some(&clerk),
            Some("household-1"),
            Some(HouseholdBuilder::new(&head).body()),
        )
        .await;
    assert_eq!(
        (status, retried["household_id"].as_str(), retried["duplicate"].as_bool()),
        (StatusCode::OK, Some(household.as_str()), Some(true))
    );
    api.clock.advance(TimeDelta::seconds(1));
    let joined = api
        .ok(
            &clerk,
            &format!("/households/{household}/members"),
            json!({"person_id": spouse, "joined_on": "2025-04-01"}),
        )
        .await;

    let spouse_view = eligibility(&api, &clerk, &spouse, "2025-05-01", None).await;
    assert_eq!(spouse_view["insured"], json!(true));
    assert_eq!(
        spouse_view["household"],
        json!({"household_id": household, "head_person_id": head, "is_head": false, "members": [head, spouse]})
    );
    let head_view = eligibility(&api, &clerk, &head, "2025-05-01", None).await;
    assert_eq!(
        (head_view["insured"].as_bool(), head_view["household"]["is_head"].as_bool()),
        (Some(false), Some(true)),
        "擬制世帯主: {head_view}"
    );
    // Before the join was recorded, the spouse belonged to no household.
    let earlier =
        eligibility(&api, &clerk, &spouse, "2025-05-01", Some(recorded_at(&joined) - TimeDelta::microseconds(1))).await;
    assert_eq!(earlier["household"], Value::Null);

    // The spouse becomes head; the former head leaves.
    api.ok(&clerk, &format!("/households/{household}/head"), json!({"person_id": spouse, "changed_on": "2025-07-01"}))
        .await;
    api.ok(&clerk, &format!("/households/{household}/members/{head}/departure"), json!({"left_on": "2025-08-01"}))
        .await;
    api.ok(&clerk, &format!("/households/{household}/income-exception"), json!({"applied_on": "2025-08-05"})).await;
    let (status, june) = api.get(&clerk, &format!("/households/{household}?purpose=eligibility&on=2025-06-30")).await;
    assert_eq!(status, StatusCode::OK, "{june}");
    assert_eq!(
        (june["head_person_id"].as_str(), june["members_on"].clone()),
        (Some(head.as_str()), json!([head, spouse]))
    );
    assert_eq!(june["income_exception_applied"], json!(false));
    let (_, september) = api.get(&clerk, &format!("/households/{household}?purpose=eligibility&on=2025-09-01")).await;
    assert_eq!(
        (september["head_person_id"].as_str(), september["members_on"].clone()),
        (Some(spouse.as_str()), json!([spouse]))
    );
    assert_eq!(september["income_exception_applied"], json!(true));
    assert_eq!(september["established_on"], json!("2025-04-01"));
    assert_eq!(
        september["heads"],
        json!([{"person_id": head, "from": "2025-04-01"}, {"person_id": spouse, "from": "2025-07-01"}])
    );
    assert_eq!(
        september["memberships"][0],
        json!({"person_id": head, "joined_on": "2025-04-01", "left_on": "2025-08-01"})
    );
    let (status, before) = api
        .get(
            &clerk,
            &format!(
                "/households/{household}?purpose=eligibility&as_of={}",
                urlencode(
                    &(recorded_at(&established) - TimeDelta::microseconds(1))
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                )
            ),
        )
        .await;
    assert_eq!((status, before["code"].as_str()), (StatusCode::NOT_FOUND, Some("household_not_found")));
    // Reading the household is recorded as an access to each member listed.
    assert!(api.event_types(&format!("access-{head}")).await.len() >= 2);
}

#[tokio::test]
async fn a_retried_acquisition_names_the_same_period_and_records_nothing_more() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let path = format!("/v1/{KUMAGAYA}/persons/{person}/eligibility");
    let body = acquisition("left_employee_insurance", "2025-03-31", "2025-04-20");
    let (status, first) = api.request(Method::POST, &path, Some(&clerk), Some("acq-1"), Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = api.request(Method::POST, &path, Some(&clerk), Some("acq-1"), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], json!(true));
    for field in ["period_id", "effective_on", "notification_late", "position"] {
        assert_eq!(again[field], first[field], "{field}");
    }
    assert_eq!(
        (first["effective_on"].as_str(), first["notification_late"].as_bool()),
        (Some("2025-04-01"), Some(true))
    );
    assert_eq!(api.event_types(&format!("person-{person}")).await, ["PersonRegistered", "EligibilityAcquired"]);
}

#[tokio::test]
async fn answers_are_the_same_after_the_projections_are_rebuilt() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (_, tax_clerk) = api.signed_in(Role::TaxClerk).await;
    let elder = PersonBuilder::new().born("1953-05-05").insured_from("2020-04-01").create(&api, &clerk).await;
    let partner = PersonBuilder::new().born("1954-06-06").insured_from("2020-04-01").create(&api, &clerk).await;
    let household = HouseholdBuilder::new(&elder)
        .established_on("2020-04-01")
        .member(&partner, "2020-04-01")
        .create(&api, &clerk)
        .await;
    let (status, _) = api
        .post(&tax_clerk, &format!("/persons/{elder}/income"),
            json!({"income_year": 2024, "total_income_yen": 3_000_000, "taxable_income_yen": 2_000_000, "salary_income_yen": 0,
                   "pension_income_yen": 3_000_000, "declared": true, "source": "resident_tax", "legal_basis": "番号利用法"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The household's 現役並み income makes the partner's share 3割 too.
    let as_of = api.clock.now();
    let partner_share = eligibility(&api, &clerk, &partner, "2025-09-01", Some(as_of)).await;
    assert_eq!(partner_share["cost_share"]["share"], json!("three_tenths"), "{partner_share}");
    // The report re-decided the partner's share too: the last decision is 3割 from 1 August 2025.
    let stream = api
        .ledgerd
        .store
        .read_stream(kumagaya(), &format!("person-{partner}"), kokuho_store::Decrypt::No)
        .await
        .unwrap();
    let decision =
        stream.iter().rev().find(|e| e.event_type == "ElderlyCostShareDecided").expect("a decision for the partner");
    let decision: Value = serde_json::from_slice(&decision.payload).unwrap();
    assert_eq!(
        (decision["valid_from"].as_str(), decision["share"].as_str()),
        (Some("2025-08-01"), Some("three_tenths")),
        "{decision}"
    );

    let before = answers(&api, &clerk, &[&elder, &partner], &household, as_of).await;
    api.ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    let after = answers(&api, &clerk, &[&elder, &partner], &household, as_of).await;
    assert_eq!(before, after);
    assert!(before.iter().take(6).all(|answer| answer["household"]["household_id"] == json!(household)), "{before:?}");
}

/// The eligibility answers of `persons` on a few days and their household's, as of `as_of`.
async fn answers(api: &Client, token: &str, persons: &[&str], household: &str, as_of: DateTime<Utc>) -> Vec<Value> {
    let mut all = Vec::new();
    for person in persons {
        for on in ["2021-01-01", "2025-07-31", "2025-09-01"] {
            all.push(eligibility(api, token, person, on, Some(as_of)).await);
        }
    }
    let as_of = urlencode(&as_of.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    let (status, household_view) =
        api.get(token, &format!("/households/{household}?purpose=eligibility&on=2025-09-01&as_of={as_of}")).await;
    assert_eq!(status, StatusCode::OK, "{household_view}");
    all.push(household_view);
    all
}

#[tokio::test]
async fn tenant_lists_show_the_70_to_74_table_moves_and_late_notifications_and_record_each_person() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (_, tax_clerk) = api.signed_in(Role::TaxClerk).await;
    // Born 1953-03-15: 2割 from 1 April 2023; 3割 from 1 August 2025 on 2024's income.
    let elderly = PersonBuilder::new().born("1953-03-15").insured_from("2022-04-01").create(&api, &clerk).await;
    api.ok(&tax_clerk, &format!("/persons/{elderly}/income"),
        json!({"income_year": 2024, "total_income_yen": 3_000_000, "taxable_income_yen": 2_000_000, "salary_income_yen": 0,
               "pension_income_yen": 3_500_000, "declared": true, "source": "resident_tax", "legal_basis": "番号利用法 第9条"})).await;
    // A younger person who moved in from 行田市 with a gap, notified late.
    let mover = PersonBuilder::new().create(&api, &clerk).await;
    let mut body = acquisition("moved_in", "2025-04-10", "2025-05-20");
    body["former_municipality"] = json!({"municipality_code": GYODA, "lost_on": "2025-04-08"});
    api.ok(&clerk, &format!("/persons/{mover}/eligibility"), body).await;

    let table = |on: &str| format!("/cost-shares?purpose=eligibility&on={on}");
    let (status, july) = api.get(&clerk, &table("2025-07-31")).await;
    assert_eq!(status, StatusCode::OK, "{july}");
    assert_eq!(
        july.as_array()
            .unwrap()
            .iter()
            .map(|r| (r["person_id"].as_str().unwrap(), r["share"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        vec![(elderly.as_str(), "two_tenths")]
    );
    let (_, august) = api.get(&clerk, &table("2025-08-01")).await;
    assert_eq!(
        (
            august[0]["share"].as_str(),
            august[0]["tenths"].as_i64(),
            august[0]["basis"].as_str(),
            august[0]["income_year"].as_i64()
        ),
        (Some("three_tenths"), Some(3), Some("active_income"), Some(2024)),
        "{august}"
    );
    let (_, before_70) = api.get(&clerk, &table("2023-03-31")).await;
    assert_eq!(before_70, json!([]), "nobody was 70–74 yet");

    let (_, moves) = api.get(&clerk, "/eligibility/moves?purpose=eligibility").await;
    assert_eq!(
        moves,
        json!([{"person_id": mover, "period_id": moves[0]["period_id"], "former_municipality_code": GYODA,
        "former_lost_on": "2025-04-08", "effective_on": "2025-04-10", "continuity": "gap", "days": 2}])
    );
    let (_, late) =
        api.get(&clerk, "/eligibility/late-notifications?purpose=eligibility&from=2025-05-01&to=2025-05-31").await;
    assert_eq!(
        (late.as_array().unwrap().len(), late[0]["person_id"].as_str(), late[0]["kind"].as_str()),
        (1, Some(mover.as_str()), Some("acquisition"))
    );
    let (status, backwards) =
        api.get(&clerk, "/eligibility/late-notifications?purpose=eligibility&from=2025-06-01&to=2025-05-01").await;
    assert_eq!((status, backwards["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_range")));

    // Every person listed was recorded in the access record, once per list that showed them.
    let mut counts = Vec::new();
    for person in [&elderly, &mover] {
        counts.push(
            api.event_types(&format!("access-{person}")).await.iter().filter(|t| *t == "PersonalDataAccessed").count(),
        );
    }
    assert_eq!(counts, vec![2, 2]);
}

#[tokio::test]
async fn a_person_belongs_to_one_household_at_a_time() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let (head, child) = (
        PersonBuilder::new().create(&api, &clerk).await,
        PersonBuilder::new().born("2010-01-01").create(&api, &clerk).await,
    );
    let other_head = PersonBuilder::new().born("1982-02-02").create(&api, &clerk).await;
    let first = HouseholdBuilder::new(&head).member(&child, "2025-04-01").create(&api, &clerk).await;
    let second = HouseholdBuilder::new(&other_head).create(&api, &clerk).await;

    // Joining the second household while still in the first is refused, and so is heading a
    // new one; after the departure from the first is recorded, the move is accepted.
    let (status, refusal) = api
        .post(&clerk, &format!("/households/{second}/members"), json!({"person_id": child, "joined_on": "2025-09-01"}))
        .await;
    assert_eq!(
        (status, refusal["code"].as_str()),
        (StatusCode::CONFLICT, Some("member_of_another_household")),
        "{refusal}"
    );
    let (status, refusal) = api.post(&clerk, "/households", HouseholdBuilder::new(&child).body()).await;
    assert_eq!(
        (status, refusal["code"].as_str()),
        (StatusCode::CONFLICT, Some("member_of_another_household")),
        "{refusal}"
    );
    api.ok(&clerk, &format!("/households/{first}/members/{child}/departure"), json!({"left_on": "2025-09-01"})).await;
    let (status, refusal) = api
        .post(&clerk, &format!("/households/{second}/members"), json!({"person_id": child, "joined_on": "2025-08-15"}))
        .await;
    assert_eq!(
        (status, refusal["code"].as_str()),
        (StatusCode::CONFLICT, Some("member_of_another_household")),
        "still in the first on 2025-08-15"
    );
    api.ok(&clerk, &format!("/households/{second}/members"), json!({"person_id": child, "joined_on": "2025-09-01"}))
        .await;
    let answer = eligibility(&api, &clerk, &child, "2025-09-01", None).await;
    assert_eq!(answer["household"]["household_id"].as_str(), Some(second.as_str()));
    let answer = eligibility(&api, &clerk, &child, "2025-08-31", None).await;
    assert_eq!(answer["household"]["household_id"].as_str(), Some(first.as_str()));
}

/// 32 acquisitions at once (each re-decides a 70–74 share through the policy): every one is
/// answered 201, none 5xx. On PostgreSQL, handlers that caught the projections up themselves
/// deadlocked on the checkpoint rows and answered 500 for commands that had committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_acquisitions_are_all_answered_and_each_share_decided() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let mut persons = Vec::new();
    for _ in 0..32 {
        persons.push(PersonBuilder::new().born("1954-05-20").create(&api, &clerk).await);
    }
    let mut requests = tokio::task::JoinSet::new();
    for person in &persons {
        let transport = api.transport();
        let call = Call::new(Method::POST, format!("/v1/{KUMAGAYA}/persons/{person}/eligibility"))
            .token(&clerk)
            .json(&acquisition("moved_in", "2024-04-01", "2024-04-05"));
        requests.spawn(async move { transport.send(call).await.0 });
    }
    let statuses: Vec<StatusCode> = requests.join_all().await;
    assert!(statuses.iter().all(|status| *status == StatusCode::CREATED), "{statuses:?}");
    // Each answer came after the policy had decided the person's 70–74 share.
    for person in &persons {
        let types = api.event_types(&format!("person-{person}")).await;
        assert!(types.iter().any(|t| t == "ElderlyCostShareDecided"), "{person}: {types:?}");
    }
}
