//! What `kokuho replay` prints for a person: their state and history as recorded at an instant,
//! and the eligibility answer for a day, as one JSON document. Nothing personal is printed (the
//! command line is not an audited staff read): the view is replayed without decrypting, and the
//! answer shows ids, dates and codes only.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use kokuho_domain::share::ShareRule;
use kokuho_domain::TenantCode;
use serde_json::json;

use crate::{EligibilityAnswer, PersonView};

/// Prints `view` (replayed as recorded at `as_of`) and `answer` to `out`, pretty JSON and a
/// newline.
pub fn print(
    view: &PersonView,
    tenant: TenantCode,
    as_of: DateTime<Utc>,
    answer: &EligibilityAnswer,
    out: &mut impl Write,
) -> io::Result<()> {
    let text = serde_json::to_string_pretty(&replay_json(view, tenant, as_of, answer)).map_err(io::Error::other)?;
    writeln!(out, "{text}")
}

/// The document [`print`] prints: tenant, person, instant, version, state, history (each event's
/// envelope and clear payload) and, under `"eligibility"`, [`eligibility_json`].
pub fn replay_json(
    view: &PersonView,
    tenant: TenantCode,
    as_of: DateTime<Utc>,
    answer: &EligibilityAnswer,
) -> serde_json::Value {
    let history: Vec<serde_json::Value> = view
        .events
        .iter()
        .map(|(recorded, _)| {
            json!({
                "position": recorded.position,
                "stream_version": recorded.stream_version,
                "recorded_at": recorded.recorded_at,
                "event_type": recorded.event_type,
                "actor": recorded.actor,
                "purpose": recorded.purpose,
                "payload": serde_json::from_slice::<serde_json::Value>(&recorded.payload).unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "tenant": tenant,
        "person_id": view.id,
        "as_of": as_of,
        "version": view.version,
        "state": view.state,
        "history": history,
        "eligibility": eligibility_json(answer),
    })
}

/// The eligibility answer as `kokuho replay` prints it (under `"eligibility"`): insured or not on
/// the day, the covering period, household and head, the cost share and the rule that gave it
/// (or the code of why there is none), the 70–74 decision recorded for the day, certificates with
/// their status, the gap or overlap of a move within the prefecture, and every period as
/// recorded. Nothing personal: ids, dates of the periods, codes; the income figures behind a
/// 70–74 share are left out, only the kind of ground is shown.
pub fn eligibility_json(answer: &EligibilityAnswer) -> serde_json::Value {
    let person_id = answer.person.id.as_uuid();
    let household = answer.household.as_ref().map(|view| {
        let head = view.state.head_on(answer.on);
        json!({
            "household_id": view.id,
            "head_person_id": head,
            "is_head": head == Some(person_id),
            "members": view.state.members_on(answer.on),
        })
    });
    let (cost_share, cost_share_refused) = match &answer.share {
        Ok(share) => {
            let mut shown =
                json!({ "share": share.share, "tenths": share.share.tenths(), "label": share.share.to_string() });
            match &share.rule {
                ShareRule::PreSchool => shown["rule"] = json!("pre_school"),
                ShareRule::Standard => shown["rule"] = json!("standard"),
                ShareRule::Elderly { income_year, members_70_to_74, basis } => {
                    shown["rule"] = json!("elderly");
                    shown["income_year"] = json!(income_year);
                    shown["members_70_to_74"] = json!(members_70_to_74);
                    // Only the kind of ground: its figures are income, which is personal.
                    shown["basis"] = serde_json::to_value(basis)
                        .ok()
                        .and_then(|value| value.get("basis").cloned())
                        .unwrap_or_default();
                }
            }
            (shown, serde_json::Value::Null)
        }
        Err(rejection) => (serde_json::Value::Null, json!(rejection.code())),
    };
    let certificates: Vec<serde_json::Value> = answer
        .certificates
        .iter()
        .map(|(certificate, status)| {
            let mut shown = serde_json::to_value(certificate).unwrap_or_default();
            if let (Some(object), Ok(serde_json::Value::Object(status))) =
                (shown.as_object_mut(), serde_json::to_value(status))
            {
                object.extend(status);
            }
            shown
        })
        .collect();
    json!({
        "on": answer.on,
        "insured": answer.period.is_some(),
        "period": answer.period,
        "household": household,
        "cost_share": cost_share,
        "cost_share_refused": cost_share_refused,
        "elderly_share_decided": answer.person.state.elderly_share_on(answer.on).map(|decision| json!({
            "valid_from": decision.valid_from,
            "share": decision.share,
            "basis": decision.basis,
            "income_year": decision.income_year,
            "household_id": decision.household_id,
        })),
        "certificates": certificates,
        "move": answer.move_continuity,
        "periods": answer.person.state.periods,
    })
}
