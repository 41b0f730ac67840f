//! Builders for what tests register through the API again and again.

use kokuho_auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{kumagaya, meta, Account, Client, KUMAGAYA};

/// An acquisition body (`POST …/persons/{id}/eligibility`) as a person or their agent notifies it.
pub fn acquisition(reason: &str, event_date: &str, notified_on: &str) -> Value {
    json!({"reason": reason, "event_date": event_date, "notified_on": notified_on, "source": "person_or_agent", "legal_basis": "国民健康保険法 第9条"})
}

/// A loss body (`POST …/persons/{id}/eligibility/loss`); `event_date` None lets the rule derive it.
pub fn loss(reason: &str, event_date: Option<&str>, notified_on: &str) -> Value {
    let mut body = json!({"reason": reason, "notified_on": notified_on, "source": "person_or_agent", "legal_basis": "国民健康保険法 第9条"});
    if let Some(event_date) = event_date {
        body["event_date"] = json!(event_date);
    }
    body
}

/// A person registered in Kumagaya from the resident registry: 熊谷 花子, born 1980-05-05, with a
/// fresh 宛名番号, unless told otherwise; optionally insured (moved in) from a day.
///
/// ```ignore
/// let person = PersonBuilder::new().born("1954-05-20").insured_from("2024-04-01").create(&client, &clerk).await;
/// ```
#[derive(Clone)]
pub struct PersonBuilder {
    body: Value,
    insured_from: Option<String>,
    notified_on: Option<String>,
}

impl PersonBuilder {
    pub fn new() -> PersonBuilder {
        PersonBuilder {
            body: json!({
                "atena_no": format!("A{}", &Uuid::new_v4().simple().to_string()[..8]),
                "name": "熊谷 花子", "name_kana": "クマガヤ ハナコ", "sex": "female", "date_of_birth": "1980-05-05",
                "address": "埼玉県熊谷市宮町二丁目47番地1", "source": "resident_registry", "legal_basis": "住民基本台帳法"
            }),
            insured_from: None,
            notified_on: None,
        }
    }

    /// Born on `date` (YYYY-MM-DD).
    pub fn born(mut self, date: &str) -> PersonBuilder {
        self.body["date_of_birth"] = json!(date);
        self
    }

    /// Moved in and insured from `date`, notified the same day (see [`PersonBuilder::notified_on`]).
    pub fn insured_from(mut self, date: &str) -> PersonBuilder {
        self.insured_from = Some(date.to_owned());
        self
    }

    /// The day the move-in was notified, when it is not the day it took effect.
    pub fn notified_on(mut self, date: &str) -> PersonBuilder {
        self.notified_on = Some(date.to_owned());
        self
    }

    /// The registration body (`POST /v1/{tenant}/persons`).
    pub fn body(&self) -> Value {
        self.body.clone()
    }

    /// Registers the person in Kumagaya (and records the acquisition, if any); answers their id.
    pub async fn create(self, client: &Client, token: &str) -> String {
        let registered = client.ok(token, "/persons", self.body).await;
        let person = registered["person_id"].as_str().unwrap().to_owned();
        if let Some(from) = &self.insured_from {
            let notified_on = self.notified_on.as_deref().unwrap_or(from);
            client
                .ok(token, &format!("/persons/{person}/eligibility"), acquisition("moved_in", from, notified_on))
                .await;
        }
        person
    }
}

/// A household in Kumagaya headed by a person, established on 2025-04-01 from the resident
/// registry unless told otherwise, with members joining on their days.
///
/// ```ignore
/// let household = HouseholdBuilder::new(&head).member(&spouse, "2025-04-01").create(&client, &clerk).await;
/// ```
#[derive(Clone)]
pub struct HouseholdBuilder {
    head: String,
    established_on: String,
    members: Vec<(String, String)>,
}

impl HouseholdBuilder {
    pub fn new(head: &str) -> HouseholdBuilder {
        HouseholdBuilder { head: head.to_owned(), established_on: "2025-04-01".into(), members: Vec::new() }
    }

    pub fn established_on(mut self, date: &str) -> HouseholdBuilder {
        self.established_on = date.to_owned();
        self
    }

    /// `person` joins on `joined_on`.
    pub fn member(mut self, person: &str, joined_on: &str) -> HouseholdBuilder {
        self.members.push((person.to_owned(), joined_on.to_owned()));
        self
    }

    /// The establishing body (`POST /v1/{tenant}/households`).
    pub fn body(&self) -> Value {
        json!({"head_person_id": self.head, "established_on": self.established_on, "source": "resident_registry", "legal_basis": "住民基本台帳法"})
    }

    /// Establishes the household and records each member joining; answers its id.
    pub async fn create(self, client: &Client, token: &str) -> String {
        let established = client.ok(token, "/households", self.body()).await;
        let household = established["household_id"].as_str().unwrap().to_owned();
        for (person, joined_on) in &self.members {
            client
                .ok(
                    token,
                    &format!("/households/{household}/members"),
                    json!({"person_id": person, "joined_on": joined_on}),
                )
                .await;
        }
        household
    }
}

/// Schedules the household's account of `fiscal_year` to `assessed_total` yen (Kumagaya's
/// installments of the year), in process, as the collection policy does after an assessment: no
/// route schedules an account. The household need not be established: the account decision
/// reads none.
pub async fn scheduled_account(client: &Client, household: &str, fiscal_year: i32, assessed_total: i64) {
    use kokuho_domain::collection::household_account::{AccountCommand, AccountId, HouseholdAccount};
    let id = AccountId { household_id: household.parse().expect("a household id"), fiscal_year };
    // As of 1 June of the year (the yearly assessment; today if that is later than the clock).
    let on = chrono::NaiveDate::from_ymd_opt(fiscal_year, 6, 1);
    let schedule = AccountCommand::Schedule { assessed_total, special: None, triggered_by: None, on };
    let scheduled = client
        .ledgerd
        .ledger
        .execute::<HouseholdAccount>(kumagaya(), id, schedule, meta(None))
        .await
        .expect("the account is scheduled");
    assert!(!scheduled.events.is_empty(), "the account of {household} was already scheduled");
}

/// A staff account created through `ledgerd.staff.create_user` and enrolled by its owner
/// ([`enrol`]): of Kumagaya, named テスト 職員, with a fresh login, unless told otherwise.
pub struct StaffBuilder {
    role: Role,
    tenant: String,
    login: String,
    display_name: String,
}

impl StaffBuilder {
    pub fn new(role: Role) -> StaffBuilder {
        StaffBuilder {
            role,
            tenant: KUMAGAYA.into(),
            login: format!("{}-{}", role.as_str(), &Uuid::new_v4().simple().to_string()[..6]),
            display_name: "テスト 職員".into(),
        }
    }

    /// Of the municipality `tenant` (its code).
    pub fn of(mut self, tenant: &str) -> StaffBuilder {
        self.tenant = tenant.to_owned();
        self
    }

    pub fn login(mut self, login: &str) -> StaffBuilder {
        self.login = login.to_owned();
        self
    }

    pub fn named(mut self, display_name: &str) -> StaffBuilder {
        self.display_name = display_name.to_owned();
        self
    }

    pub async fn create(self, client: &Client) -> Account {
        let tenant = kokuho_domain::TenantCode::parse(&self.tenant).unwrap();
        let staff = &client.ledgerd.staff;
        let created = staff.create_user(tenant, &self.login, &self.display_name, self.role, None).await.unwrap();
        let (password, totp) = enrol(staff, tenant, &self.login, &created.enrolment.code).await;
        Account { user_id: created.user_id, login: self.login, password, totp, tenant: self.tenant }
    }

    /// Creates the account and signs in (see [`Client::sign_in`]): (account, session token).
    pub async fn signed_in(self, client: &Client) -> (Account, String) {
        let account = self.create(client).await;
        let token = client.sign_in(&account).await;
        (account, token)
    }
}

/// A password zxcvbn rates strong, different for every account.
pub fn fresh_password() -> String {
    format!("test passphrase {}", &Uuid::new_v4().simple().to_string()[..12])
}

/// Enrols a new account as its owner would, through the two steps the enrolment endpoints take
/// (`Staff::start_enrolment`, `Staff::complete_enrolment`): their own authenticator and a fresh
/// password. Completes with the code of the step before the ledger's clock, so the current step
/// is still free for the sign-in that usually follows (codes of the neighbouring steps are
/// accepted, and each step works once). Answers the password and the authenticator's secret.
pub async fn enrol(
    staff: &kokuho_staff::Staff,
    tenant: kokuho_domain::TenantCode,
    login: &str,
    enrolment_code: &str,
) -> (String, kokuho_auth::TotpSecret) {
    let client = kokuho_staff::Client("test support");
    let started = staff.start_enrolment(tenant, login, enrolment_code, client).await.unwrap();
    let secret = kokuho_auth::TotpSecret::from_bytes(*started.secret().expose_bytes());
    let password = fresh_password();
    // On the system clock a step may begin between reading the clock and the check: try again.
    for attempt in 0.. {
        let code = secret.code_at(staff.now() - chrono::TimeDelta::seconds(30));
        match staff.complete_enrolment(tenant, login, enrolment_code, &password, &code, client).await {
            Ok(_) => break,
            Err(kokuho_staff::EnrolmentError::Refused) if attempt == 0 => continue,
            Err(error) => panic!("enrolling {login}: {error}"),
        }
    }
    (password, secret)
}
