//! Eligibility rules (国民健康保険法 §6–8, §42; docs/domain.md §4): pure functions of dates and rule
//! settings. No I/O and no clock: every date comes in as an argument (ARCHITECTURE.md
//! invariant 4), every figure from [`EligibilityRules`] (invariant 6).
//!
//! Date convention throughout: a period runs from `effective_on`, the first day insured, to
//! `lost_on`, the **first day not insured** (資格喪失日). [`loss_effective_on`],
//! [`EligibilityPeriod`] and [`move_continuity`] all use it.
//!
//! - [`acquisition`]: the first insured day by acquisition reason (§7).
//! - [`loss`]: the first day not insured by loss reason (§8), incl. reaching 75.
//! - [`settings`]: [`EligibilityRules`], the per-tenant, per-fiscal-year figures.
//! - [`notification`]: the 14-day notification deadline (施行規則 §2).
//! - [`age`]: ordinary age vs. the legal "attains an age" day (年齢計算ニ関スル法律).
//! - [`cost_share`]: 3割/2割 (§42①), the pre-school rule, and the share on a date.
//! - [`elderly`]: ages 70–74: start of the share, the 現役並み decision, 1 August re-decision.
//! - [`moves`]: gaps and overlaps of moves within the prefecture.
//! - [`periods`]: insured periods and the refusals that keep them consistent.

pub mod acquisition;
pub mod age;
pub mod cost_share;
pub mod elderly;
mod error;
pub mod loss;
pub mod moves;
pub mod notification;
pub mod periods;
pub mod settings;

pub use acquisition::acquisition_effective_on;
pub use age::{
    age_on, attains_age_on, birthday, legal_age_on, seventy_fifth_birthday, ELDERLY_SHARE_AGE, LATE_STAGE_AGE,
    SCHOOL_AGE,
};
pub use cost_share::{applicable_share, is_pre_school, pre_school_ends_on, pre_school_share, CostShare};
pub use elderly::{
    decide_elderly_share, elderly_share_basis, elderly_share_income_year, elderly_share_redecision_in,
    elderly_share_starts_on, first_day_decided_by_income_of, latest_elderly_share_redecision,
    next_elderly_share_redecision, ElderlyMember, ElderlyShareBasis,
};
pub use error::{EligibilityError, RULE_DATE_OF_BIRTH, RULE_LATE_STAGE_ELDERLY};
pub use loss::{loss_effective_on, LossReason};
pub use moves::{move_continuity, MoveContinuity};
pub use notification::{notification_deadline, notification_is_late};
pub use periods::{check_acquisition, check_loss, validate_periods, EligibilityPeriod};
pub use settings::{ElderlyShareRules, EligibilityRules, LateStageTransition};
