//! The eligibility rule settings: figures with a source, never constants buried in code
//! (ARCHITECTURE.md invariant 6, docs/domain.md preamble).
//!
//! Loaded from `rules/eligibility.toml` (its SHA-256 goes into decision events):
//!
//! ```toml
//! notification_deadline_days = 14
//! moved_out_advance_days = 14
//! late_stage_transition = "on_birthday"      # or "day_after_birthday"
//! standard_share = "three_tenths"
//! pre_school_share = "two_tenths"
//!
//! [elderly]
//! general_share = "two_tenths"
//! active_income_share = "three_tenths"
//! taxable_income_threshold = 1450000
//! kyu_tadashigaki_total_limit = 2100000
//! income_limit_one_person = 3830000
//! income_limit_two_or_more = 5200000
//! basic_deduction = 430000
//! ```
//!
//! Every field is required except `late_stage_transition` (default `on_birthday`), and unknown
//! fields are refused, so a misspelt figure fails loudly instead of silently using a default.

use serde::{Deserialize, Serialize};

use super::cost_share::CostShare;
use crate::Yen;

/// Which day is the first day *not* insured in NHI when a person reaches 75 and moves to
/// 後期高齢者医療 (高齢者の医療の確保に関する法律 §50, §52).
///
/// Sources differ (docs/domain.md §4): municipal guidance says NHI ends and 後期高齢者医療 starts
/// on the 75th birthday itself; a literal reading of 国民健康保険法 §8① (loss "on the day
/// after" falling under an exclusion of §6) gives the day after. The default is the birthday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateStageTransition {
    /// The 75th birthday is the first day not insured (last NHI day: the day before).
    #[default]
    OnBirthday,
    /// The day after the 75th birthday is the first day not insured.
    DayAfterBirthday,
}

/// The eligibility and cost-share settings of one tenant and fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityRules {
    /// Days the head of household has to notify an acquisition or loss, counted from the day
    /// after the event (民法 §140, 初日不算入). 14: 国民健康保険法施行規則 §2; docs/domain.md §4.
    pub notification_deadline_days: u32,
    /// How many days ahead a move out of the city may be recorded: a 転出届 is made before
    /// the move (住民基本台帳法 §24), so its date may lie up to this many days after today.
    /// 14 (municipal guidance: "転出予定日の14日前から"). Every other event date must have
    /// passed.
    pub moved_out_advance_days: u32,
    /// The first day not insured on reaching 75. Default [`LateStageTransition::OnBirthday`];
    /// 高齢者の医療の確保に関する法律 §52 and docs/domain.md §4 ("sources differ").
    #[serde(default)]
    pub late_stage_transition: LateStageTransition,
    /// The share of insured persons from school age to the month of the 70th birthday:
    /// 3割, 国民健康保険法 §42①一.
    pub standard_share: CostShare,
    /// The pre-school rule: children up to the first 31 March on or after the day they attain
    /// 6 (義務教育就学前) pay 2割, 国民健康保険法 §42①二.
    pub pre_school_share: CostShare,
    /// Ages 70–74 (前期高齢者), 国民健康保険法 §42①三・四; docs/domain.md §4.
    pub elderly: ElderlyShareRules,
}

/// The 70–74 share and the income thresholds of the 現役並み decision. Money in yen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElderlyShareRules {
    /// 2割 from the month after the 70th birthday month (国民健康保険法 §42①三).
    pub general_share: CostShare,
    /// 3割 for 現役並み所得者 (国民健康保険法 §42①四).
    pub active_income_share: CostShare,
    /// A 70–74 member with taxable income (課税所得) at or above this makes the household
    /// 現役並み: 1,450,000 yen (国民健康保険法施行令 under §42①四; docs/domain.md §4,
    /// city.sakai.lg.jp koreiiryo/ichibu).
    pub taxable_income_threshold: Yen,
    /// …unless the 70–74 members' 旧ただし書所得 add up to at most this: 2,100,000 yen
    /// (docs/domain.md §4; town.tabuse.lg.jp 2277).
    pub kyu_tadashigaki_total_limit: Yen,
    /// …or, on application (基準収入額適用申請), a single 70–74 member's income (収入) is below
    /// this: 3,830,000 yen (docs/domain.md §4).
    pub income_limit_one_person: Yen,
    /// …or, on application, two or more 70–74 members' income adds up to below this:
    /// 5,200,000 yen (docs/domain.md §4).
    pub income_limit_two_or_more: Yen,
    /// 旧ただし書所得 = total income (総所得金額等) less the resident-tax basic deduction
    /// (基礎控除): 430,000 yen (地方税法 §314-2 ②).
    pub basic_deduction: Yen,
}

impl EligibilityRules {
    /// The national figures of docs/domain.md §4, for a tenant without its own file and for tests.
    pub fn national_defaults() -> EligibilityRules {
        EligibilityRules {
            notification_deadline_days: 14,
            moved_out_advance_days: 14,
            late_stage_transition: LateStageTransition::OnBirthday,
            standard_share: CostShare::ThreeTenths,
            pre_school_share: CostShare::TwoTenths,
            elderly: ElderlyShareRules {
                general_share: CostShare::TwoTenths,
                active_income_share: CostShare::ThreeTenths,
                taxable_income_threshold: Yen::new(1_450_000),
                kyu_tadashigaki_total_limit: Yen::new(2_100_000),
                income_limit_one_person: Yen::new(3_830_000),
                income_limit_two_or_more: Yen::new(5_200_000),
                basic_deduction: Yen::new(430_000),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;

    #[test]
    fn national_defaults_are_the_figures_of_domain_md() {
        let rules = EligibilityRules::national_defaults();
        assert_eq!(rules.notification_deadline_days, 14);
        assert_eq!(rules.late_stage_transition, LateStageTransition::OnBirthday);
        assert_eq!(rules.elderly.taxable_income_threshold, Yen::new(1_450_000));
        assert_eq!(rules.elderly.kyu_tadashigaki_total_limit, Yen::new(2_100_000));
        assert_eq!(rules.elderly.income_limit_one_person, Yen::new(3_830_000));
        assert_eq!(rules.elderly.income_limit_two_or_more, Yen::new(5_200_000));
        assert_eq!(LateStageTransition::default(), LateStageTransition::OnBirthday);
    }

    #[test]
    fn setting_names_in_rule_files_are_snake_case() {
        // (text in a rules file, parsed setting)
        let table = [
            ("on_birthday", LateStageTransition::OnBirthday),
            ("day_after_birthday", LateStageTransition::DayAfterBirthday),
        ];
        for (text, expected) in table {
            let de: StrDeserializer<DeError> = text.into_deserializer();
            assert_eq!(LateStageTransition::deserialize(de), Ok(expected), "{text}");
        }
        let de: StrDeserializer<DeError> = "birthday".into_deserializer();
        assert!(LateStageTransition::deserialize(de).is_err(), "an unknown setting is refused");
    }
}
