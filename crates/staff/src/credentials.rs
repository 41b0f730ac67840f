//! A staff member's own credentials: enrolment with the one-time code an administrator handed
//! them (their own authenticator, their own password, checked for strength) and changing their
//! password. No administrator ever holds another person's credentials (docs/security.md §6).

use chrono::{DateTime, TimeDelta, Utc};
use kokuho_auth::{check_strength, PasswordError, Role, TotpEnrollment, WeakPassword};
use kokuho_domain::TenantCode;
use kokuho_events::{LedgerEvent, SignInFailure, StaffEnrolled, StaffEnrolmentIssued, StaffPasswordChanged};
use kokuho_store::{on_db, Actor};
use rand::Rng;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{meta, micros, uuid, Attempt, Client, Principal, SignedIn, Staff, StaffError};

/// Length of enrolment codes (from a 56-symbol alphabet: ≈ 116 bits).
const ENROLMENT_CODE_CHARS: usize = 20;
/// How long an enrolment code works: long enough to reach a new staff member over a weekend,
/// short enough that one never used soon stops mattering.
pub const ENROLMENT_CODE_LIFETIME: TimeDelta = TimeDelta::hours(72);

/// Why an enrolment step was refused. A wrong, expired or used code and an unknown login look
/// the same from outside.
#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    #[error("the login or enrolment code is not right, or the code has expired or was used; the one-time code may be wrong too")]
    Refused,
    #[error("too many failed attempts; try again after {until}")]
    Throttled { until: DateTime<Utc> },
    #[error("start the enrolment first: no authenticator secret was handed out for this code yet")]
    NotStarted,
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    #[error(transparent)]
    Staff(#[from] StaffError),
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("the current password is not right")]
    Refused,
    #[error("too many failed attempts; try again after {until}")]
    Throttled { until: DateTime<Utc> },
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    #[error(transparent)]
    Staff(#[from] StaffError),
}

/// A one-time enrolment code: the staff member sets their own password and enrols their own
/// authenticator with it, once, before `expires_at`. Stored only as its SHA-256.
pub struct EnrolmentCode {
    pub code: Zeroizing<String>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) fn generate_enrolment_code() -> Zeroizing<String> {
    // No 0/O, 1/l/I: read aloud or copied from paper without mistakes.
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    Zeroizing::new((0..ENROLMENT_CODE_CHARS).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect())
}

/// An account with an open enrolment, as an enrolment step finds it by login.
struct EnrolmentRow {
    user_id: Uuid,
    display_name: String,
    role: Role,
    code_hash: Vec<u8>,
    expires_at: i64,
    pending_totp_secret: Option<Vec<u8>>,
}

impl Staff {
    /// A new enrolment code for an active account whose owner lost theirs, let it expire, or
    /// lost their authenticator or password: the account's credentials are cleared and its
    /// sessions end (so whoever held them holds nothing), and the owner enrols again. Never the
    /// last enrolled administrator (`StaffError::LastAdministrator`). Recorded as issued.
    pub async fn reissue_enrolment(
        &self,
        tenant: TenantCode,
        user_id: Uuid,
        issued_by: Option<Uuid>,
    ) -> Result<EnrolmentCode, StaffError> {
        let enrolment =
            EnrolmentCode { code: generate_enrolment_code(), expires_at: self.now() + ENROLMENT_CODE_LIFETIME };
        let code_hash = kokuho_auth::token_hash(&enrolment.code);
        let expires_at = micros(enrolment.expires_at);
        self.withdraw(tenant, user_id, crate::Withdrawal::NewEnrolment { code_hash, expires_at }).await?;
        let actor = issued_by.map_or(Actor::System("admin-cli".into()), |id| Actor::Staff(id.to_string()));
        let event = LedgerEvent::StaffEnrolmentIssued(StaffEnrolmentIssued {
            user_id,
            issued_by,
            expires_at: enrolment.expires_at,
        });
        self.ledger.record(tenant, format!("staff-{user_id}"), &[event], meta(actor, "administration")).await?;
        Ok(enrolment)
    }

    /// The open enrolment of the account `login` names, if it is active and has one.
    async fn enrolment_of(&self, tenant: TenantCode, login: &str) -> Result<Option<EnrolmentRow>, StaffError> {
        type Row = (Vec<u8>, String, String, Vec<u8>, i64, Option<Vec<u8>>);
        let row: Option<Row> = on_db!(self.db(), pool => {
            sqlx::query_as(
                "SELECT u.user_id, u.display_name, u.role, e.code_hash, e.expires_at, e.pending_totp_secret \
                 FROM staff_users u JOIN staff_enrolments e ON e.tenant = u.tenant AND e.user_id = u.user_id \
                 WHERE u.tenant = $1 AND u.login = $2 AND u.disabled_at IS NULL",
            )
            .bind(tenant.to_string())
            .bind(login)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(user_id, display_name, role, code_hash, expires_at, pending_totp_secret)| {
            Ok(EnrolmentRow {
                user_id: uuid(&user_id)?,
                display_name,
                role: role.parse().map_err(|_| StaffError::Corrupt(format!("unknown role {role:?}")))?,
                code_hash,
                expires_at,
                pending_totp_secret,
            })
        })
        .transpose()
    }

    /// The enrolment `code` opens for `login`, or the refusal, recorded (the account's id when
    /// the login exists). Nothing is checked while the back-off holds the login.
    async fn open_enrolment(
        &self,
        tenant: TenantCode,
        login: &str,
        code: &str,
        attempt: &Attempt,
    ) -> Result<EnrolmentRow, EnrolmentError> {
        if let Err(throttled) = self.check_backoff(tenant, attempt).await? {
            return Err(EnrolmentError::Throttled { until: throttled.until });
        }
        let now = micros(self.ledger.now());
        let code_hash = kokuho_auth::token_hash(code);
        let enrolment = self.enrolment_of(tenant, login).await?;
        match enrolment {
            Some(row) if row.code_hash.as_slice() == code_hash.as_slice() && now < row.expires_at => Ok(row),
            other => {
                let user_id = match other {
                    Some(row) => Some(row.user_id),
                    None => self.user_by_login(tenant, login).await?.map(|user| user.user_id),
                };
                self.refuse(tenant, attempt, user_id, SignInFailure::EnrolmentCodeInvalid).await?;
                Err(EnrolmentError::Refused)
            }
        }
    }

    /// Enrolment, first step: with the enrolment code, a fresh TOTP secret for the staff
    /// member's own authenticator (replacing any handed out before by this step). The code
    /// stays valid until the second step.
    pub async fn start_enrolment(
        &self,
        tenant: TenantCode,
        login: &str,
        code: &str,
        client: Client<'_>,
    ) -> Result<TotpEnrollment, EnrolmentError> {
        let attempt = self.attempt(tenant, login, client);
        let enrolment = self.open_enrolment(tenant, login, code, &attempt).await?;
        let totp = TotpEnrollment::new(login);
        let sealed =
            self.master_key.seal_secret(totp.secret().expose_bytes(), &Self::secret_context(tenant, enrolment.user_id));
        on_db!(self.db(), pool => {
            sqlx::query("UPDATE staff_enrolments SET pending_totp_secret = $1 WHERE tenant = $2 AND user_id = $3 AND code_hash = $4")
                .bind(sealed)
                .bind(tenant.to_string())
                .bind(enrolment.user_id.as_bytes().as_slice())
                .bind(enrolment.code_hash.as_slice())
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(StaffError::from)?
        });
        Ok(totp)
    }

    /// Enrolment, second step: the staff member's own password (checked for strength) and the
    /// current code of the authenticator the first step set up. The enrolment code is used up,
    /// and the staff member is signed in.
    pub async fn complete_enrolment(
        &self,
        tenant: TenantCode,
        login: &str,
        code: &str,
        password: &str,
        totp_code: &str,
        client: Client<'_>,
    ) -> Result<SignedIn, EnrolmentError> {
        let attempt = self.attempt(tenant, login, client);
        let enrolment = self.open_enrolment(tenant, login, code, &attempt).await?;
        let Some(pending) = &enrolment.pending_totp_secret else {
            return Err(EnrolmentError::NotStarted);
        };
        // Before the one-time code is judged, so a weak password does not use it up.
        check_strength(password, &[login, &enrolment.display_name, &tenant.to_string()])?;
        let secret = self.open_secret(tenant, enrolment.user_id, pending)?;
        let step = match secret.verify(totp_code, self.ledger.now(), None) {
            Ok(step) => step,
            Err(_) => {
                self.refuse(tenant, &attempt, Some(enrolment.user_id), SignInFailure::WrongCode).await?;
                return Err(EnrolmentError::Refused);
            }
        };
        let password_hash = self.hasher.hash(password).map_err(|error| StaffError::Corrupt(error.to_string()))?;
        let user_id = enrolment.user_id;
        let enrolled = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await.map_err(StaffError::from)?;
            // Used up in the same transaction that sets the credentials: of two completions
            // racing with one code, one wins.
            let used = sqlx::query("DELETE FROM staff_enrolments WHERE tenant = $1 AND user_id = $2 AND code_hash = $3")
                .bind(tenant.to_string())
                .bind(user_id.as_bytes().as_slice())
                .bind(enrolment.code_hash.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(StaffError::from)?
                .rows_affected();
            if used == 1 {
                sqlx::query(
                    "UPDATE staff_users SET password_hash = $1, totp_secret = $2, totp_last_step = $3 \
                     WHERE tenant = $4 AND user_id = $5",
                )
                .bind(&password_hash)
                .bind(pending.as_slice())
                .bind(step as i64)
                .bind(tenant.to_string())
                .bind(user_id.as_bytes().as_slice())
                .execute(&mut *tx)
                .await
                .map_err(StaffError::from)?;
            }
            tx.commit().await.map_err(StaffError::from)?;
            used == 1
        });
        if !enrolled {
            return Err(EnrolmentError::Refused);
        }
        let event = LedgerEvent::StaffEnrolled(StaffEnrolled { user_id });
        self.ledger
            .record(
                tenant,
                format!("staff-{user_id}"),
                &[event],
                meta(Actor::Staff(user_id.to_string()), "authentication"),
            )
            .await
            .map_err(StaffError::from)?;
        self.forget_failures(tenant, &attempt).await?;
        Ok(self.open_session(tenant, user_id, login, enrolment.role).await?)
    }

    /// The signed-in staff member changes their own password, giving the current one (a wrong
    /// one counts as a failed sign-in, back-off included). Their other sessions end.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        client: Client<'_>,
    ) -> Result<(), PasswordChangeError> {
        let tenant = principal.tenant;
        let attempt = self.attempt(tenant, &principal.login, client);
        if let Err(throttled) = self.check_backoff(tenant, &attempt).await? {
            return Err(PasswordChangeError::Throttled { until: throttled.until });
        }
        let row: Option<(Option<String>, String)> = on_db!(self.db(), pool => {
            sqlx::query_as("SELECT password_hash, display_name FROM staff_users WHERE tenant = $1 AND user_id = $2")
                .bind(tenant.to_string())
                .bind(principal.user_id.as_bytes().as_slice())
                .fetch_optional(pool)
                .await
                .map_err(StaffError::from)?
        });
        let (stored, display_name) = row.ok_or(StaffError::UnknownUser(principal.user_id))?;
        let stored = stored.unwrap_or_else(|| self.dummy_hash().to_owned());
        match self.hasher.verify(current, &stored) {
            Ok(()) => {}
            Err(PasswordError::Mismatch | PasswordError::TooLong { .. } | PasswordError::TooShort { .. }) => {
                self.refuse(tenant, &attempt, Some(principal.user_id), SignInFailure::WrongPassword).await?;
                return Err(PasswordChangeError::Refused);
            }
            Err(other) => return Err(StaffError::Corrupt(other.to_string()).into()),
        }
        if new == current {
            return Err(WeakPassword::Guessable { advice: ": it is the current password".into() }.into());
        }
        check_strength(new, &[&principal.login, &display_name, &tenant.to_string()])?;
        let password_hash = self.hasher.hash(new).map_err(|error| StaffError::Corrupt(error.to_string()))?;
        let now = micros(self.ledger.now());
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await.map_err(StaffError::from)?;
            sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE tenant = $2 AND user_id = $3")
                .bind(&password_hash)
                .bind(tenant.to_string())
                .bind(principal.user_id.as_bytes().as_slice())
                .execute(&mut *tx)
                .await
                .map_err(StaffError::from)?;
            sqlx::query(
                "UPDATE staff_sessions SET ended_at = $1 WHERE tenant = $2 AND user_id = $3 AND ended_at IS NULL \
                 AND session_id <> $4",
            )
            .bind(now)
            .bind(tenant.to_string())
            .bind(principal.user_id.as_bytes().as_slice())
            .bind(principal.session_id.as_bytes().as_slice())
            .execute(&mut *tx)
            .await
            .map_err(StaffError::from)?;
            tx.commit().await.map_err(StaffError::from)?
        });
        let event = LedgerEvent::StaffPasswordChanged(StaffPasswordChanged { user_id: principal.user_id });
        self.ledger
            .record(tenant, format!("staff-{}", principal.user_id), &[event], meta(principal.actor(), "authentication"))
            .await
            .map_err(StaffError::from)?;
        self.forget_failures(tenant, &attempt).await?;
        Ok(())
    }
}
