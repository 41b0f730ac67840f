//! Provision (情報提供) and inquiry (情報照会) through the information provision network: the
//! provision record of マイナンバー法 §23 (docs/domain.md §2 "provision", §3 rules 2, 4 and 5).
//!
//! - A **provision** answers another agency's request for a person's information. Each one is
//!   its own aggregate, stream `provision-<provision_id>`: `ProvisionRequested`, then at once
//!   `ProvisionProvided`, or — when the person has the no-auto-response flag —
//!   `ProvisionAwaitingApproval` until a supervisor's `ProvisionApproved`. The provided record
//!   copies the person's non-disclosure flag at that moment, which hides it from the citizen.
//! - An **inquiry** is the city asking another agency. It is allowed only under a management
//!   number the [`AllowList`] permits for the declared purpose (照会許可用照会リスト, seed
//!   III-6 risk 1 in docs/seed.md), and it is one event in its own stream `inquiry-<inquiry_id>`.
//!
//! The allow-list is data (architecture invariant 6): `rules/provision/
//! management_numbers.json`, seeded from the seed's §I-5 (docs/seed.md), loaded at startup and passed in here
//! as a value; every decision event records the list's SHA-256. `decide` functions are pure:
//! the clock's instant, the person's registration and flags arrive in [`ProvisionLookups`] and
//! the commands.

use chrono::{DateTime, Utc};
use kokuho_events::{
    InquiryMade, LedgerEvent, ProvisionApproved, ProvisionAwaitingApproval, ProvisionProvided, ProvisionRequested,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::sensitivity::SensitivityState;
use crate::PersonId;

/// The longest agency name kept (in characters).
pub const AGENCY_CHARS_MAX: usize = 200;
/// The most items one provision or inquiry names.
pub const ITEMS_MAX: usize = 20;
/// The longest item name kept (in characters).
pub const ITEM_CHARS_MAX: usize = 100;

/// The stream of one provision.
pub fn stream_id(provision_id: Uuid) -> String {
    format!("provision-{provision_id}")
}

/// The stream of one inquiry.
pub fn inquiry_stream_id(inquiry_id: Uuid) -> String {
    format!("inquiry-{inquiry_id}")
}

/// What the city may inquire and provide through the network: rows of the table of the
/// ordinance under 番号利用法 §19 (8) (主務省令第2条の表), as the city's assessment lists them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// Where the rows come from.
    pub source: String,
    /// The citation every row's legal basis starts with.
    pub legal_basis_prefix: String,
    /// Management numbers the city may inquire under, each for some purposes only.
    pub inquiries: Vec<InquiryNumber>,
    /// Rows under which the city, as a medical insurer, provides information.
    pub provisions: Vec<ProvisionBasis>,
    /// SHA-256 (hex) of the file this list was read from; set by the loader.
    #[serde(skip)]
    pub sha256: String,
}

/// One management number the city may inquire under (情報照会の根拠).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InquiryNumber {
    /// The row of the ordinance's table (項番), e.g. `"70"`.
    pub management_number: String,
    /// The ordinance's article for the row, e.g. `"第72条"`.
    pub article: String,
    /// 第一欄: who inquires.
    pub inquirer: String,
    /// 第二欄: the affair the inquiry serves.
    pub affair: String,
    /// The NHI affairs (`kokuho_auth::Purpose` names) this number serves.
    pub purposes: Vec<String>,
    /// Why the purposes are these, where it is not plain from the affair.
    #[serde(default)]
    pub note: Option<String>,
}

/// One row under which the city provides information (情報提供の根拠).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBasis {
    /// The row of the ordinance's table (項番), e.g. `"2"`.
    pub row: String,
    pub article: String,
    /// 第四欄: the categories of information that may be provided under this row.
    pub information: Vec<String>,
}

impl AllowList {
    /// Checks the list's shape: something listed, no row twice, nothing blank.
    pub fn check(&self) -> Result<(), String> {
        let mut numbers = std::collections::HashSet::new();
        for number in &self.inquiries {
            if number.management_number.trim().is_empty() || number.purposes.is_empty() {
                return Err("every inquiry row needs a management_number and at least one purpose".into());
            }
            if !numbers.insert(number.management_number.as_str()) {
                return Err(format!("management number {} is listed twice", number.management_number));
            }
        }
        let mut rows = std::collections::HashSet::new();
        for basis in &self.provisions {
            if basis.row.trim().is_empty() || basis.information.iter().all(|item| item.trim().is_empty()) {
                return Err("every provision row needs a row and at least one category of information".into());
            }
            if !rows.insert(basis.row.as_str()) {
                return Err(format!("provision row {} is listed twice", basis.row));
            }
        }
        if self.inquiries.is_empty() && self.provisions.is_empty() {
            return Err("the allow-list permits nothing".into());
        }
        Ok(())
    }

    pub fn inquiry(&self, management_number: &str) -> Option<&InquiryNumber> {
        self.inquiries.iter().find(|number| number.management_number == management_number)
    }

    pub fn provision(&self, row: &str) -> Option<&ProvisionBasis> {
        self.provisions.iter().find(|basis| basis.row == row)
    }

    /// The full citation of a row, e.g. `番号利用法第19条第8号 主務省令第2条の表 70項 (第72条)`.
    pub fn citation(&self, row: &str, article: &str) -> String {
        format!("{} {row}項 ({article})", self.legal_basis_prefix)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionStatus {
    AwaitingApproval,
    Provided,
}

impl ProvisionStatus {
    /// `awaiting_approval` or `provided`, as the API names a provision's status.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionStatus::AwaitingApproval => "awaiting_approval",
            ProvisionStatus::Provided => "provided",
        }
    }
}

/// A provision as its events tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionState {
    pub request: Option<ProvisionRequested>,
    pub status: Option<ProvisionStatus>,
    pub approved_by: Option<Uuid>,
    pub provided: Option<ProvisionProvided>,
}

/// A request from another agency, as the clerk recording it gives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProvisionRequest {
    pub person_id: PersonId,
    pub requesting_agency: String,
    pub legal_basis_row: String,
    pub items: Vec<String>,
    /// When the agency asked (valid time).
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ProvisionCommand {
    Request(ProvisionRequest),
    /// The caller has checked that `by` is a supervisor (roles are the HTTP layer's).
    Approve {
        by: Uuid,
    },
}

/// An inquiry the city makes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InquiryCommand {
    pub person_id: PersonId,
    pub management_number: String,
    /// The NHI affair declared (a `kokuho_auth::Purpose` name the caller's role serves).
    pub purpose: String,
    pub agency_asked: String,
    pub items: Vec<String>,
    pub made_by: Uuid,
    pub role: String,
}

/// What a decision needs from outside its own stream.
#[derive(Debug, Clone)]
pub struct ProvisionLookups {
    /// Whether the person is registered in this municipality's ledger.
    pub person_registered: bool,
    /// The person's sensitivity flags now.
    pub sensitivity: SensitivityState,
    pub allow_list: std::sync::Arc<AllowList>,
    /// The instant of the decision (from the caller's clock): the provision's time.
    pub now: DateTime<Utc>,
}

/// Why a provision or inquiry was refused. Codes are part of the HTTP contract: never rename one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionRejection {
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: PersonId },
    #[error("there is no provision {provision_id}")]
    ProvisionNotFound { provision_id: Uuid },
    #[error("provision {provision_id} is already recorded")]
    AlreadyRequested { provision_id: Uuid },
    #[error("inquiry {inquiry_id} is already recorded")]
    AlreadyMade { inquiry_id: Uuid },
    #[error("provision {provision_id} is {status}, not awaiting approval")]
    NotAwaitingApproval { provision_id: Uuid, status: &'static str },
    #[error("{field} must not be empty")]
    EmptyField { field: &'static str },
    #[error("{field} has at most {max} characters, this has {chars}")]
    TooLong { field: &'static str, chars: usize, max: usize },
    #[error("at most {max} items may be named, this names {count}")]
    TooManyItems { count: usize, max: usize },
    #[error("requested_at is in the future (now is {now})")]
    RequestedInFuture { requested_at: DateTime<Utc>, now: DateTime<Utc> },
    #[error("row {legal_basis_row} of the provision ordinance's table is not one the city provides under; see the allow-list")]
    ProvisionBasisNotPermitted { legal_basis_row: String },
    #[error("{item:?} may not be provided under row {legal_basis_row}; it provides: {permitted}")]
    ProvisionItemNotPermitted { item: String, legal_basis_row: String, permitted: String },
    #[error("management number {management_number:?} is not permitted for the purpose {purpose}; permitted for it: {permitted}")]
    ManagementNumberNotPermitted { management_number: String, purpose: String, permitted: String },
}

impl crate::Refusal for ProvisionRejection {
    fn code(&self) -> &'static str {
        ProvisionRejection::code(self)
    }
    /// Not found 404, a state that forbids it 409, a purpose-limitation refusal 403, bad input 422.
    fn kind(&self) -> crate::RejectionKind {
        use crate::RejectionKind;
        match self {
            ProvisionRejection::PersonNotFound { .. } | ProvisionRejection::ProvisionNotFound { .. } => {
                RejectionKind::NotFound
            }
            ProvisionRejection::AlreadyRequested { .. }
            | ProvisionRejection::AlreadyMade { .. }
            | ProvisionRejection::NotAwaitingApproval { .. } => RejectionKind::Conflict,
            ProvisionRejection::ManagementNumberNotPermitted { .. } => RejectionKind::Forbidden,
            _ => RejectionKind::Invalid,
        }
    }
}

/// A provision to another agency: [`decide`] and [`evolve`] over `provision-<id>`.
pub struct Provision;

impl crate::Aggregate for Provision {
    const NAME: &'static str = "provision";
    const READS_PERSONAL: bool = false;
    type Id = Uuid;
    type State = ProvisionState;
    type Command = ProvisionCommand;
    type Lookups = ProvisionLookups;
    type Rejection = ProvisionRejection;

    fn stream_id(id: Uuid) -> String {
        stream_id(id)
    }
    fn decide(
        id: Uuid,
        state: &ProvisionState,
        command: ProvisionCommand,
        lookups: &ProvisionLookups,
    ) -> Result<Vec<LedgerEvent>, ProvisionRejection> {
        decide(id, state, command, lookups)
    }
    fn evolve(state: ProvisionState, event: &LedgerEvent) -> ProvisionState {
        evolve(state, event)
    }
}

/// An inquiry the city makes: [`decide_inquiry`] over `inquiry-<id>`; its state is the inquiry
/// once made.
pub struct Inquiry;

impl crate::Aggregate for Inquiry {
    const NAME: &'static str = "inquiry";
    const READS_PERSONAL: bool = false;
    type Id = Uuid;
    type State = Option<InquiryMade>;
    type Command = InquiryCommand;
    type Lookups = ProvisionLookups;
    type Rejection = ProvisionRejection;

    fn stream_id(id: Uuid) -> String {
        inquiry_stream_id(id)
    }
    fn decide(
        id: Uuid,
        state: &Option<InquiryMade>,
        command: InquiryCommand,
        lookups: &ProvisionLookups,
    ) -> Result<Vec<LedgerEvent>, ProvisionRejection> {
        decide_inquiry(id, state.is_some(), command, lookups)
    }
    fn evolve(state: Option<InquiryMade>, event: &LedgerEvent) -> Option<InquiryMade> {
        match event {
            LedgerEvent::InquiryMade(inquiry) => Some(inquiry.clone()),
            _ => state,
        }
    }
}

impl ProvisionRejection {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ProvisionRejection::PersonNotFound { .. } => "person_not_found",
            ProvisionRejection::ProvisionNotFound { .. } => "provision_not_found",
            ProvisionRejection::AlreadyRequested { .. } => "provision_already_recorded",
            ProvisionRejection::AlreadyMade { .. } => "inquiry_already_recorded",
            ProvisionRejection::NotAwaitingApproval { .. } => "provision_not_awaiting_approval",
            ProvisionRejection::EmptyField { .. } => "empty_field",
            ProvisionRejection::TooLong { .. } => "field_too_long",
            ProvisionRejection::TooManyItems { .. } => "too_many_items",
            ProvisionRejection::RequestedInFuture { .. } => "time_in_future",
            ProvisionRejection::ProvisionBasisNotPermitted { .. } => "provision_basis_not_permitted",
            ProvisionRejection::ProvisionItemNotPermitted { .. } => "provision_item_not_permitted",
            ProvisionRejection::ManagementNumberNotPermitted { .. } => "management_number_not_permitted",
        }
    }
}

/// A required text: trimmed, not blank, not too long.
fn text(field: &'static str, value: &str, max: usize) -> Result<String, ProvisionRejection> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ProvisionRejection::EmptyField { field });
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(ProvisionRejection::TooLong { field, chars, max });
    }
    Ok(value.to_owned())
}

/// The items named: at least one, each a required text, at most [`ITEMS_MAX`].
fn items(items: &[String]) -> Result<Vec<String>, ProvisionRejection> {
    if items.is_empty() {
        return Err(ProvisionRejection::EmptyField { field: "items" });
    }
    if items.len() > ITEMS_MAX {
        return Err(ProvisionRejection::TooManyItems { count: items.len(), max: ITEMS_MAX });
    }
    items.iter().map(|item| text("items", item, ITEM_CHARS_MAX)).collect()
}

pub fn decide(
    provision_id: Uuid,
    state: &ProvisionState,
    command: ProvisionCommand,
    lookups: &ProvisionLookups,
) -> Result<Vec<LedgerEvent>, ProvisionRejection> {
    match command {
        ProvisionCommand::Request(request) => {
            if state.request.is_some() {
                return Err(ProvisionRejection::AlreadyRequested { provision_id });
            }
            if !lookups.person_registered {
                return Err(ProvisionRejection::PersonNotFound { person_id: request.person_id });
            }
            let requesting_agency = text("requesting_agency", &request.requesting_agency, AGENCY_CHARS_MAX)?;
            let items = items(&request.items)?;
            if request.requested_at > lookups.now {
                return Err(ProvisionRejection::RequestedInFuture {
                    requested_at: request.requested_at,
                    now: lookups.now,
                });
            }
            let row = request.legal_basis_row.trim();
            let basis = lookups
                .allow_list
                .provision(row)
                .ok_or_else(|| ProvisionRejection::ProvisionBasisNotPermitted { legal_basis_row: row.to_owned() })?;
            // Only the categories the row names (第四欄) may go out under it (purpose limitation).
            if let Some(item) = items.iter().find(|item| !basis.information.contains(item)) {
                return Err(ProvisionRejection::ProvisionItemNotPermitted {
                    item: item.clone(),
                    legal_basis_row: basis.row.clone(),
                    permitted: basis.information.join(", "),
                });
            }
            let requested = ProvisionRequested {
                provision_id,
                person_id: request.person_id.as_uuid(),
                requesting_agency,
                legal_basis_row: basis.row.clone(),
                legal_basis: lookups.allow_list.citation(&basis.row, &basis.article),
                items,
                requested_at: request.requested_at,
                allow_list_sha256: lookups.allow_list.sha256.clone(),
            };
            let follow_up = if lookups.sensitivity.no_auto_response {
                // 自動応答不可: not answered automatically; a supervisor checks what is sent.
                LedgerEvent::ProvisionAwaitingApproval(ProvisionAwaitingApproval {
                    provision_id,
                    person_id: requested.person_id,
                })
            } else {
                provided(&requested, lookups)
            };
            Ok(vec![LedgerEvent::ProvisionRequested(requested), follow_up])
        }
        ProvisionCommand::Approve { by } => {
            let Some(requested) = &state.request else {
                return Err(ProvisionRejection::ProvisionNotFound { provision_id });
            };
            match state.status {
                Some(ProvisionStatus::AwaitingApproval) => {}
                other => {
                    return Err(ProvisionRejection::NotAwaitingApproval {
                        provision_id,
                        status: other.map_or("unknown", ProvisionStatus::as_str),
                    })
                }
            }
            Ok(vec![
                LedgerEvent::ProvisionApproved(ProvisionApproved {
                    provision_id,
                    person_id: requested.person_id,
                    approved_by: by,
                }),
                provided(requested, lookups),
            ])
        }
    }
}

/// The provision record, with the non-disclosure flag as it is at the moment of providing.
fn provided(requested: &ProvisionRequested, lookups: &ProvisionLookups) -> LedgerEvent {
    LedgerEvent::ProvisionProvided(ProvisionProvided {
        provision_id: requested.provision_id,
        person_id: requested.person_id,
        requesting_agency: requested.requesting_agency.clone(),
        legal_basis: requested.legal_basis.clone(),
        items: requested.items.clone(),
        requested_at: requested.requested_at,
        provided_at: lookups.now,
        non_disclosable: lookups.sensitivity.non_disclosure,
    })
}

pub fn evolve(mut state: ProvisionState, event: &LedgerEvent) -> ProvisionState {
    match event {
        LedgerEvent::ProvisionRequested(e) => state.request = Some(e.clone()),
        LedgerEvent::ProvisionAwaitingApproval(_) => state.status = Some(ProvisionStatus::AwaitingApproval),
        LedgerEvent::ProvisionApproved(e) => state.approved_by = Some(e.approved_by),
        LedgerEvent::ProvisionProvided(e) => {
            state.status = Some(ProvisionStatus::Provided);
            state.provided = Some(e.clone());
        }
        // Nothing else is ever appended to a provision's stream.
        _ => {}
    }
    state
}

/// The inquiry, if the allow-list permits its management number for its purpose.
/// `already_made` is whether the inquiry's stream already holds it (only a retried command
/// finds it so).
pub fn decide_inquiry(
    inquiry_id: Uuid,
    already_made: bool,
    command: InquiryCommand,
    lookups: &ProvisionLookups,
) -> Result<Vec<LedgerEvent>, ProvisionRejection> {
    if already_made {
        return Err(ProvisionRejection::AlreadyMade { inquiry_id });
    }
    if !lookups.person_registered {
        return Err(ProvisionRejection::PersonNotFound { person_id: command.person_id });
    }
    let management_number = command.management_number.trim();
    let number = lookups
        .allow_list
        .inquiry(management_number)
        .filter(|number| number.purposes.contains(&command.purpose))
        .ok_or_else(|| ProvisionRejection::ManagementNumberNotPermitted {
            management_number: management_number.to_owned(),
            purpose: command.purpose.clone(),
            permitted: permitted_for(&lookups.allow_list, &command.purpose),
        })?;
    let agency_asked = text("agency_asked", &command.agency_asked, AGENCY_CHARS_MAX)?;
    let items = items(&command.items)?;
    Ok(vec![LedgerEvent::InquiryMade(InquiryMade {
        inquiry_id,
        person_id: command.person_id.as_uuid(),
        management_number: number.management_number.clone(),
        legal_basis: lookups.allow_list.citation(&number.management_number, &number.article),
        purpose: command.purpose,
        agency_asked,
        items,
        made_by: command.made_by,
        role: command.role,
        // Seed III-6: for a sensitive person an inquiry is made only with non-disclosure set.
        non_disclosable: lookups.sensitivity.non_disclosure,
        allow_list_sha256: lookups.allow_list.sha256.clone(),
    })])
}

/// The management numbers permitted for `purpose`, for a refusal a clerk can act on.
fn permitted_for(allow_list: &AllowList, purpose: &str) -> String {
    let numbers: Vec<&str> = allow_list
        .inquiries
        .iter()
        .filter(|number| number.purposes.iter().any(|p| p == purpose))
        .map(|number| number.management_number.as_str())
        .collect();
    if numbers.is_empty() {
        "none".to_owned()
    } else {
        numbers.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn allow_list() -> AllowList {
        serde_json::from_str::<AllowList>(
            r#"{
                "source": "test",
                "legal_basis_prefix": "主務省令第2条の表",
                "inquiries": [
                    {"management_number": "48", "article": "第50条", "inquirer": "市町村長", "affair": "地方税の賦課徴収", "purposes": ["assessment", "collection"]},
                    {"management_number": "70", "article": "第72条", "inquirer": "市町村長", "affair": "保険給付の支給", "purposes": ["benefits"]}
                ],
                "provisions": [
                    {"row": "2", "article": "第4条", "information": ["医療保険給付関係情報", "他の法令による給付の支給に関する情報"]}
                ]
            }"#,
        )
        .map(|mut list| {
            list.sha256 = "ab".repeat(32);
            list
        })
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 2, 3, 0, 0).unwrap()
    }

    fn lookups(list: &AllowList, no_auto_response: bool, non_disclosure: bool) -> ProvisionLookups {
        ProvisionLookups {
            person_registered: true,
            sensitivity: SensitivityState { no_auto_response, non_disclosure },
            allow_list: std::sync::Arc::new(list.clone()),
            now: now(),
        }
    }

    fn request(row: &str, items: &[&str]) -> ProvisionCommand {
        ProvisionCommand::Request(ProvisionRequest {
            person_id: PersonId::from_uuid(Uuid::from_u128(1)),
            requesting_agency: " 全国健康保険協会 埼玉支部 ".into(),
            legal_basis_row: row.into(),
            items: items.iter().map(|item| item.to_string()).collect(),
            requested_at: now() - chrono::TimeDelta::hours(1),
        })
    }

    fn inquiry(number: &str, purpose: &str) -> InquiryCommand {
        InquiryCommand {
            person_id: PersonId::from_uuid(Uuid::from_u128(1)),
            management_number: number.into(),
            purpose: purpose.into(),
            agency_asked: "日本年金機構".into(),
            items: vec!["年金給付関係情報".into()],
            made_by: Uuid::from_u128(9),
            role: "benefits_clerk".into(),
        }
    }

    fn run(
        state: ProvisionState,
        command: ProvisionCommand,
        lookups: &ProvisionLookups,
    ) -> (ProvisionState, Vec<LedgerEvent>) {
        let events = decide(Uuid::from_u128(5), &state, command, lookups).expect("valid");
        (events.iter().fold(state, evolve), events)
    }

    #[test]
    fn a_request_for_an_ordinary_person_is_provided_at_once_and_disclosable() {
        let list = allow_list();
        let (state, events) =
            run(ProvisionState::default(), request("2", &["医療保険給付関係情報"]), &lookups(&list, false, false));
        let [LedgerEvent::ProvisionRequested(requested), LedgerEvent::ProvisionProvided(provided)] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(requested.requesting_agency, "全国健康保険協会 埼玉支部");
        assert_eq!(requested.legal_basis, "主務省令第2条の表 2項 (第4条)");
        assert_eq!(requested.allow_list_sha256, list.sha256);
        assert_eq!((provided.provided_at, provided.non_disclosable), (now(), false));
        assert_eq!(state.status, Some(ProvisionStatus::Provided));
    }

    #[test]
    fn no_auto_response_waits_for_a_supervisor_and_non_disclosure_is_copied_when_provided() {
        let list = allow_list();
        let (waiting, events) =
            run(ProvisionState::default(), request("2", &["医療保険給付関係情報"]), &lookups(&list, true, true));
        assert!(matches!(
            events.as_slice(),
            [LedgerEvent::ProvisionRequested(_), LedgerEvent::ProvisionAwaitingApproval(_)]
        ));
        assert_eq!(waiting.status, Some(ProvisionStatus::AwaitingApproval));

        let supervisor = Uuid::from_u128(77);
        let (done, events) =
            run(waiting.clone(), ProvisionCommand::Approve { by: supervisor }, &lookups(&list, true, true));
        let [LedgerEvent::ProvisionApproved(approved), LedgerEvent::ProvisionProvided(provided)] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(approved.approved_by, supervisor);
        assert!(provided.non_disclosable, "the flag as it is when provided");
        assert_eq!((done.status, done.approved_by), (Some(ProvisionStatus::Provided), Some(supervisor)));

        // Approving again, or a provision never requested, is refused.
        let again = decide(
            Uuid::from_u128(5),
            &done,
            ProvisionCommand::Approve { by: supervisor },
            &lookups(&list, true, true),
        );
        assert_eq!(again.unwrap_err().code(), "provision_not_awaiting_approval");
        let none = decide(
            Uuid::from_u128(6),
            &ProvisionState::default(),
            ProvisionCommand::Approve { by: supervisor },
            &lookups(&list, true, true),
        );
        assert_eq!(none.unwrap_err().code(), "provision_not_found");
        // A flag cleared before the approval makes the record disclosable.
        let (_, events) = run(waiting, ProvisionCommand::Approve { by: supervisor }, &lookups(&list, true, false));
        assert!(matches!(&events[1], LedgerEvent::ProvisionProvided(p) if !p.non_disclosable));
    }

    #[test]
    fn provisions_are_refused_outside_the_allow_list_and_for_bad_input() {
        let list = allow_list();
        let ok = lookups(&list, false, false);
        let refused = |command: ProvisionCommand, lookups: &ProvisionLookups| {
            decide(Uuid::from_u128(5), &ProvisionState::default(), command, lookups).unwrap_err().code()
        };
        assert_eq!(refused(request("999", &["医療保険給付関係情報"]), &ok), "provision_basis_not_permitted");
        assert_eq!(refused(request("2", &["地方税関係情報"]), &ok), "provision_item_not_permitted");
        assert_eq!(refused(request("2", &[]), &ok), "empty_field");
        assert_eq!(refused(request("2", &[" "]), &ok), "empty_field");
        let many: Vec<&str> = vec!["医療保険給付関係情報"; ITEMS_MAX + 1];
        assert_eq!(refused(request("2", &many), &ok), "too_many_items");
        let ProvisionCommand::Request(mut future) = request("2", &["医療保険給付関係情報"]) else {
            unreachable!()
        };
        future.requested_at = now() + chrono::TimeDelta::minutes(1);
        assert_eq!(refused(ProvisionCommand::Request(future.clone()), &ok), "time_in_future");
        future.requested_at = now();
        future.requesting_agency = "x".repeat(AGENCY_CHARS_MAX + 1);
        assert_eq!(refused(ProvisionCommand::Request(future), &ok), "field_too_long");
        let unregistered = ProvisionLookups { person_registered: false, ..ok.clone() };
        assert_eq!(refused(request("2", &["医療保険給付関係情報"]), &unregistered), "person_not_found");
        let (state, _) = run(ProvisionState::default(), request("2", &["医療保険給付関係情報"]), &ok);
        let twice = decide(Uuid::from_u128(5), &state, request("2", &["医療保険給付関係情報"]), &ok);
        assert_eq!(twice.unwrap_err().code(), "provision_already_recorded");
    }

    #[test]
    fn an_inquiry_needs_a_management_number_permitted_for_its_purpose() {
        let list = allow_list();
        let events =
            decide_inquiry(Uuid::from_u128(3), false, inquiry("70", "benefits"), &lookups(&list, false, true)).unwrap();
        let [LedgerEvent::InquiryMade(made)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(made.legal_basis, "主務省令第2条の表 70項 (第72条)");
        assert!(made.non_disclosable, "a sensitive person's inquiry is non-disclosable");

        let refusal =
            decide_inquiry(Uuid::from_u128(3), false, inquiry("70", "assessment"), &lookups(&list, false, false))
                .unwrap_err();
        assert_eq!(refusal.code(), "management_number_not_permitted");
        assert!(refusal.to_string().contains("permitted for it: 48"), "{refusal}");
        let unknown =
            decide_inquiry(Uuid::from_u128(3), false, inquiry("12", "benefits"), &lookups(&list, false, false));
        assert_eq!(unknown.unwrap_err().code(), "management_number_not_permitted");
        let eligibility =
            decide_inquiry(Uuid::from_u128(3), false, inquiry("48", "eligibility"), &lookups(&list, false, false))
                .unwrap_err();
        assert!(eligibility.to_string().ends_with("permitted for it: none"), "{eligibility}");
        let again = decide_inquiry(Uuid::from_u128(3), true, inquiry("70", "benefits"), &lookups(&list, false, false));
        assert_eq!(again.unwrap_err().code(), "inquiry_already_recorded");
    }

    #[test]
    fn the_shipped_allow_list_holds_the_seeds_inquiry_and_provision_rows() {
        let text = include_str!("../../../rules/provision/management_numbers.json");
        let list: AllowList = serde_json::from_str(text).expect("the shipped allow-list parses");
        list.check().expect("the shipped allow-list is well formed");
        // Seed §I-5 ② 3: inquiries under rows 48 (地方税), 69 (給付・保険料) and 70 (給付).
        let numbers: Vec<&str> = list.inquiries.iter().map(|n| n.management_number.as_str()).collect();
        assert_eq!(numbers, ["48", "69", "70"]);
        assert_eq!(list.inquiry("70").unwrap().purposes, ["benefits"]);
        // Seed §I-5 ② 2: 31 distinct rows; row 2 provides two categories.
        assert_eq!(list.provisions.len(), 31);
        assert_eq!(
            list.provision("2").unwrap().information,
            ["医療保険給付関係情報", "他の法令による給付の支給に関する情報"]
        );
        assert_eq!(list.provision("145").unwrap().information, ["他の法令により行われる給付の支給に関する情報"]);
    }
}
