//! Exact decimal rates (所得割率, 資産割率): never floats.
//!
//! A rate is written in a rule file as a string of a decimal percentage, `"6.92%"`, and kept as
//! an integer numerator over a power of ten, so `rate × income` is exact integer arithmetic,
//! truncated to the yen (地方税法 §20の4の2: 1円未満切捨て).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A rate in percent with up to six decimals: `6.92%` is `Rate { millionths_of_percent: 6_920_000 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate {
    /// The rate in millionths of a percent (10⁻⁸ of the whole).
    millionths_of_percent: i64,
}

/// Decimals a rate may carry after the percent's point.
const DECIMALS: u32 = 6;
const PERCENT_SCALE: i64 = 1_000_000; // 10^DECIMALS
const WHOLE: i128 = 100 * PERCENT_SCALE as i128; // 100% in millionths of a percent

impl Rate {
    pub const ZERO: Rate = Rate { millionths_of_percent: 0 };

    /// Parses `"6.92%"` (a percentage, 0–100, at most six decimals). The error says what is
    /// accepted; it never repeats the text.
    pub fn parse(text: &str) -> Result<Rate, String> {
        const ACCEPTS: &str = "a percentage written as a string, e.g. \"6.92%\" (0 to 100, at most 6 decimals)";
        let number = text.trim().strip_suffix('%').ok_or_else(|| format!("expected {ACCEPTS}"))?;
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > DECIMALS as usize {
            return Err(format!("expected {ACCEPTS}"));
        }
        if whole.len() > 3 {
            return Err(format!("expected {ACCEPTS}"));
        }
        let whole: i64 = whole.parse().map_err(|_| format!("expected {ACCEPTS}"))?;
        let mut fraction_value: i64 =
            if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| format!("expected {ACCEPTS}"))? };
        for _ in fraction.len()..DECIMALS as usize {
            fraction_value *= 10;
        }
        let millionths_of_percent = whole * PERCENT_SCALE + fraction_value;
        if i128::from(millionths_of_percent) > WHOLE {
            return Err(format!("expected {ACCEPTS}"));
        }
        Ok(Rate { millionths_of_percent })
    }

    /// `rate × amount`, truncated to the yen (toward zero for the non-negative amounts taxed).
    pub fn apply(self, amount: i64) -> i64 {
        let product = i128::from(amount) * i128::from(self.millionths_of_percent) / WHOLE;
        // |product| ≤ |amount|: the rate is at most 100%.
        i64::try_from(product).expect("a rate of at most 100% keeps the amount within i64")
    }

    /// `amount × rate × days ÷ days_in_year`, truncated to the yen: a yearly rate charged for
    /// `days` days (延滞金: 年当たりの割合, 365 days even in a leap year). `None` when the result
    /// does not fit an `i64` or `days_in_year` is not positive.
    pub fn for_days(self, amount: i64, days: i64, days_in_year: i64) -> Option<i64> {
        if days_in_year <= 0 {
            return None;
        }
        let numerator =
            i128::from(amount).checked_mul(i128::from(self.millionths_of_percent))?.checked_mul(i128::from(days))?;
        i64::try_from(numerator / (WHOLE * i128::from(days_in_year))).ok()
    }

    pub fn is_zero(self) -> bool {
        self.millionths_of_percent == 0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.millionths_of_percent / PERCENT_SCALE;
        let fraction = self.millionths_of_percent % PERCENT_SCALE;
        if fraction == 0 {
            return write!(f, "{whole}%");
        }
        let fraction = format!("{fraction:06}");
        write!(f, "{whole}.{}%", fraction.trim_end_matches('0'))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rate, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a percentage written as a string, e.g. \"6.92%\" (never a bare number: rates are exact decimals)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Rate, E> {
                Rate::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A fraction `numerator / denominator` (e.g. the 7割 reduction `7/10`, the unemployed salary
/// `30/100`), written in rule files as the string `"7/10"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fraction {
    pub numerator: i64,
    pub denominator: i64,
}

impl Fraction {
    pub const fn new(numerator: i64, denominator: i64) -> Fraction {
        Fraction { numerator, denominator }
    }

    pub fn parse(text: &str) -> Result<Fraction, String> {
        const ACCEPTS: &str =
            "a fraction written as a string, e.g. \"7/10\" (0 ≤ numerator ≤ denominator, denominator 1 to 1000)";
        let (numerator, denominator) = text.trim().split_once('/').ok_or_else(|| format!("expected {ACCEPTS}"))?;
        let parse = |part: &str| -> Result<i64, String> {
            let part = part.trim();
            if part.is_empty() || part.len() > 4 || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(format!("expected {ACCEPTS}"));
            }
            part.parse().map_err(|_| format!("expected {ACCEPTS}"))
        };
        let (numerator, denominator) = (parse(numerator)?, parse(denominator)?);
        if denominator == 0 || denominator > 1000 || numerator > denominator {
            return Err(format!("expected {ACCEPTS}"));
        }
        Ok(Fraction { numerator, denominator })
    }

    /// `amount × numerator / denominator`, truncated to the yen.
    pub fn of(self, amount: i64) -> i64 {
        let product = i128::from(amount) * i128::from(self.numerator) / i128::from(self.denominator);
        i64::try_from(product).expect("a fraction of at most 1 keeps the amount within i64")
    }

    /// `amount × (1 − fraction)`, truncated to the yen: what is left after a reduction of this
    /// fraction (the 7割 reduction leaves 3/10).
    pub fn remainder_of(self, amount: i64) -> i64 {
        Fraction::new(self.denominator - self.numerator, self.denominator).of(amount)
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl Serialize for Fraction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fraction, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fraction written as a string, e.g. \"7/10\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Fraction, E> {
                Fraction::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yearly_rate_for_some_days_is_exact_and_truncates_to_the_yen() {
        // 豊橋市's example: 65,000 × 8.8% × 184 ÷ 365 = 2,883.5… → 2,883.
        assert_eq!(Rate::parse("8.8%").unwrap().for_days(65_000, 184, 365), Some(2_883));
        // 65,000 × 2.5% × 30 ÷ 365 = 133.56… → 133.
        assert_eq!(Rate::parse("2.5%").unwrap().for_days(65_000, 30, 365), Some(133));
        assert_eq!(Rate::parse("2.4%").unwrap().for_days(65_000, 0, 365), Some(0));
        assert_eq!(Rate::parse("2.4%").unwrap().for_days(65_000, 30, 0), None);
        assert_eq!(Rate::parse("100%").unwrap().for_days(i64::MAX, i64::MAX, 1), None);
    }

    #[test]
    fn rates_are_exact_and_truncate_to_the_yen() {
        let rate = Rate::parse("6.92%").unwrap();
        assert_eq!(rate.apply(1_000_000), 69_200);
        // 2,345,678 × 6.92% = 162,320.9176 → 162,320.
        assert_eq!(rate.apply(2_345_678), 162_320);
        assert_eq!(Rate::parse("0.000001%").unwrap().apply(100_000_000), 1);
        assert_eq!(Rate::parse("100%").unwrap().apply(7), 7);
        assert_eq!(rate.to_string(), "6.92%");
        assert_eq!(Rate::parse("30%").unwrap().to_string(), "30%");
    }

    #[test]
    fn rates_that_are_not_exact_percentages_are_refused() {
        for text in ["6.92", "abc%", "-1%", "100.5%", "1.1234567%", "", "%", "1e2%", ".5%", "1000%"] {
            assert!(Rate::parse(text).is_err(), "{text:?} was accepted");
        }
        // A bare TOML float is refused: rates are strings.
        let refused: Result<Rate, _> = serde_json::from_str("6.92");
        assert!(refused.is_err());
        let error = Rate::parse("6,92%").unwrap_err();
        assert!(!error.contains("6,92"), "the error repeats the value: {error}");
    }

    #[test]
    fn fractions_truncate_to_the_yen() {
        let seven = Fraction::parse("7/10").unwrap();
        assert_eq!(seven.remainder_of(31_500), 9_450);
        assert_eq!(seven.remainder_of(13_555), 4_066); // 4,066.5 → 4,066
        assert_eq!(Fraction::parse("30/100").unwrap().of(1_234_567), 370_370);
        for text in ["7", "11/10", "1/0", "a/b", "-1/2"] {
            assert!(Fraction::parse(text).is_err(), "{text:?} was accepted");
        }
    }
}
