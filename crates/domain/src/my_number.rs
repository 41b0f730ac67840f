//! My Number (個人番号): the 12-digit individual number, parsed once and hard to leak.
//!
//! A [`MyNumber`] can only exist with a valid check digit. It prints masked everywhere
//! (`Debug`, `Display`, [`MyNumber::masked`]) and deliberately does not implement `Serialize`:
//! the digits leave only through [`MyNumber::reveal`] or the [`revealed`] serde adapter, so every
//! place that shows the full number is visible in the code and must record the reveal
//! (architecture invariant 8; docs/domain.md §3 rule 3). Errors describe what is wrong with the input
//! without ever echoing it.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

const DIGITS: usize = 12;

/// A valid My Number. Holds the 12 ASCII digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MyNumber([u8; DIGITS]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MyNumberError {
    #[error("a My Number has exactly 12 digits, this has {length} characters")]
    WrongLength { length: usize },
    #[error("a My Number has only half-width digits 0-9; character {position} is not one")]
    NotADigit { position: usize },
    #[error("the check digit (12th digit) of this My Number does not match; please re-check the number")]
    CheckDigit,
}

impl MyNumber {
    pub fn parse(text: &str) -> Result<MyNumber, MyNumberError> {
        let length = text.chars().count();
        if length != DIGITS {
            return Err(MyNumberError::WrongLength { length });
        }
        if let Some(index) = text.chars().position(|c| !c.is_ascii_digit()) {
            return Err(MyNumberError::NotADigit { position: index + 1 });
        }
        let digits: [u8; DIGITS] = text.as_bytes().try_into().expect("12 ASCII characters are 12 bytes");
        if check_digit(&digits) != digits[DIGITS - 1] - b'0' {
            return Err(MyNumberError::CheckDigit);
        }
        Ok(MyNumber(digits))
    }

    /// `********` followed by the last 4 digits: the only form fit for screens and printouts.
    pub fn masked(&self) -> String {
        format!("********{}", &self.reveal()[DIGITS - 4..])
    }

    /// The full 12 digits.
    ///
    /// Every call site must record the reveal (who saw which person's number, for which purpose)
    /// before the digits reach anyone; that is why this is the only way to get them.
    pub fn reveal(&self) -> &str {
        std::str::from_utf8(&self.0).expect("parse admits only ASCII digits")
    }
}

/// The check digit over the first 11 digits (個人番号の検査用数字, 総務省令第85号 §5):
/// 11 − (Σ Pn·Qn mod 11), or 0 when that remainder is 0 or 1. Pn is the n-th digit from the right
/// excluding the check digit; Qn is n+1 for n ≤ 6 and n−5 for 7 ≤ n ≤ 11.
fn check_digit(digits: &[u8; DIGITS]) -> u8 {
    let sum: u32 = (1..=11)
        .map(|n: usize| {
            let p = u32::from(digits[DIGITS - 1 - n] - b'0');
            let q = if n <= 6 { n + 1 } else { n - 5 } as u32;
            p * q
        })
        .sum();
    let remainder = sum % 11;
    if remainder <= 1 {
        0
    } else {
        (11 - remainder) as u8
    }
}

impl fmt::Display for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MyNumber").field(&self.masked()).finish()
    }
}

impl FromStr for MyNumber {
    type Err = MyNumberError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        MyNumber::parse(text)
    }
}

impl<'de> Deserialize<'de> for MyNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(MyNumberVisitor)
    }
}

/// Accepts only strings. The non-string arms exist because serde's default errors echo the
/// offending value ("invalid type: integer `123456789012`"), which would put a number sent as a
/// JSON integer into an error message.
struct MyNumberVisitor;

const NOT_A_STRING: &str = "a My Number must be given as a string of 12 digits";

impl Visitor<'_> for MyNumberVisitor {
    type Value = MyNumber;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string of 12 digits")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<MyNumber, E> {
        MyNumber::parse(text).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<MyNumber, E> {
        Err(E::custom(NOT_A_STRING))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<MyNumber, E> {
        Err(E::custom(NOT_A_STRING))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<MyNumber, E> {
        Err(E::custom(NOT_A_STRING))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<MyNumber, E> {
        Err(E::custom(NOT_A_STRING))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<MyNumber, E> {
        Err(E::custom(NOT_A_STRING))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<MyNumber, E> {
        Err(E::custom(NOT_A_STRING))
    }
}

/// The explicit reveal path for serde: `#[serde(with = "kokuho_domain::my_number::revealed")]`
/// on a field writes the full digits. Only for places that must hold the number itself (the
/// encrypted per-person payload, a permitted export); the attribute makes each one easy to find.
pub mod revealed {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::MyNumber;

    pub fn serialize<S: Serializer>(number: &MyNumber, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(number.reveal())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MyNumber, D::Error> {
        MyNumber::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use serde::de::value::Error as ValueError;
    use serde::de::IntoDeserializer;

    use super::*;

    /// Appends the check digit computed straight from the definition (not through `check_digit`),
    /// so a mistake in the production formula cannot hide in the test.
    fn with_check_digit(first_eleven: &str) -> String {
        assert_eq!(first_eleven.len(), 11);
        let p: Vec<u32> = first_eleven.bytes().rev().map(|b| u32::from(b - b'0')).collect();
        let q = [2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6];
        let remainder = p.iter().zip(q).map(|(p, q)| p * q).sum::<u32>() % 11;
        let check = if remainder <= 1 { 0 } else { 11 - remainder };
        format!("{first_eleven}{check}")
    }

    #[test]
    fn accepts_numbers_with_a_correct_check_digit() {
        // Varied prefixes, including ones whose remainder is 0 or 1 (check digit 0).
        let mut seen_zero_check = false;
        for seed in 0u64..200 {
            let first_eleven = format!("{:011}", seed.wrapping_mul(48_271_654_321) % 100_000_000_000);
            let text = with_check_digit(&first_eleven);
            let number = MyNumber::parse(&text).unwrap_or_else(|e| panic!("{first_eleven}: {e}"));
            assert_eq!(number.reveal(), text);
            seen_zero_check |= text.ends_with('0');
        }
        assert!(seen_zero_check, "the sample should exercise the 'remainder ≤ 1 → 0' branch");
        // A published sample number (総務省 example): 1234 5678 9018.
        assert!(MyNumber::parse("123456789018").is_ok());
    }

    #[test]
    fn refuses_every_wrong_check_digit() {
        let text = with_check_digit("12345678901");
        let correct = text.as_bytes()[11];
        for wrong in (b'0'..=b'9').filter(|d| *d != correct) {
            let mut typo = text.clone().into_bytes();
            typo[11] = wrong;
            let typo = String::from_utf8(typo).unwrap();
            assert_eq!(MyNumber::parse(&typo), Err(MyNumberError::CheckDigit));
        }
    }

    #[test]
    fn refuses_a_swapped_pair_of_digits() {
        // The usual typing mistake; the weights differ per position so the check digit catches it.
        let text = with_check_digit("12345678901");
        let swapped = format!("{}{}{}", &text[..3], "54", &text[5..]);
        assert_eq!(MyNumber::parse(&swapped), Err(MyNumberError::CheckDigit));
    }

    #[test]
    fn refuses_wrong_length_and_non_digits() {
        assert_eq!(MyNumber::parse("12345678901"), Err(MyNumberError::WrongLength { length: 11 }));
        assert_eq!(MyNumber::parse("1234567890180"), Err(MyNumberError::WrongLength { length: 13 }));
        assert_eq!(MyNumber::parse(""), Err(MyNumberError::WrongLength { length: 0 }));
        assert_eq!(MyNumber::parse("1234-5678-9018"), Err(MyNumberError::WrongLength { length: 14 }));
        assert_eq!(MyNumber::parse("12345678901a"), Err(MyNumberError::NotADigit { position: 12 }));
        assert_eq!(MyNumber::parse(" 23456789018"), Err(MyNumberError::NotADigit { position: 1 }));
        // Full-width digits as typed with a Japanese IME: 12 characters, none of them ASCII.
        assert_eq!(MyNumber::parse("１２３４５６７８９０１８"), Err(MyNumberError::NotADigit { position: 1 }));
    }

    #[test]
    fn debug_display_and_errors_never_show_the_digits() {
        let text = with_check_digit("98765432109");
        let number = MyNumber::parse(&text).unwrap();
        let masked = format!("********{}", &text[8..]);
        assert_eq!(number.masked(), masked);
        assert_eq!(format!("{number}"), masked);
        for shown in [format!("{number:?}"), format!("{number:#?}"), format!("{number}")] {
            assert!(!shown.contains(&text), "{shown}");
            assert!(!shown.contains(&text[..8]), "{shown}");
        }
        let mut typo = text.clone().into_bytes();
        typo[11] = if typo[11] == b'9' { b'0' } else { typo[11] + 1 };
        let error = MyNumber::parse(std::str::from_utf8(&typo).unwrap()).unwrap_err();
        assert!(!format!("{error} {error:?}").contains(&text[..8]));
    }

    #[test]
    fn deserializes_from_a_string_with_validation() {
        let text = with_check_digit("11122233344");
        let number: Result<MyNumber, ValueError> = MyNumber::deserialize(text.as_str().into_deserializer());
        assert_eq!(number.unwrap().reveal(), text);

        let bad: Result<MyNumber, ValueError> = MyNumber::deserialize("123456789019".into_deserializer());
        let message = bad.unwrap_err().to_string();
        assert!(message.contains("check digit"), "{message}");
        assert!(!message.contains("12345678"), "{message}");
    }

    #[test]
    fn a_number_sent_as_an_integer_is_refused_without_echoing_it() {
        let result: Result<MyNumber, ValueError> = MyNumber::deserialize(123_456_789_018u64.into_deserializer());
        let message = result.unwrap_err().to_string();
        assert_eq!(message, NOT_A_STRING);
    }
}
