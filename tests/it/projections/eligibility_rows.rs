//! The eligibility read tables row by row, as a clerk reads them: a correction restating a row
//! while the ledger keeps the original events, certificates invalidated by a loss and restored by
//! its correction, the 70–74 share in force on a day, moves within the prefecture, late
//! notifications.

use super::*;

/// Runs `command` for `person`, which must be accepted; returns the events it recorded.
async fn accepted(ledgerd: &Ledgerd, person: PersonId, command: PersonCommand) -> Vec<LedgerEvent> {
    let what = format!("{command:?}");
    ledgerd
        .ledger
        .execute::<Person>(kumagaya(), person, command, meta(None))
        .await
        .unwrap_or_else(|error| panic!("{what}: {error}"))
        .events
}

fn acquire_on(
    period_id: Uuid,
    event_date: NaiveDate,
    notified_on: NaiveDate,
    former: Option<(&str, NaiveDate)>,
) -> PersonCommand {
    PersonCommand::AcquireEligibility {
        period_id,
        reason: AcquisitionReason::MovedIn,
        event_date,
        notified_on,
        acquisition: source(),
        former_municipality: former
            .map(|(code, lost_on)| FormerMunicipality { municipality_code: code.into(), lost_on }),
        loss: None,
    }
}

fn move_out(event_date: NaiveDate, notified_on: NaiveDate) -> PersonCommand {
    PersonCommand::LoseEligibility {
        loss: LossNotice { reason: LossReason::MovedOut, event_date: Some(event_date), notified_on },
        acquisition: source(),
    }
}

fn correct(period_id: Uuid, event_date: NaiveDate, moved_out_on: Option<NaiveDate>) -> PersonCommand {
    PersonCommand::CorrectEligibility {
        period_id,
        reason: AcquisitionReason::MovedIn,
        event_date,
        notified_on: event_date,
        former_municipality: None,
        loss: moved_out_on.map(|on| LossNotice { reason: LossReason::MovedOut, event_date: Some(on), notified_on: on }),
        correction_reason: CorrectionReason::EntryError,
    }
}

#[tokio::test]
async fn a_correction_restates_the_row_while_the_ledger_keeps_the_original_events() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let person = PersonId::new();
    let period = Uuid::now_v7();
    accepted(&ledgerd, person, register("x")).await;
    // (command, then: effective_on, lost_on, corrections, withdrawn, insured on 2025-12-01)
    let table: Vec<(PersonCommand, NaiveDate, Option<NaiveDate>, i64, bool, i64)> = vec![
        (acquire_on(period, date(2025, 4, 1), date(2025, 4, 3), None), date(2025, 4, 1), None, 0, false, 1),
        (move_out(date(2025, 9, 30), date(2025, 10, 2)), date(2025, 4, 1), Some(date(2025, 10, 1)), 0, false, 0),
        // The loss was entered in error and the person moved in on the 5th: the period is open again.
        (correct(period, date(2025, 4, 5), None), date(2025, 4, 5), None, 1, false, 1),
        (
            correct(period, date(2025, 4, 5), Some(date(2026, 1, 31))),
            date(2025, 4, 5),
            Some(date(2026, 2, 1)),
            2,
            false,
            1,
        ),
        (
            PersonCommand::WithdrawEligibility { period_id: period, correction_reason: CorrectionReason::NewEvidence },
            date(2025, 4, 5),
            Some(date(2026, 2, 1)),
            2,
            true,
            0,
        ),
    ];
    for (command, effective_on, lost_on, corrections, withdrawn, insured) in table {
        let what = format!("after {command:?}");
        accepted(&ledgerd, person, command).await;
        ledgerd.projector.catch_up(kumagaya()).await.unwrap();
        let rows = EligibilityPeriods::of_person(ledgerd.store.db(), KUMAGAYA, person.as_uuid()).await.unwrap();
        let [row] = rows.as_slice() else { panic!("{what}: one row per period, not {rows:#?}") };
        assert_eq!(
            (row.period_id, row.effective_on, row.lost_on, row.corrections, row.withdrawn),
            (period, effective_on, lost_on, corrections, withdrawn),
            "{what}"
        );
        assert_eq!(row.loss_reason.is_some(), lost_on.is_some(), "{what}: the loss columns go with the loss");
        assert_eq!(
            EligibilityPeriods::insured_count(ledgerd.store.db(), KUMAGAYA, date(2025, 12, 1)).await.unwrap(),
            insured,
            "{what}"
        );
    }
    // The ledger still holds every original entry, in order.
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), person, None, Decrypt::No).await.unwrap();
    let kinds: Vec<&str> = view.events.iter().map(|(recorded, _)| recorded.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "PersonRegistered",
            "EligibilityAcquired",
            "EligibilityLost",
            "EligibilityCorrected",
            "EligibilityCorrected",
            "EligibilityWithdrawn"
        ]
    );
    let LedgerEvent::EligibilityAcquired(original) = &view.events[1].1 else { panic!("{:?}", view.events[1]) };
    assert_eq!(original.effective_on, date(2025, 4, 1), "the acquisition as first recorded");
    let LedgerEvent::EligibilityLost(loss) = &view.events[2].1 else { panic!("{:?}", view.events[2]) };
    assert_eq!(loss.lost_on, date(2025, 10, 1));
    let row = &EligibilityPeriods::of_person(ledgerd.store.db(), KUMAGAYA, person.as_uuid()).await.unwrap()[0];
    assert_eq!(row.position, view.events[5].0.position, "the row names the last event applied");
    ledgerd.shutdown().await;
}

/// The numbers of the certificates outstanding on `on`, once the projections caught up.
async fn outstanding(ledgerd: &Ledgerd, on: NaiveDate) -> Vec<String> {
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    let rows = Certificates::outstanding(ledgerd.store.db(), KUMAGAYA, on).await.unwrap();
    let mut numbers: Vec<String> = rows.into_iter().map(|row| row.certificate_no).collect();
    numbers.sort();
    numbers
}

#[tokio::test]
async fn a_loss_invalidates_outstanding_certificates_and_a_correction_restores_them() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let person = PersonId::new();
    let period = Uuid::now_v7();
    accepted(&ledgerd, person, register("x")).await;
    accepted(&ledgerd, person, acquire_on(period, date(2025, 4, 1), date(2025, 4, 1), None)).await;
    for (number, issued_on, valid_until) in
        [("C-1", date(2025, 4, 10), date(2026, 3, 31)), ("C-2", date(2025, 6, 1), date(2026, 7, 31))]
    {
        accepted(
            &ledgerd,
            person,
            PersonCommand::IssueCertificate { certificate_no: number.into(), issued_on, valid_until },
        )
        .await;
    }
    // A person never insured has nothing outstanding; another person's certificate stays valid.
    let other = PersonId::new();
    accepted(&ledgerd, other, register("y")).await;
    accepted(&ledgerd, other, acquire_on(Uuid::now_v7(), date(2025, 4, 1), date(2025, 4, 1), None)).await;
    accepted(
        &ledgerd,
        other,
        PersonCommand::IssueCertificate {
            certificate_no: "C-9".into(),
            issued_on: date(2025, 5, 1),
            valid_until: date(2026, 4, 30),
        },
    )
    .await;

    assert_eq!(outstanding(&ledgerd, date(2025, 8, 1)).await, ["C-1", "C-2", "C-9"]);
    assert_eq!(outstanding(&ledgerd, date(2025, 4, 30)).await, ["C-1"], "C-2 is not valid yet, C-9 not issued");

    accepted(&ledgerd, person, move_out(date(2025, 8, 31), date(2025, 9, 1))).await;
    // (day, outstanding): the loss (first day not insured 2025-09-01) ends both of theirs.
    for (on, expected) in
        [(date(2025, 8, 31), vec!["C-1", "C-2", "C-9"]), (date(2025, 9, 1), vec!["C-9"]), (date(2026, 5, 1), vec![])]
    {
        assert_eq!(outstanding(&ledgerd, on).await, expected, "after the loss, on {on}");
    }
    let invalidated = |rows: Vec<kokuho_projections::models::CertificateRow>| {
        rows.into_iter().map(|row| (row.certificate_no, row.invalidated_on)).collect::<Vec<_>>()
    };
    let rows = Certificates::of_person(ledgerd.store.db(), KUMAGAYA, person.as_uuid()).await.unwrap();
    assert_eq!(
        invalidated(rows),
        [("C-1".to_owned(), Some(date(2025, 9, 1))), ("C-2".to_owned(), Some(date(2025, 9, 1)))]
    );

    // A certificate issued afterwards for a day the period covered is invalid from the loss too.
    accepted(
        &ledgerd,
        person,
        PersonCommand::IssueCertificate {
            certificate_no: "C-3".into(),
            issued_on: date(2025, 8, 20),
            valid_until: date(2026, 8, 19),
        },
    )
    .await;
    assert_eq!(outstanding(&ledgerd, date(2025, 8, 25)).await, ["C-1", "C-2", "C-3", "C-9"]);
    assert_eq!(outstanding(&ledgerd, date(2025, 9, 2)).await, ["C-9"]);

    // The loss was an error: corrected away, the certificates hold again.
    accepted(&ledgerd, person, correct(period, date(2025, 4, 1), None)).await;
    assert_eq!(outstanding(&ledgerd, date(2025, 9, 2)).await, ["C-1", "C-2", "C-3", "C-9"]);
    // A correction to a later loss moves the invalidation with it.
    accepted(&ledgerd, person, correct(period, date(2025, 4, 1), Some(date(2025, 12, 31)))).await;
    assert_eq!(outstanding(&ledgerd, date(2025, 12, 31)).await, ["C-1", "C-2", "C-3", "C-9"]);
    assert_eq!(outstanding(&ledgerd, date(2026, 1, 1)).await, ["C-9"]);
    // Withdrawn: the period never existed, so its certificates never held.
    accepted(
        &ledgerd,
        person,
        PersonCommand::WithdrawEligibility { period_id: period, correction_reason: CorrectionReason::EntryError },
    )
    .await;
    assert_eq!(outstanding(&ledgerd, date(2025, 8, 1)).await, ["C-9"]);
    let rows = Certificates::of_person(ledgerd.store.db(), KUMAGAYA, person.as_uuid()).await.unwrap();
    assert!(rows.iter().all(|row| row.invalidated_on == Some(row.valid_from)), "{rows:#?}");

    let followed = dump_all(&ledgerd).await;
    ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    assert_eq!(dump_all(&ledgerd).await, followed);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn the_share_in_force_is_the_latest_decision_on_or_before_the_day() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let (first, second) = (PersonId::new(), PersonId::new());
    let household = Uuid::now_v7();
    let decide = |valid_from: NaiveDate, share: CostShare, basis: &str| PersonCommand::RecordElderlyShare {
        valid_from,
        share,
        basis: basis.into(),
        household_id: Some(household),
        income_year: 2024,
        rules_sha256: "a".repeat(64),
    };
    for person in [first, second] {
        accepted(&ledgerd, person, register("x")).await;
        accepted(&ledgerd, person, acquire()).await;
    }
    accepted(&ledgerd, first, decide(date(2025, 8, 1), CostShare::TwoTenths, "no_member_at_threshold")).await;
    // A re-decision for the same day, recorded later, supersedes the first.
    accepted(&ledgerd, first, decide(date(2025, 8, 1), CostShare::ThreeTenths, "active_income")).await;
    accepted(&ledgerd, first, decide(date(2026, 8, 1), CostShare::TwoTenths, "kyu_tadashigaki_within_limit")).await;
    accepted(&ledgerd, second, decide(date(2025, 10, 1), CostShare::ThreeTenths, "active_income")).await;
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();

    // (day, in force: (person, share, basis)), by person id.
    let mut ids = [first.as_uuid(), second.as_uuid()];
    ids.sort();
    let by_id = |rows: Vec<(Uuid, CostShare, &'static str)>| {
        let mut rows = rows;
        rows.sort_by_key(|(person, _, _)| *person);
        rows
    };
    type InForce = Vec<(Uuid, CostShare, &'static str)>;
    let table: Vec<(NaiveDate, InForce)> = vec![
        (date(2025, 7, 31), vec![]),
        (date(2025, 8, 1), vec![(first.as_uuid(), CostShare::ThreeTenths, "active_income")]),
        (date(2025, 9, 30), vec![(first.as_uuid(), CostShare::ThreeTenths, "active_income")]),
        (
            date(2025, 10, 1),
            by_id(vec![
                (first.as_uuid(), CostShare::ThreeTenths, "active_income"),
                (second.as_uuid(), CostShare::ThreeTenths, "active_income"),
            ]),
        ),
        (
            date(2026, 8, 1),
            by_id(vec![
                (first.as_uuid(), CostShare::TwoTenths, "kyu_tadashigaki_within_limit"),
                (second.as_uuid(), CostShare::ThreeTenths, "active_income"),
            ]),
        ),
    ];
    for (on, expected) in table {
        let rows = ElderlyCostShares::in_force(ledgerd.store.db(), KUMAGAYA, on).await.unwrap();
        let got: Vec<(Uuid, CostShare, &str)> =
            rows.iter().map(|row| (row.person_id, row.share, row.basis.as_str())).collect();
        assert_eq!(got, expected, "in force on {on}");
        assert!(rows.iter().all(|row| row.household_id == Some(household) && row.income_year == 2024));
    }
    let history = ElderlyCostShares::of_person(ledgerd.store.db(), KUMAGAYA, first.as_uuid()).await.unwrap();
    assert_eq!(
        history.iter().map(|row| row.share).collect::<Vec<_>>(),
        [CostShare::TwoTenths, CostShare::ThreeTenths, CostShare::TwoTenths]
    );
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn moves_within_the_prefecture_show_their_gap_or_overlap() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let moved_in = date(2025, 4, 10);
    // (former city, its first day not insured, then the continuity the aggregation system sees)
    let table = [
        ("112062", date(2025, 4, 10), MoveContinuity::Continuous),
        ("112071", date(2025, 4, 7), MoveContinuity::Gap { days: 3, from: date(2025, 4, 7), to: date(2025, 4, 9) }),
        (
            "112089",
            date(2025, 4, 12),
            MoveContinuity::Overlap { days: 2, from: date(2025, 4, 10), to: date(2025, 4, 11) },
        ),
    ];
    let mut expected = Vec::new();
    for (code, former_lost_on, continuity) in table {
        let person = PersonId::new();
        let period = Uuid::now_v7();
        accepted(&ledgerd, person, register("x")).await;
        accepted(&ledgerd, person, acquire_on(period, moved_in, moved_in, Some((code, former_lost_on)))).await;
        expected.push((person.as_uuid(), period, code.to_owned(), former_lost_on, continuity));
    }
    expected.sort_by_key(|(person, ..)| *person);
    // Not a move, and a move withdrawn: neither is listed.
    let settled = PersonId::new();
    accepted(&ledgerd, settled, register("x")).await;
    accepted(&ledgerd, settled, acquire()).await;
    let withdrawn = PersonId::new();
    let withdrawn_period = Uuid::now_v7();
    accepted(&ledgerd, withdrawn, register("x")).await;
    accepted(&ledgerd, withdrawn, acquire_on(withdrawn_period, moved_in, moved_in, Some(("112062", moved_in)))).await;
    accepted(
        &ledgerd,
        withdrawn,
        PersonCommand::WithdrawEligibility {
            period_id: withdrawn_period,
            correction_reason: CorrectionReason::EntryError,
        },
    )
    .await;
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();

    let moves = EligibilityPeriods::moves(ledgerd.store.db(), KUMAGAYA).await.unwrap();
    let got: Vec<_> = moves
        .into_iter()
        .map(|row| {
            assert_eq!(row.effective_on, moved_in);
            (row.person_id, row.period_id, row.former_municipality_code, row.former_lost_on, row.continuity)
        })
        .collect();
    assert_eq!(got, expected);
    // The stored kind and length, for reports written in SQL.
    let stored: Vec<(String, i64)> = kokuho_store::on_db!(ledgerd.store.db(), pool => {
        sqlx::query_as("SELECT continuity, continuity_days FROM eligibility_periods WHERE continuity IS NOT NULL AND withdrawn = 0 ORDER BY continuity")
            .fetch_all(pool).await.unwrap()
    });
    assert_eq!(stored, [("continuous".to_owned(), 0), ("gap".to_owned(), 3), ("overlap".to_owned(), 2)]);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn late_notifications_list_acquisitions_and_losses_notified_after_the_deadline() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let (on_time, late_start, late_end) = (PersonId::new(), PersonId::new(), PersonId::new());
    for person in [on_time, late_start, late_end] {
        accepted(&ledgerd, person, register("x")).await;
    }
    // 14 days is on time (施行規則 §2), 15 is late.
    accepted(&ledgerd, on_time, acquire_on(Uuid::now_v7(), date(2025, 4, 1), date(2025, 4, 15), None)).await;
    accepted(&ledgerd, late_start, acquire_on(Uuid::now_v7(), date(2025, 4, 1), date(2025, 4, 16), None)).await;
    accepted(&ledgerd, late_end, acquire_on(Uuid::now_v7(), date(2025, 4, 1), date(2025, 4, 2), None)).await;
    accepted(&ledgerd, late_end, move_out(date(2025, 6, 30), date(2025, 8, 1))).await;
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();

    // (from, to, listed: (person, kind, reason, notified_on))
    type Listed = Vec<(PersonId, NotificationKind, &'static str, NaiveDate)>;
    let table: Vec<(NaiveDate, NaiveDate, Listed)> = vec![
        (
            date(2025, 4, 1),
            date(2025, 12, 31),
            vec![
                (late_start, NotificationKind::Acquisition, "moved_in", date(2025, 4, 16)),
                (late_end, NotificationKind::Loss, "moved_out", date(2025, 8, 1)),
            ],
        ),
        (
            date(2025, 4, 16),
            date(2025, 4, 16),
            vec![(late_start, NotificationKind::Acquisition, "moved_in", date(2025, 4, 16))],
        ),
        (date(2025, 4, 17), date(2025, 7, 31), vec![]),
        (date(2025, 8, 1), date(2025, 8, 1), vec![(late_end, NotificationKind::Loss, "moved_out", date(2025, 8, 1))]),
    ];
    for (from, to, expected) in table {
        let rows = EligibilityPeriods::late_notifications(ledgerd.store.db(), KUMAGAYA, from, to).await.unwrap();
        let got: Vec<_> = rows
            .iter()
            .map(|row| (PersonId::from_uuid(row.person_id), row.kind, row.reason.as_str(), row.notified_on))
            .collect();
        assert_eq!(got, expected, "{from}..={to}");
    }
    ledgerd.shutdown().await;
}
