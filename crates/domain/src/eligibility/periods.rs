//! Insured periods and the refusals that keep a person's periods consistent.
//!
//! A period is the half-open range `effective_on..lost_on`: `effective_on` is the first day
//! insured ([`acquisition_effective_on`](super::acquisition_effective_on)) and `lost_on` the
//! first day *not* insured ([`loss_effective_on`](super::loss_effective_on)), or `None` while
//! the person is still insured. Two periods that meet (one's `lost_on` is the other's
//! `effective_on`) do not overlap: that is a seamless re-acquisition.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::error::EligibilityError;

/// One insured period of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EligibilityPeriod {
    /// The first day insured.
    pub effective_on: NaiveDate,
    /// The first day not insured; `None` while insured.
    pub lost_on: Option<NaiveDate>,
}

impl EligibilityPeriod {
    /// A period, refused when the loss is not after the acquisition.
    pub fn new(effective_on: NaiveDate, lost_on: Option<NaiveDate>) -> Result<EligibilityPeriod, EligibilityError> {
        let period = EligibilityPeriod { effective_on, lost_on };
        period.check()?;
        Ok(period)
    }

    /// An open period (still insured) from `effective_on`.
    pub fn open(effective_on: NaiveDate) -> EligibilityPeriod {
        EligibilityPeriod { effective_on, lost_on: None }
    }

    /// Refuses a loss on or before the acquisition (a period must hold at least one day).
    pub fn check(&self) -> Result<(), EligibilityError> {
        match self.lost_on {
            Some(lost_on) if lost_on <= self.effective_on => {
                Err(EligibilityError::LossBeforeAcquisition { effective_on: self.effective_on, lost_on })
            }
            _ => Ok(()),
        }
    }

    /// Whether the person is insured on `date` by this period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        // An open period (no loss yet) runs on without end.
        self.effective_on <= date && !matches!(self.lost_on, Some(lost_on) if date >= lost_on)
    }

    /// The last insured day, for displays that show inclusive ranges; `None` while open.
    pub fn last_insured_day(&self) -> Option<NaiveDate> {
        self.lost_on.map(|lost_on| lost_on - Days::new(1))
    }

    /// Whether the two periods share at least one insured day.
    pub fn overlaps(&self, other: &EligibilityPeriod) -> bool {
        // Half-open ranges share a day when each starts before the other ends; an open period
        // never ends.
        let starts_before = |start: NaiveDate, end: Option<NaiveDate>| !matches!(end, Some(end) if start >= end);
        starts_before(self.effective_on, other.lost_on) && starts_before(other.effective_on, self.lost_on)
    }
}

/// The refusal for `new` sharing days with `other`, or `None` when they share none.
///
/// When `other` is still open the person is insured by it (`already_insured`); otherwise the
/// two periods overlap on the days from the later start to the earlier end
/// (`overlapping_period`).
fn conflict(new: &EligibilityPeriod, other: &EligibilityPeriod) -> Option<EligibilityError> {
    if !new.overlaps(other) {
        return None;
    }
    let Some(other_end) = other.lost_on else {
        return Some(EligibilityError::AlreadyInsured { since: other.effective_on, acquired_on: new.effective_on });
    };
    let first_shared_day = new.effective_on.max(other.effective_on);
    // They overlap, so the earlier end is after the later start.
    let shared_until = new.lost_on.map_or(other_end, |new_end| new_end.min(other_end));
    Some(EligibilityError::OverlappingPeriod {
        effective_on: new.effective_on,
        other_effective_on: other.effective_on,
        first_shared_day,
        last_shared_day: shared_until - Days::new(1),
    })
}

/// Checks a whole history of one person's periods, in any order: every period holds at least
/// one day, no two periods share a day, and no period starts while an earlier one is open.
pub fn validate_periods(periods: &[EligibilityPeriod]) -> Result<(), EligibilityError> {
    for period in periods {
        period.check()?;
    }
    let mut sorted = periods.to_vec();
    sorted.sort_by_key(|period| (period.effective_on, period.lost_on.is_none(), period.lost_on));
    // Sorted by start, if any two periods overlap then two neighbours do: a period between
    // them starts before the earlier one ends, so it overlaps that one.
    for pair in sorted.windows(2) {
        // The later one is the "new" period: an open earlier one means it was acquired while
        // already insured.
        if let Some(refusal) = conflict(&pair[1], &pair[0]) {
            return Err(refusal);
        }
    }
    Ok(())
}

/// Checks a new period (an acquisition, possibly retroactive and already closed) against the
/// person's recorded `history`: refused when its loss is not after its acquisition, when the
/// person is insured by an open period (`already_insured`), or when it shares a day with a
/// closed period (`overlapping_period`).
pub fn check_acquisition(history: &[EligibilityPeriod], candidate: EligibilityPeriod) -> Result<(), EligibilityError> {
    candidate.check()?;
    match history.iter().find_map(|existing| conflict(&candidate, existing)) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// Checks a loss on `lost_on` (first day not insured) against the person's `history`, and
/// returns the period it closes: refused when no period is open (`not_insured`) or when the
/// loss is not after the open period's acquisition (`loss_before_acquisition`).
pub fn check_loss(history: &[EligibilityPeriod], lost_on: NaiveDate) -> Result<EligibilityPeriod, EligibilityError> {
    let open = history.iter().find(|period| period.lost_on.is_none());
    let Some(open) = open else {
        return Err(EligibilityError::NotInsured { on: lost_on });
    };
    EligibilityPeriod::new(open.effective_on, Some(lost_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn closed(from: NaiveDate, until: NaiveDate) -> EligibilityPeriod {
        EligibilityPeriod { effective_on: from, lost_on: Some(until) }
    }

    fn open(from: NaiveDate) -> EligibilityPeriod {
        EligibilityPeriod::open(from)
    }

    #[test]
    fn a_period_contains_its_first_day_and_not_its_loss_date() {
        let april = closed(date(2025, 4, 1), date(2025, 5, 1));
        // (period, date, insured?)
        let table = [
            (april, date(2025, 3, 31), false),
            (april, date(2025, 4, 1), true),
            (april, date(2025, 4, 30), true),
            (april, date(2025, 5, 1), false),
            (open(date(2025, 4, 1)), date(2025, 3, 31), false),
            (open(date(2025, 4, 1)), date(2099, 12, 31), true),
        ];
        for (period, on, insured) in table {
            assert_eq!(period.contains(on), insured, "{period:?} on {on}");
        }
        assert_eq!(april.last_insured_day(), Some(date(2025, 4, 30)));
        assert_eq!(open(date(2025, 4, 1)).last_insured_day(), None);
    }

    #[test]
    fn periods_overlap_when_they_share_a_day() {
        let april = closed(date(2025, 4, 1), date(2025, 5, 1));
        // (a, b, overlap?)
        let table = [
            (april, closed(date(2025, 5, 1), date(2025, 6, 1)), false), // they meet: seamless
            (april, closed(date(2025, 4, 30), date(2025, 6, 1)), true), // 30 April twice
            (april, closed(date(2025, 3, 1), date(2025, 4, 1)), false),
            (april, closed(date(2025, 3, 1), date(2025, 4, 2)), true),
            (april, closed(date(2025, 4, 10), date(2025, 4, 20)), true), // inside
            (april, open(date(2025, 5, 1)), false),
            (april, open(date(2025, 1, 1)), true),
            (open(date(2025, 1, 1)), open(date(2030, 1, 1)), true),
        ];
        for (a, b, overlap) in table {
            assert_eq!((a.overlaps(&b), b.overlaps(&a)), (overlap, overlap), "{a:?} {b:?}");
        }
    }

    #[test]
    fn valid_histories_pass() {
        let table: Vec<Vec<EligibilityPeriod>> = vec![
            vec![],
            vec![open(date(2025, 4, 1))],
            vec![
                closed(date(2020, 4, 1), date(2021, 4, 1)),
                closed(date(2021, 4, 1), date(2022, 1, 1)),
                open(date(2023, 1, 1)),
            ],
            // Any order.
            vec![open(date(2023, 1, 1)), closed(date(2020, 4, 1), date(2021, 4, 1))],
        ];
        for periods in table {
            assert_eq!(validate_periods(&periods), Ok(()), "{periods:?}");
        }
    }

    #[test]
    fn each_refusal_of_a_history() {
        // (history, refusal)
        let table: Vec<(Vec<EligibilityPeriod>, EligibilityError)> = vec![
            (
                vec![closed(date(2025, 4, 1), date(2025, 3, 31))],
                EligibilityError::LossBeforeAcquisition { effective_on: date(2025, 4, 1), lost_on: date(2025, 3, 31) },
            ),
            (
                vec![closed(date(2025, 4, 1), date(2025, 4, 1))], // a period of no days
                EligibilityError::LossBeforeAcquisition { effective_on: date(2025, 4, 1), lost_on: date(2025, 4, 1) },
            ),
            (
                vec![closed(date(2025, 4, 20), date(2025, 6, 1)), closed(date(2025, 4, 1), date(2025, 5, 1))],
                EligibilityError::OverlappingPeriod {
                    effective_on: date(2025, 4, 20),
                    other_effective_on: date(2025, 4, 1),
                    first_shared_day: date(2025, 4, 20),
                    last_shared_day: date(2025, 4, 30),
                },
            ),
            (
                vec![closed(date(2025, 4, 1), date(2025, 5, 1)), open(date(2025, 4, 30))],
                EligibilityError::OverlappingPeriod {
                    effective_on: date(2025, 4, 30),
                    other_effective_on: date(2025, 4, 1),
                    first_shared_day: date(2025, 4, 30),
                    last_shared_day: date(2025, 4, 30),
                },
            ),
            (
                vec![open(date(2025, 4, 1)), closed(date(2025, 6, 1), date(2025, 7, 1))],
                EligibilityError::AlreadyInsured { since: date(2025, 4, 1), acquired_on: date(2025, 6, 1) },
            ),
            (
                vec![open(date(2025, 4, 1)), open(date(2025, 4, 1))],
                EligibilityError::AlreadyInsured { since: date(2025, 4, 1), acquired_on: date(2025, 4, 1) },
            ),
        ];
        for (periods, refusal) in table {
            assert_eq!(validate_periods(&periods), Err(refusal.clone()), "{periods:?}");
        }
    }

    #[test]
    fn each_refusal_of_a_new_fact() {
        let past = closed(date(2020, 4, 1), date(2021, 4, 1));
        let current = open(date(2023, 1, 1));
        // (history, new fact, refusal or the period a loss closes)
        type Outcome = Result<Option<EligibilityPeriod>, EligibilityError>;
        type Fact = Box<dyn Fn(&[EligibilityPeriod]) -> Outcome>;
        let acquire = |candidate: EligibilityPeriod| -> Fact {
            Box::new(move |history: &[EligibilityPeriod]| check_acquisition(history, candidate).map(|()| None))
        };
        let lose = |on: NaiveDate| -> Fact {
            Box::new(move |history: &[EligibilityPeriod]| check_loss(history, on).map(Some))
        };
        let table: Vec<(Vec<EligibilityPeriod>, Fact, Outcome)> = vec![
            // Accepted: a first acquisition, a seamless re-acquisition, a retroactive period in a gap.
            (vec![], acquire(open(date(2025, 4, 1))), Ok(None)),
            (vec![past], acquire(open(date(2021, 4, 1))), Ok(None)),
            (vec![past, current], acquire(closed(date(2021, 6, 1), date(2022, 6, 1))), Ok(None)),
            // Accepted: a loss closes the open period.
            (vec![past, current], lose(date(2025, 4, 11)), Ok(Some(closed(date(2023, 1, 1), date(2025, 4, 11))))),
            // already_insured: acquiring while the open period runs.
            (
                vec![current],
                acquire(open(date(2025, 4, 1))),
                Err(EligibilityError::AlreadyInsured { since: date(2023, 1, 1), acquired_on: date(2025, 4, 1) }),
            ),
            // already_insured: a retroactive period reaching into the open one.
            (
                vec![current],
                acquire(closed(date(2022, 6, 1), date(2023, 2, 1))),
                Err(EligibilityError::AlreadyInsured { since: date(2023, 1, 1), acquired_on: date(2022, 6, 1) }),
            ),
            // overlapping_period: a retroactive period inside a closed one.
            (
                vec![past, current],
                acquire(closed(date(2021, 3, 1), date(2021, 6, 1))),
                Err(EligibilityError::OverlappingPeriod {
                    effective_on: date(2021, 3, 1),
                    other_effective_on: date(2020, 4, 1),
                    first_shared_day: date(2021, 3, 1),
                    last_shared_day: date(2021, 3, 31),
                }),
            ),
            // overlapping_period: a retroactive period that starts before a closed one and runs into it.
            (
                vec![past],
                acquire(closed(date(2019, 4, 1), date(2020, 5, 1))),
                Err(EligibilityError::OverlappingPeriod {
                    effective_on: date(2019, 4, 1),
                    other_effective_on: date(2020, 4, 1),
                    first_shared_day: date(2020, 4, 1),
                    last_shared_day: date(2020, 4, 30),
                }),
            ),
            // loss_before_acquisition: the new period itself is backwards.
            (
                vec![],
                acquire(closed(date(2025, 4, 1), date(2025, 3, 1))),
                Err(EligibilityError::LossBeforeAcquisition {
                    effective_on: date(2025, 4, 1),
                    lost_on: date(2025, 3, 1),
                }),
            ),
            // loss_before_acquisition: losing the open period before it started.
            (
                vec![current],
                lose(date(2022, 12, 31)),
                Err(EligibilityError::LossBeforeAcquisition {
                    effective_on: date(2023, 1, 1),
                    lost_on: date(2022, 12, 31),
                }),
            ),
            // not_insured: no open period to lose.
            (vec![past], lose(date(2025, 4, 11)), Err(EligibilityError::NotInsured { on: date(2025, 4, 11) })),
            (vec![], lose(date(2025, 4, 11)), Err(EligibilityError::NotInsured { on: date(2025, 4, 11) })),
        ];
        for (index, (history, fact, expected)) in table.into_iter().enumerate() {
            assert_eq!(fact(&history), expected, "row {index}: {history:?}");
        }
    }

    #[test]
    fn refusal_codes_are_stable() {
        let d = date(2025, 4, 1);
        // (refusal, code)
        let table = [
            (EligibilityError::LossBeforeAcquisition { effective_on: d, lost_on: d }, "loss_before_acquisition"),
            (
                EligibilityError::OverlappingPeriod {
                    effective_on: d,
                    other_effective_on: d,
                    first_shared_day: d,
                    last_shared_day: d,
                },
                "overlapping_period",
            ),
            (EligibilityError::AlreadyInsured { since: d, acquired_on: d }, "already_insured"),
            (EligibilityError::NotInsured { on: d }, "not_insured"),
            (EligibilityError::DateBeyondRule { date: d, rule: "late_stage_elderly", limit: d }, "date_beyond_rule"),
        ];
        for (refusal, code) in table {
            assert_eq!(refusal.code(), code, "{refusal}");
        }
    }
}
