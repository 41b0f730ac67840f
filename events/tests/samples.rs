//! The golden samples in `events/samples/<Type>.v<N>.json` against the codec.
//!
//! A sample is a payload in its logical form: the personal part, where the type has one, inline
//! under `personal`. Every sample must decode; a sample at the current version must also encode
//! back to itself, so a change to a payload's shape fails here until its sample (and, for a stored
//! shape, a new schema version with an upcaster) says so. See `events/README.md`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use kokuho_events::{
    DecodeError, LedgerEvent, PaymentChannel, PaymentReceived, Personal, PersonalPart, SignInFailure,
    StaffSignInFailed, CATALOG, UPCASTERS,
};
use serde_json::{Map, Value};
use uuid::Uuid;

const PERSONAL_KEY: &str = "personal";

/// One golden file, read and parsed.
struct Sample {
    file_name: String,
    event_type: String,
    schema_version: u16,
    value: Map<String, Value>,
}

impl Sample {
    /// The stored parts: the clear payload bytes and, when there is one, the personal part's.
    fn stored_parts(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut clear = self.value.clone();
        let personal =
            clear.remove(PERSONAL_KEY).map(|value| serde_json::to_vec(&value).expect("JSON values always serialize"));
        (serde_json::to_vec(&clear).expect("JSON values always serialize"), personal)
    }

    /// Decodes the sample the way the store reads it when the personal part was decrypted.
    fn decode(&self) -> Result<LedgerEvent, DecodeError> {
        let (clear, personal) = self.stored_parts();
        let personal = match &personal {
            Some(bytes) => PersonalPart::Plain(bytes),
            None => PersonalPart::None,
        };
        LedgerEvent::decode(&self.event_type, self.schema_version, &clear, personal)
    }
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// `PaymentReceived.v2.json` → `("PaymentReceived", 2)`; anything else in the folder is an error,
/// so a misnamed sample cannot silently escape the checks.
fn parse_file_name(file_name: &str) -> (String, u16) {
    let parsed = file_name.strip_suffix(".json").and_then(|stem| {
        let (event_type, version) = stem.rsplit_once(".v")?;
        let version = version.parse::<u16>().ok()?;
        (!event_type.is_empty()).then(|| (event_type.to_owned(), version))
    });
    parsed.unwrap_or_else(|| panic!("samples/{file_name} is not named <Type>.v<N>.json"))
}

fn all_samples() -> Vec<Sample> {
    let dir = samples_dir();
    let mut samples: Vec<Sample> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let file_name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            let (event_type, schema_version) = parse_file_name(&file_name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read samples/{file_name}: {error}"));
            let value = match serde_json::from_str(&text) {
                Ok(Value::Object(object)) => object,
                Ok(other) => panic!("samples/{file_name} is not a JSON object: {other}"),
                Err(error) => panic!("samples/{file_name} is not valid JSON: {error}"),
            };
            Sample { file_name, event_type, schema_version, value }
        })
        .collect();
    samples.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    assert!(!samples.is_empty(), "no samples in {}", dir.display());
    samples
}

fn sample(file_name: &str) -> Sample {
    all_samples()
        .into_iter()
        .find(|sample| sample.file_name == file_name)
        .unwrap_or_else(|| panic!("samples/{file_name} is missing"))
}

fn current_version(event_type: &str) -> Option<u16> {
    CATALOG.iter().find(|entry| entry.event_type == event_type).map(|entry| entry.schema_version)
}

/// The encoded event put back into its logical form: the personal part inline again.
fn encode_to_logical(event: &LedgerEvent) -> Value {
    let encoded = event.encode();
    let mut object = match serde_json::from_slice(&encoded.payload) {
        Ok(Value::Object(object)) => object,
        other => panic!("{} encodes a payload that is not a JSON object: {other:?}", encoded.event_type),
    };
    if let Some(personal) = &encoded.personal {
        let personal: Value = serde_json::from_slice(personal).expect("the personal part is JSON");
        assert!(
            object.insert(PERSONAL_KEY.to_owned(), personal).is_none(),
            "{} has `{PERSONAL_KEY}` both in clear and in the personal part",
            encoded.event_type
        );
    }
    Value::Object(object)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values always serialize")
}

#[test]
fn every_sample_decodes_and_current_ones_encode_back_to_themselves() {
    for sample in all_samples() {
        let file = &sample.file_name;
        let current = current_version(&sample.event_type)
            .unwrap_or_else(|| panic!("samples/{file}: {} is not in CATALOG", sample.event_type));
        assert!(sample.schema_version <= current, "samples/{file} is newer than the catalog's v{current}");

        let event = sample.decode().unwrap_or_else(|error| panic!("samples/{file} does not decode: {error}"));
        assert_eq!(event.event_type(), sample.event_type, "samples/{file} decodes as another type");

        let encoded = event.encode();
        assert_eq!(encoded.event_type, sample.event_type, "samples/{file}");
        assert_eq!(encoded.schema_version, current, "samples/{file} encodes at another version");
        // A personal part can only be sealed with a subject's key.
        if encoded.personal.is_some() {
            assert!(encoded.subject.is_some(), "samples/{file}: a personal part without a subject");
        }
        if let Some(person_id) = sample.value.get("person_id").filter(|_| encoded.subject.is_some()) {
            assert_eq!(
                encoded.subject.map(|s| s.to_string()),
                person_id.as_str().map(str::to_owned),
                "samples/{file}: subject is not the person"
            );
        }

        if sample.schema_version == current {
            let expected = Value::Object(sample.value.clone());
            let actual = encode_to_logical(&event);
            assert!(
                actual == expected,
                "samples/{file} no longer round-trips: the payload's shape changed.\n\
                 If stored events have the old shape, add schema version v{next} with an upcaster \
                 (see events/README.md); otherwise update the sample.\n\
                 sample:\n{}\nencoded:\n{}",
                pretty(&expected),
                pretty(&actual),
                next = current + 1,
            );
        }
    }
}

#[test]
fn every_catalog_entry_has_a_sample_at_its_current_version() {
    let samples = all_samples();
    for entry in CATALOG {
        let file_name = format!("{}.v{}.json", entry.event_type, entry.schema_version);
        assert!(
            samples.iter().any(|sample| sample.file_name == file_name),
            "{} v{} has no golden sample: add events/samples/{file_name}",
            entry.event_type,
            entry.schema_version
        );
    }
}

#[test]
fn every_upcaster_has_a_sample_of_the_version_it_reads() {
    let samples = all_samples();
    for (event_type, from_version, _) in UPCASTERS {
        let file_name = format!("{event_type}.v{from_version}.json");
        assert!(
            samples.iter().any(|sample| sample.file_name == file_name),
            "the upcaster from {event_type} v{from_version} has no sample: keep events/samples/{file_name}"
        );
    }
}

/// v1 kept the login as typed; read as v2 it is gone (no key to hash it with), the rest stays.
#[test]
fn staff_sign_in_failed_v1_reads_as_v2_without_the_typed_login() {
    let event = sample("StaffSignInFailed.v1.json").decode().expect("the v1 sample decodes");
    let expected = StaffSignInFailed {
        login_hmac: None,
        user_id: Some(Uuid::parse_str("0193a8c2-7d10-7c3e-9a51-2f6b1c0d4e01").unwrap()),
        failure: SignInFailure::WrongCode,
    };
    assert_eq!(event, LedgerEvent::StaffSignInFailed(expected));
    // An unknown login's v1 event, with whatever was typed, reads the same way.
    let typed = serde_json::json!({"login": "hunter2 my password", "user_id": null, "failure": "unknown_login"});
    let event = LedgerEvent::decode("StaffSignInFailed", 1, typed.to_string().as_bytes(), PersonalPart::None).unwrap();
    let LedgerEvent::StaffSignInFailed(failed) = event else { panic!("{event:?}") };
    assert_eq!((failed.login_hmac, failed.user_id, failed.failure), (None, None, SignInFailure::UnknownLogin));
}

#[test]
fn payment_received_v1_reads_as_v2_with_amount_in_yen_and_counter_channel() {
    let event = sample("PaymentReceived.v1.json").decode().expect("the v1 sample decodes");
    let expected = PaymentReceived {
        person_id: Uuid::parse_str("01975208-2ea4-7c41-9d2e-8f4a6b1c3d57").unwrap(),
        fiscal_year: 2025,
        amount_yen: 23_400,
        received_on: NaiveDate::from_ymd_opt(2025, 7, 31).unwrap(),
        channel: PaymentChannel::Counter,
    };
    assert_eq!(event, LedgerEvent::PaymentReceived(expected));
}

#[test]
fn unavailable_personal_part_decodes_as_unavailable() {
    let sample = sample("PersonRegistered.v1.json");
    let (clear, personal) = sample.stored_parts();
    assert!(personal.is_some(), "the PersonRegistered sample has a personal part");

    let LedgerEvent::PersonRegistered(full) = sample.decode().expect("decodes with its personal part") else {
        panic!("PersonRegistered decodes as another type")
    };
    assert!(matches!(full.personal, Personal::Present(_)));

    let without = LedgerEvent::decode("PersonRegistered", 1, &clear, PersonalPart::Unavailable)
        .expect("decodes without its personal part");
    let LedgerEvent::PersonRegistered(without) = without else { panic!("PersonRegistered decodes as another type") };
    assert_eq!(without.personal, Personal::Unavailable);
    // Everything in clear is still there.
    assert_eq!(without.person_id, full.person_id);
    assert_eq!(without.atena_no, full.atena_no);
    assert_eq!(without.acquisition, full.acquisition);

    // Re-encoding an event whose personal part is unavailable writes no personal part (and no
    // `personal: null` in clear).
    let encoded = LedgerEvent::PersonRegistered(without).encode();
    assert_eq!(encoded.personal, None);
    let clear: Map<String, Value> = serde_json::from_slice(&encoded.payload).unwrap();
    assert!(!clear.contains_key(PERSONAL_KEY), "clear payload: {clear:?}");
}

#[test]
fn encode_never_puts_personal_data_in_the_clear_payload() {
    let event = sample("PersonRegistered.v1.json").decode().expect("decodes");
    let LedgerEvent::PersonRegistered(registered) = &event else { panic!("PersonRegistered decodes as another type") };
    let details = registered.personal.as_present().expect("the sample has personal data");
    let encoded = event.encode();
    let personal = encoded.personal.as_deref().expect("a personal part to encrypt");

    let contains =
        |haystack: &[u8], needle: &str| haystack.windows(needle.len()).any(|window| window == needle.as_bytes());
    let date_of_birth = details.date_of_birth.to_string();
    for item in [&details.name, &details.name_kana, &details.address, &date_of_birth] {
        assert!(
            !contains(&encoded.payload, item),
            "{item:?} is in the clear payload: {}",
            String::from_utf8_lossy(&encoded.payload)
        );
        assert!(contains(personal, item), "{item:?} is missing from the personal part");
    }
}

#[test]
fn unknown_fields_in_a_stored_payload_are_refused() {
    // In the clear part, at the current version.
    let mut current = sample("PaymentReceived.v2.json");
    current.value.insert("note".to_owned(), Value::String("窓口で受領".to_owned()));
    assert!(matches!(current.decode(), Err(DecodeError::Payload { .. })));

    // In the clear part of an old version: the upcaster does not swallow it.
    let mut old = sample("PaymentReceived.v1.json");
    old.value.insert("note".to_owned(), Value::String("窓口で受領".to_owned()));
    assert!(matches!(old.decode(), Err(DecodeError::Payload { .. })));

    // In the personal part.
    let mut person = sample("PersonRegistered.v1.json");
    let Some(Value::Object(details)) = person.value.get_mut(PERSONAL_KEY) else {
        panic!("the PersonRegistered sample has a personal object")
    };
    details.insert("phone".to_owned(), Value::String("048-524-1111".to_owned()));
    assert!(matches!(person.decode(), Err(DecodeError::Payload { .. })));

    // A personal part on a type that has none.
    let eligibility = sample("EligibilityAcquired.v1.json");
    let (clear, _) = eligibility.stored_parts();
    let result = LedgerEvent::decode("EligibilityAcquired", 1, &clear, PersonalPart::Plain(b"{}"));
    assert!(matches!(result, Err(DecodeError::Payload { .. })));
}

#[test]
fn a_future_schema_version_is_refused() {
    for entry in CATALOG {
        let sample = sample(&format!("{}.v{}.json", entry.event_type, entry.schema_version));
        let (clear, personal) = sample.stored_parts();
        let personal = match &personal {
            Some(bytes) => PersonalPart::Plain(bytes),
            None => PersonalPart::None,
        };
        let future = entry.schema_version + 1;
        match LedgerEvent::decode(entry.event_type, future, &clear, personal) {
            Err(DecodeError::FutureVersion { event_type, version, current }) => {
                assert_eq!(event_type, entry.event_type);
                assert_eq!(version, future);
                assert_eq!(current, entry.schema_version);
            }
            other => panic!("{} v{future} gave {other:?}", entry.event_type),
        }
    }
}

#[test]
fn an_unknown_event_type_is_refused() {
    let result = LedgerEvent::decode("PersonRenamed", 1, b"{}", PersonalPart::None);
    assert!(matches!(result, Err(DecodeError::UnknownType { event_type }) if event_type == "PersonRenamed"));
}

#[test]
fn a_personal_part_in_the_clear_payload_is_refused_whatever_the_reader_holds() {
    // Personal data may only arrive through the sealed part; a clear copy (a bug, or a row
    // written by hand) must not reach projections nor survive the person's erasure.
    let clear = br#"{"person_id":"0190f2a0-0000-7000-8000-000000000001","atena_no":"1","acquisition":{"source":"s","legal_basis":"b"},"personal":{"name":"x","name_kana":"x","sex":"female","date_of_birth":"1980-01-01","address":"x"}}"#;
    for personal in [PersonalPart::None, PersonalPart::Unavailable, PersonalPart::Plain(b"{}")] {
        let refused = LedgerEvent::decode("PersonRegistered", 1, clear, personal);
        assert!(matches!(refused, Err(DecodeError::PersonalInClear { .. })), "{refused:?}");
    }
}

#[test]
fn a_decode_error_never_quotes_a_personal_value() {
    let clear = br#"{"person_id":"0190f2a0-0000-7000-8000-000000000001","atena_no":"1","acquisition":{"source":"s","legal_basis":"b"}}"#;
    let personal = r#"{"name":"熊谷 花子","name_kana":"x","sex":"女","date_of_birth":"1980-01-01","address":"x"}"#;
    let error =
        LedgerEvent::decode("PersonRegistered", 1, clear, PersonalPart::Plain(personal.as_bytes())).unwrap_err();
    let text = error.to_string();
    assert!(!text.contains('女') && !text.contains("花子"), "{text}");
}
