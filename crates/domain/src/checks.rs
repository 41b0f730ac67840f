//! What a clerk can type wrong, checked before any rule is applied: text (empty where a value is
//! needed, longer than the ledger keeps, control characters), dates before 1900, a notification
//! dated before its event, and where a piece of information came from (入手元) and the law that
//! allows it. Refusals name the field and what it accepts, never the value typed.
//!
//! The limits are documented in `docs/domain.md` ("What the ledger accepts"): the longest name
//! of the resident registry's character set fits well within them, and a value beyond them is a
//! paste or a script, not a person.

use chrono::{Datelike, NaiveDate};
use kokuho_events::Acquisition;

use crate::rejection::Rejection;

/// The earliest date the ledger accepts in any field: nobody alive or insured was born, or
/// notified anything, before it.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a date"),
};

/// 宛名番号: the city's internal person number.
pub const ATENA_NO_CHARS_MAX: usize = 20;
/// A name or its kana reading (氏名, フリガナ).
pub const NAME_CHARS_MAX: usize = 100;
/// An address (住所), with the building and room.
pub const ADDRESS_CHARS_MAX: usize = 200;
/// A code or number typed from a document (a certificate number, a 離職理由コード).
pub const CODE_CHARS_MAX: usize = 40;
/// A free-text reason or basis (a legal basis with its article and table row).
pub const TEXT_CHARS_MAX: usize = 200;

/// Where personal information may come from (入手元), as the city's assessment of its specific
/// personal information file lists them (II-3 ①): the code the ledger records, and its name.
pub const SOURCES: &[(&str, &str)] = &[
    ("person_or_agent", "本人又は代理人"),
    ("resident_registry", "住民記録"),
    ("resident_tax", "住民税"),
    ("long_term_care", "介護保険"),
    ("public_assistance", "生活保護"),
    ("pension_service", "日本年金機構"),
    ("employment_security", "職業安定局"),
    ("digital_agency", "デジタル庁"),
    ("other_municipality", "他市区町村"),
    ("other_insurer", "他の保険者・社会保険診療報酬支払基金"),
    ("information_network", "情報提供ネットワークシステム (情報照会)"),
];

/// The laws an acquisition may cite, with their usual short names. A legal basis is one of
/// them, or a municipal ordinance (a name ending in 条例), followed by nothing or by the article
/// (`国民健康保険法 第9条`, `国民健康保険法第9条`, `番号利用法第19条第8号`, `地方税法施行令
/// 第56条の89の2`, `熊谷市国民健康保険税条例 第23条`).
pub const LAWS: &[&str] = &[
    "国民健康保険法施行令",
    "国民健康保険法施行規則",
    "国民健康保険法",
    "国保法",
    "住民基本台帳法施行令",
    "住民基本台帳法",
    "住基法",
    "番号利用法",
    "番号法",
    "マイナンバー法",
    "行政手続における特定の個人を識別するための番号の利用等に関する法律",
    "地方税法施行令",
    "地方税法施行規則",
    "地方税法",
    "介護保険法",
    "生活保護法",
    "国民年金法",
    "厚生年金保険法",
    "健康保険法",
    "雇用保険法",
    "高齢者の医療の確保に関する法律",
];

/// What may follow a law's name: nothing, a space, an article (第…), a parenthesis, a list.
fn cites(basis: &str, law: &str) -> bool {
    basis
        .strip_prefix(law)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '　', '第', '(', '（', '、', ',', '・', '別']))
}

/// A required text field: not blank, at most `max_chars` characters, no control characters.
pub fn required_text(field: &'static str, value: &str, max_chars: usize) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::EmptyField { field });
    }
    text(field, value, max_chars)
}

/// A text field that may be empty: at most `max_chars` characters, no control characters
/// (a tab, a line break or an escape has no place in a name, an address or a code).
pub fn text(field: &'static str, value: &str, max_chars: usize) -> Result<(), Rejection> {
    if value.chars().any(char::is_control) {
        return Err(Rejection::ControlCharacter { field });
    }
    if value.chars().count() > max_chars {
        return Err(Rejection::TextTooLong { field, max_chars });
    }
    Ok(())
}

/// A date the ledger can hold: 1900-01-01 or later.
pub fn date(field: &'static str, value: NaiveDate) -> Result<(), Rejection> {
    if value < EARLIEST_DATE {
        Err(Rejection::DateTooEarly { field, earliest: EARLIEST_DATE })
    } else {
        Ok(())
    }
}

/// A fiscal (or income) year the ledger can hold: from 1900 to the year after the current one
/// (a payment may be made ahead for the next year, nothing further).
pub fn year(field: &'static str, year: i32, today: NaiveDate) -> Result<(), Rejection> {
    let latest = crate::FiscalYear::containing(today).year() + 1;
    if (EARLIEST_DATE.year()..=latest).contains(&year) {
        Ok(())
    } else {
        Err(Rejection::YearOutOfRange { field, earliest: EARLIEST_DATE.year(), latest })
    }
}

/// A notification cannot be dated before the event it notifies.
pub fn notified_after(event_date: NaiveDate, notified_on: NaiveDate) -> Result<(), Rejection> {
    if notified_on < event_date {
        Err(Rejection::NotifiedBeforeEvent)
    } else {
        Ok(())
    }
}

/// The source is one of [`SOURCES`] and the legal basis cites one of [`LAWS`].
pub fn acquisition(acquisition: &Acquisition) -> Result<(), Rejection> {
    required_text("source", &acquisition.source, CODE_CHARS_MAX)?;
    if !SOURCES.iter().any(|(code, _)| *code == acquisition.source) {
        return Err(Rejection::UnknownSource);
    }
    required_text("legal_basis", &acquisition.legal_basis, TEXT_CHARS_MAX)?;
    let basis = acquisition.legal_basis.as_str();
    let ordinance = basis.find("条例").is_some_and(|at| at > 0 && cites(&basis[at..], "条例"));
    let cites_a_law = ordinance || LAWS.iter().any(|law| cites(basis, law));
    if !cites_a_law {
        return Err(Rejection::UnknownLegalBasis);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acq(source: &str, legal_basis: &str) -> Acquisition {
        Acquisition { source: source.into(), legal_basis: legal_basis.into() }
    }

    #[test]
    fn text_refuses_control_characters_and_length_naming_the_field() {
        assert_eq!(text("name", "熊谷\t花子", 100), Err(Rejection::ControlCharacter { field: "name" }));
        assert_eq!(text("name", "熊谷\u{1b}[31m", 100), Err(Rejection::ControlCharacter { field: "name" }));
        assert_eq!(text("name", &"あ".repeat(100), 100), Ok(()));
        assert_eq!(text("name", &"あ".repeat(101), 100), Err(Rejection::TextTooLong { field: "name", max_chars: 100 }));
        assert_eq!(required_text("name", " 　", 100), Err(Rejection::EmptyField { field: "name" }));
        let refusal = text("address", &"x".repeat(300), ADDRESS_CHARS_MAX).unwrap_err().to_string();
        assert!(refusal.contains("address") && refusal.contains("200") && !refusal.contains("xxx"), "{refusal}");
    }

    #[test]
    fn dates_before_1900_and_notifications_before_their_event_are_refused() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(date("date_of_birth", day(1900, 1, 1)), Ok(()));
        assert!(matches!(date("date_of_birth", day(1899, 12, 31)), Err(Rejection::DateTooEarly { .. })));
        assert_eq!(year("fiscal_year", 2026, day(2025, 4, 1)), Ok(()));
        assert_eq!(
            year("fiscal_year", 2027, day(2026, 3, 31)),
            Err(Rejection::YearOutOfRange { field: "fiscal_year", earliest: 1900, latest: 2026 })
        );
        assert!(year("income_year", 1899, day(2025, 4, 1)).is_err());
        assert_eq!(notified_after(day(2025, 4, 1), day(2025, 4, 1)), Ok(()));
        assert_eq!(notified_after(day(2025, 4, 2), day(2025, 4, 1)), Err(Rejection::NotifiedBeforeEvent));
    }

    #[test]
    fn acquisitions_name_a_known_source_and_cite_a_known_law() {
        assert_eq!(acquisition(&acq("resident_registry", "住民基本台帳法")), Ok(()));
        assert_eq!(acquisition(&acq("person_or_agent", "国民健康保険法 第9条")), Ok(()));
        assert_eq!(acquisition(&acq("information_network", "番号利用法　第19条第8号")), Ok(()));
        // The usual written forms: no space before the article, an enforcement order, a short
        // name, the city's ordinance.
        for basis in [
            "国民健康保険法第9条",
            "番号利用法第9条第1項 別表第30の項",
            "地方税法施行令 第56条の89の2",
            "マイナンバー法 第23条",
            "熊谷市国民健康保険税条例 第23条",
            "熊谷市国民健康保険税条例",
        ] {
            assert_eq!(acquisition(&acq("person_or_agent", basis)), Ok(()), "{basis}");
        }
        assert_eq!(acquisition(&acq("", "住民基本台帳法")), Err(Rejection::EmptyField { field: "source" }));
        assert_eq!(acquisition(&acq("x", "住民基本台帳法")), Err(Rejection::UnknownSource));
        assert_eq!(acquisition(&acq("resident_tax", "")), Err(Rejection::EmptyField { field: "legal_basis" }));
        assert_eq!(acquisition(&acq("resident_tax", "y")), Err(Rejection::UnknownLegalBasis));
        // A law's name must be the whole name, not the start of another word.
        assert_eq!(acquisition(&acq("resident_tax", "地方税法施行令の何か")), Err(Rejection::UnknownLegalBasis));
        assert_eq!(acquisition(&acq("resident_tax", "条例")), Err(Rejection::UnknownLegalBasis));
    }
}
