//! Linking a My Number (個人番号) to a person: a request, two confirmations by other staff and a
//! supervisor's final approval (docs/domain.md §3 rule 3: 複数職員による確認と課長の最終確認, and the
//! record of the linking is kept).
//!
//! Each request is its own aggregate, stream `mynumber-link-<request id>`, so the whole trail
//! (who asked, who confirmed, who approved or turned it down) is one short stream. Three people
//! besides the requester take part: two confirmers and an approver, all distinct, and nobody
//! confirms or approves their own request. Only the approval makes the link effective; the
//! caller then indexes it in the person's stream `mynumber-<person id>` ([`index_stream_id`]).
//!
//! The My Number is held only in the request's personal part (sealed with the person's key, so
//! erasing the person erases it). A confirmer keys the number from the documents independently
//! and the decision compares it with the requested one, so a confirmation checks something
//! without the confirmer ever being shown the number.
//!
//! `decide` and `evolve` are pure; whether the person is registered arrives through
//! [`LinkLookups`]. Every refusal is a [`LinkRejection`] whose message never holds a My Number.

use kokuho_events::{
    LedgerEvent, MyNumberLinkApproved, MyNumberLinkConfirmed, MyNumberLinkRejected, MyNumberLinkRequested,
    MyNumberPart, Personal,
};
use uuid::Uuid;

use crate::my_number::MyNumber;
use crate::PersonId;

/// Confirmations by distinct staff needed before a supervisor may approve.
pub const CONFIRMATIONS_REQUIRED: usize = 2;
/// The longest reason kept (in characters): a reason is a sentence, not a document.
pub const REASON_CHARS_MAX: usize = 500;
/// Digits in a row that a reason may not hold: a My Number has 12.
const DIGITS_IN_A_ROW_REFUSED: usize = 12;

/// The stream of one link request.
pub fn stream_id(request_id: Uuid) -> String {
    format!("mynumber-link-{request_id}")
}

/// The person's index of approved links (one `MyNumberLinked` per approval).
pub fn index_stream_id(person_id: PersonId) -> String {
    format!("mynumber-{}", person_id.as_uuid())
}

/// A link request as its events tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    pub request: Option<LinkRequest>,
    /// Who confirmed, in order.
    pub confirmed_by: Vec<Uuid>,
    pub decision: Option<LinkDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub person_id: PersonId,
    pub requested_by: Uuid,
    /// `None` when the personal part was not decrypted for this reader, or the person was erased.
    pub my_number: Option<MyNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDecision {
    Approved { by: Uuid },
    Rejected { by: Uuid, reason: String },
}

impl LinkDecision {
    /// `approved` or `rejected`, as the API names a request's status.
    pub fn as_str(&self) -> &'static str {
        match self {
            LinkDecision::Approved { .. } => "approved",
            LinkDecision::Rejected { .. } => "rejected",
        }
    }
}

impl LinkState {
    /// The linked number, when this request was approved and its number is readable.
    pub fn approved_number(&self) -> Option<&MyNumber> {
        match self.decision {
            Some(LinkDecision::Approved { .. }) => self.request.as_ref()?.my_number.as_ref(),
            _ => None,
        }
    }

    pub fn is_approved(&self) -> bool {
        matches!(self.decision, Some(LinkDecision::Approved { .. }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum LinkCommand {
    Request {
        person_id: PersonId,
        // Only into the command's keyed fingerprint (Aggregate::Command), never stored.
        #[serde(serialize_with = "crate::my_number::revealed::serialize")]
        my_number: MyNumber,
        requested_by: Uuid,
    },
    /// `my_number` is what the confirmer keyed from the documents.
    Confirm {
        by: Uuid,
        #[serde(serialize_with = "crate::my_number::revealed::serialize")]
        my_number: MyNumber,
    },
    /// The caller has checked that `by` is a supervisor (roles are the HTTP layer's).
    Approve {
        by: Uuid,
    },
    Reject {
        by: Uuid,
        reason: String,
    },
}

/// What a decision needs to know from outside the request's stream.
#[derive(Debug, Clone, Copy)]
pub struct LinkLookups {
    /// Whether the person named by a `Request` is registered in this municipality's ledger.
    pub person_registered: bool,
}

/// Why a link command was refused. Codes are part of the HTTP contract: never rename one.
/// No variant holds a My Number, so no message can show one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRejection {
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: PersonId },
    #[error("there is no My Number link request {request_id}")]
    RequestNotFound { request_id: Uuid },
    #[error("My Number link request {request_id} already exists")]
    AlreadyRequested { request_id: Uuid },
    #[error("the requester of a My Number link cannot confirm it; two other staff members must")]
    SelfConfirmation,
    #[error("staff member {by} already confirmed this request; a second confirmation must come from someone else")]
    AlreadyConfirmed { by: Uuid },
    #[error("the number keyed does not match the requested My Number; check the documents, or turn the request down")]
    MyNumberMismatch,
    #[error("the requester of a My Number link cannot approve it")]
    SelfApproval,
    #[error("staff member {by} confirmed this request and so cannot also approve it")]
    ApproverConfirmed { by: Uuid },
    #[error("approval needs {required} confirmations by other staff; this request has {confirmations}")]
    ConfirmationsMissing { confirmations: usize, required: usize },
    #[error("this request was already {decision}; nothing more can be decided on it")]
    AlreadyDecided { decision: &'static str },
    #[error("the My Number of this request is no longer readable (the person's data was erased)")]
    MyNumberUnavailable,
    #[error("a reason must be given")]
    ReasonRequired,
    #[error("a reason has at most {max} characters, this has {chars}")]
    ReasonTooLong { chars: usize, max: usize },
    #[error("a reason must not hold 12 or more digits in a row: a My Number is only ever kept sealed")]
    ReasonContainsMyNumber,
}

impl crate::Refusal for LinkRejection {
    fn code(&self) -> &'static str {
        LinkRejection::code(self)
    }
    fn kind(&self) -> crate::RejectionKind {
        use crate::RejectionKind;
        match self {
            LinkRejection::PersonNotFound { .. } | LinkRejection::RequestNotFound { .. } => RejectionKind::NotFound,
            LinkRejection::AlreadyRequested { .. }
            | LinkRejection::AlreadyConfirmed { .. }
            | LinkRejection::AlreadyDecided { .. } => RejectionKind::Conflict,
            LinkRejection::MyNumberUnavailable => RejectionKind::Gone,
            _ => RejectionKind::Invalid,
        }
    }
}

/// The My Number link request aggregate: [`decide`] and [`evolve`] over `mynumber-link-<id>`.
pub struct MyNumberLink;

impl crate::Aggregate for MyNumberLink {
    const NAME: &'static str = "my_number_link";
    /// The requested number is sealed, and confirmations compare with it.
    const READS_PERSONAL: bool = true;
    type Id = Uuid;
    type State = LinkState;
    type Command = LinkCommand;
    type Lookups = LinkLookups;
    type Rejection = LinkRejection;

    fn stream_id(id: Uuid) -> String {
        stream_id(id)
    }
    fn decide(
        id: Uuid,
        state: &LinkState,
        command: LinkCommand,
        lookups: &LinkLookups,
    ) -> Result<Vec<LedgerEvent>, LinkRejection> {
        decide(id, state, command, lookups)
    }
    fn evolve(state: LinkState, event: &LedgerEvent) -> LinkState {
        evolve(state, event)
    }
}

impl LinkRejection {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            LinkRejection::PersonNotFound { .. } => "person_not_found",
            LinkRejection::RequestNotFound { .. } => "link_request_not_found",
            LinkRejection::AlreadyRequested { .. } => "link_already_requested",
            LinkRejection::SelfConfirmation => "self_confirmation",
            LinkRejection::AlreadyConfirmed { .. } => "already_confirmed",
            LinkRejection::MyNumberMismatch => "my_number_mismatch",
            LinkRejection::SelfApproval => "self_approval",
            LinkRejection::ApproverConfirmed { .. } => "approver_confirmed",
            LinkRejection::ConfirmationsMissing { .. } => "confirmations_missing",
            LinkRejection::AlreadyDecided { .. } => "link_already_decided",
            LinkRejection::MyNumberUnavailable => "my_number_unavailable",
            LinkRejection::ReasonRequired => "reason_required",
            LinkRejection::ReasonTooLong { .. } => "reason_too_long",
            LinkRejection::ReasonContainsMyNumber => "reason_contains_my_number",
        }
    }
}

pub fn decide(
    request_id: Uuid,
    state: &LinkState,
    command: LinkCommand,
    lookups: &LinkLookups,
) -> Result<Vec<LedgerEvent>, LinkRejection> {
    if let LinkCommand::Request { person_id, my_number, requested_by } = command {
        if state.request.is_some() {
            return Err(LinkRejection::AlreadyRequested { request_id });
        }
        if !lookups.person_registered {
            return Err(LinkRejection::PersonNotFound { person_id });
        }
        return Ok(vec![LedgerEvent::MyNumberLinkRequested(MyNumberLinkRequested {
            request_id,
            person_id: person_id.as_uuid(),
            requested_by,
            // The one place the digits are written: into the part sealed with the person's key.
            personal: Personal::Present(MyNumberPart { my_number: my_number.reveal().to_owned() }),
        })]);
    }
    let Some(request) = &state.request else {
        return Err(LinkRejection::RequestNotFound { request_id });
    };
    if let Some(decision) = &state.decision {
        return Err(LinkRejection::AlreadyDecided { decision: decision.as_str() });
    }
    let person_id = request.person_id.as_uuid();
    match command {
        LinkCommand::Request { .. } => unreachable!("answered above"),
        LinkCommand::Confirm { by, my_number } => {
            if by == request.requested_by {
                return Err(LinkRejection::SelfConfirmation);
            }
            if state.confirmed_by.contains(&by) {
                return Err(LinkRejection::AlreadyConfirmed { by });
            }
            let Some(requested) = &request.my_number else {
                return Err(LinkRejection::MyNumberUnavailable);
            };
            if *requested != my_number {
                return Err(LinkRejection::MyNumberMismatch);
            }
            Ok(vec![LedgerEvent::MyNumberLinkConfirmed(MyNumberLinkConfirmed {
                request_id,
                person_id,
                confirmed_by: by,
            })])
        }
        LinkCommand::Approve { by } => {
            if by == request.requested_by {
                return Err(LinkRejection::SelfApproval);
            }
            if state.confirmed_by.contains(&by) {
                return Err(LinkRejection::ApproverConfirmed { by });
            }
            if state.confirmed_by.len() < CONFIRMATIONS_REQUIRED {
                return Err(LinkRejection::ConfirmationsMissing {
                    confirmations: state.confirmed_by.len(),
                    required: CONFIRMATIONS_REQUIRED,
                });
            }
            // Approving a number nobody can read any more would link nothing.
            if request.my_number.is_none() {
                return Err(LinkRejection::MyNumberUnavailable);
            }
            Ok(vec![LedgerEvent::MyNumberLinkApproved(MyNumberLinkApproved { request_id, person_id, approved_by: by })])
        }
        LinkCommand::Reject { by, reason } => {
            // Anyone taking part may stop a request, the requester included (a withdrawal).
            let reason = stated_reason(&reason)?;
            Ok(vec![LedgerEvent::MyNumberLinkRejected(MyNumberLinkRejected {
                request_id,
                person_id,
                rejected_by: by,
                reason,
            })])
        }
    }
}

pub fn evolve(mut state: LinkState, event: &LedgerEvent) -> LinkState {
    match event {
        LedgerEvent::MyNumberLinkRequested(e) => {
            state.request = Some(LinkRequest {
                person_id: PersonId::from_uuid(e.person_id),
                requested_by: e.requested_by,
                // Recorded only after validation; a stored number that no longer parses is
                // treated as unreadable rather than guessed at.
                my_number: e.personal.as_present().and_then(|part| MyNumber::parse(&part.my_number).ok()),
            });
        }
        LedgerEvent::MyNumberLinkConfirmed(e) => state.confirmed_by.push(e.confirmed_by),
        LedgerEvent::MyNumberLinkApproved(e) => state.decision = Some(LinkDecision::Approved { by: e.approved_by }),
        LedgerEvent::MyNumberLinkRejected(e) => {
            state.decision = Some(LinkDecision::Rejected { by: e.rejected_by, reason: e.reason.clone() })
        }
        // Nothing else is written to a link request's stream.
        _ => {}
    }
    state
}

/// A reason as it will be kept (trimmed), or why it cannot be. Reasons are stored in clear and
/// outlive the person's erasure, so one that could hold a My Number is refused.
pub fn stated_reason(text: &str) -> Result<String, LinkRejection> {
    let reason = text.trim();
    if reason.is_empty() {
        return Err(LinkRejection::ReasonRequired);
    }
    let chars = reason.chars().count();
    if chars > REASON_CHARS_MAX {
        return Err(LinkRejection::ReasonTooLong { chars, max: REASON_CHARS_MAX });
    }
    if longest_digit_run(reason) >= DIGITS_IN_A_ROW_REFUSED {
        return Err(LinkRejection::ReasonContainsMyNumber);
    }
    Ok(reason.to_owned())
}

/// The most digits (half- or full-width) in a row, counting through the spaces and hyphens a
/// number is often written with (`1234 5678 9018`, `1234-5678-9018`). Refusing every such run of
/// 12, not only those with a valid check digit, also keeps a mistyped My Number out.
fn longest_digit_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            run += 1;
            longest = longest.max(run);
        } else if !matches!(c, ' ' | '-' | '　' | '－' | '‐' | '−') {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 11 digits and the check digit, computed from the definition (docs/domain.md §7) rather than
    /// through `MyNumber`, so a mistake there cannot hide here.
    fn valid(first_eleven: &str) -> MyNumber {
        let remainder = first_eleven
            .bytes()
            .rev()
            .map(|b| u32::from(b - b'0'))
            .zip([2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6])
            .map(|(p, q)| p * q)
            .sum::<u32>()
            % 11;
        let check = if remainder <= 1 { 0 } else { 11 - remainder };
        MyNumber::parse(&format!("{first_eleven}{check}")).unwrap()
    }

    const REQUEST: Uuid = Uuid::from_u128(0x100);
    const REQUESTER: Uuid = Uuid::from_u128(1);
    const CLERK_A: Uuid = Uuid::from_u128(2);
    const CLERK_B: Uuid = Uuid::from_u128(3);
    const CHIEF: Uuid = Uuid::from_u128(4);

    fn person() -> PersonId {
        PersonId::from_uuid(Uuid::from_u128(0x200))
    }

    fn number() -> MyNumber {
        valid("12345678901")
    }

    fn request() -> LinkCommand {
        LinkCommand::Request { person_id: person(), my_number: number(), requested_by: REQUESTER }
    }

    fn confirm(by: Uuid) -> LinkCommand {
        LinkCommand::Confirm { by, my_number: number() }
    }

    fn approve(by: Uuid) -> LinkCommand {
        LinkCommand::Approve { by }
    }

    const REGISTERED: LinkLookups = LinkLookups { person_registered: true };

    fn given(history: Vec<LinkCommand>) -> LinkState {
        history.into_iter().fold(LinkState::default(), |state, command| {
            let events = decide(REQUEST, &state, command, &REGISTERED).expect("history is valid");
            events.iter().fold(state, evolve)
        })
    }

    fn given_when(history: Vec<LinkCommand>, command: LinkCommand) -> Result<Vec<LedgerEvent>, LinkRejection> {
        decide(REQUEST, &given(history), command, &REGISTERED)
    }

    #[test]
    fn two_confirmations_by_others_and_a_third_persons_approval_link_the_number() {
        let state = given(vec![request(), confirm(CLERK_A), confirm(CLERK_B)]);
        assert!(!state.is_approved(), "confirmations alone link nothing");
        assert_eq!(state.approved_number(), None);
        let events = decide(REQUEST, &state, approve(CHIEF), &REGISTERED).unwrap();
        let [LedgerEvent::MyNumberLinkApproved(approved)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(
            (approved.request_id, approved.person_id, approved.approved_by),
            (REQUEST, person().as_uuid(), CHIEF)
        );
        let state = events.iter().fold(state, evolve);
        assert_eq!(state.approved_number(), Some(&number()));
        assert_eq!(state.confirmed_by, [CLERK_A, CLERK_B]);
    }

    #[test]
    fn the_number_is_recorded_only_in_the_personal_part() {
        let events = given_when(vec![], request()).unwrap();
        let [event @ LedgerEvent::MyNumberLinkRequested(requested)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(requested.personal.as_present().map(|part| part.my_number.as_str()), Some(number().reveal()));
        let encoded = event.encode();
        assert_eq!(encoded.subject, Some(person().as_uuid()), "sealed with the person's key");
        let clear = String::from_utf8(encoded.payload).unwrap();
        assert!(!clear.contains(number().reveal()), "{clear}");
        assert!(!format!("{event:?}").contains(number().reveal()), "Debug masks the number");
    }

    #[test]
    fn refusals_name_their_reason() {
        let confirmed_twice = || vec![request(), confirm(CLERK_A), confirm(CLERK_B)];
        let table: Vec<(Vec<LinkCommand>, LinkCommand, &str)> = vec![
            (vec![], confirm(CLERK_A), "link_request_not_found"),
            (vec![request()], request(), "link_already_requested"),
            (vec![request()], confirm(REQUESTER), "self_confirmation"),
            (vec![request(), confirm(CLERK_A)], confirm(CLERK_A), "already_confirmed"),
            (
                vec![request()],
                LinkCommand::Confirm { by: CLERK_A, my_number: valid("12345678902") },
                "my_number_mismatch",
            ),
            (confirmed_twice(), approve(REQUESTER), "self_approval"),
            (confirmed_twice(), approve(CLERK_B), "approver_confirmed"),
            (vec![request(), confirm(CLERK_A)], approve(CHIEF), "confirmations_missing"),
            (vec![request()], approve(CHIEF), "confirmations_missing"),
            ([confirmed_twice(), vec![approve(CHIEF)]].concat(), approve(CHIEF), "link_already_decided"),
            ([confirmed_twice(), vec![approve(CHIEF)]].concat(), confirm(Uuid::from_u128(9)), "link_already_decided"),
            (
                vec![request(), LinkCommand::Reject { by: CLERK_A, reason: "番号が書類と一致しない".into() }],
                confirm(CLERK_B),
                "link_already_decided",
            ),
            (vec![request()], LinkCommand::Reject { by: CLERK_A, reason: "  ".into() }, "reason_required"),
            (
                vec![request()],
                LinkCommand::Reject { by: CLERK_A, reason: "番号 1234 5678 9018 は誤り".into() },
                "reason_contains_my_number",
            ),
            (
                vec![request()],
                LinkCommand::Reject { by: CLERK_A, reason: "x".repeat(REASON_CHARS_MAX + 1) },
                "reason_too_long",
            ),
        ];
        for (history, command, code) in table {
            let rejection = given_when(history, command).expect_err(code);
            assert_eq!(rejection.code(), code, "{rejection}");
            assert!(!rejection.to_string().contains(number().reveal()), "{rejection}");
        }
    }

    #[test]
    fn a_request_for_an_unregistered_person_is_refused() {
        let unregistered = LinkLookups { person_registered: false };
        let rejection = decide(REQUEST, &LinkState::default(), request(), &unregistered).unwrap_err();
        assert_eq!(rejection, LinkRejection::PersonNotFound { person_id: person() });
    }

    #[test]
    fn an_erased_number_can_be_neither_confirmed_nor_approved() {
        let mut state = given(vec![request(), confirm(CLERK_A), confirm(CLERK_B)]);
        state.request.as_mut().unwrap().my_number = None;
        assert_eq!(decide(REQUEST, &state, approve(CHIEF), &REGISTERED), Err(LinkRejection::MyNumberUnavailable));
        assert_eq!(decide(REQUEST, &state, confirm(CHIEF), &REGISTERED), Err(LinkRejection::MyNumberUnavailable));
    }

    #[test]
    fn the_requester_may_withdraw_and_a_rejected_request_never_links() {
        let state = given(vec![
            request(),
            confirm(CLERK_A),
            LinkCommand::Reject { by: REQUESTER, reason: " 入力誤り ".into() },
        ]);
        assert_eq!(state.decision, Some(LinkDecision::Rejected { by: REQUESTER, reason: "入力誤り".into() }));
        assert_eq!(state.approved_number(), None);
    }

    #[test]
    fn reasons_with_a_number_written_any_usual_way_are_refused() {
        for text in ["123456789018", "1234-5678-9018", "１２３４　５６７８　９０１８", "照合 123456789019 (誤記)"]
        {
            assert_eq!(stated_reason(text), Err(LinkRejection::ReasonContainsMyNumber), "{text}");
        }
        for text in ["2025年7月1日の申請書", "電話 048-524-1111 で本人確認", "高額療養費の申請との照合"]
        {
            assert!(stated_reason(text).is_ok(), "{text}");
        }
    }
}
