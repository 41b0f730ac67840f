//! Staff identity on the ledger's database: accounts, enrolment (the staff member's own password
//! and authenticator, set with a one-time code), sign-in with password and TOTP, sessions, the
//! sign-in back-off, password changes, disabling (docs/domain.md §3 rule 1, docs/security.md).
//!
//! The decisions are `kokuho-auth`'s (pure); this crate stores their state and records every
//! security-relevant fact in the ledger: accounts created and disabled, every sign-in success
//! and failure (never the login as typed, the password or the code tried), sign-outs and refused
//! requests. Each staff member's events form the stream `staff-<user id>`; failures for unknown
//! logins go to `staff-unknown`. A sign-in the back-off refuses is refused before anything is
//! written.

mod credentials;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use kokuho_auth::{
    PasswordError, PasswordHasher, Role, SessionPolicy, SessionToken, SignInBackoff, Throttled, TotpError, TotpSecret,
};
use kokuho_domain::TenantCode;
use kokuho_events::{
    LedgerEvent, RequestRefused, SignInFailure, StaffEnrolmentIssued, StaffSignInFailed, StaffSignedIn, StaffSignedOut,
    StaffUserCreated, StaffUserDisabled,
};
use kokuho_ledger::{Ledger, LedgerError};
use kokuho_store::{on_db, Actor, CommandMeta, Db};
use kokuho_vault::MasterKey;
use uuid::Uuid;

/// `last_seen_at` is written at most this often per session: sessions time out after minutes,
/// and a write per request would contend with the ledger's writer for nothing.
const LAST_SEEN_RESOLUTION: TimeDelta = TimeDelta::seconds(30);
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the last administrator of the municipality cannot be disabled: enrol another one first")]
    LastAdministrator,
    #[error("a staff member with login {0:?} already exists")]
    LoginTaken(String),
    #[error("no staff member {0}")]
    UnknownUser(Uuid),
    #[error("a login is {LOGIN_MIN_CHARS} to {LOGIN_MAX_CHARS} letters, digits, '.', '-' or '_'")]
    BadLogin,
    #[error("stored staff data is damaged: {0}")]
    Corrupt(String),
}

/// Why a sign-in was refused, as the caller may learn it. Wrong password, wrong code, a
/// replayed code, an unknown login and a disabled account all look the same from outside, and
/// the back-off counts an unknown login exactly like a known one.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the login, password or code is not right")]
    Refused,
    /// Too many recent failures of this login (from this client, or from everywhere): nothing
    /// was checked or written; try again from `until` on.
    #[error("too many failed sign-ins; try again after {until}")]
    Throttled { until: DateTime<Utc> },
    #[error(transparent)]
    Staff(#[from] StaffError),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("sign in first: no valid session for this municipality")]
    NotSignedIn,
    #[error(transparent)]
    Expired(#[from] kokuho_auth::SessionExpired),
    #[error(transparent)]
    Staff(#[from] StaffError),
}

/// A signed-in staff member, as a request carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantCode,
    pub user_id: Uuid,
    pub login: String,
    pub role: Role,
    pub session_id: Uuid,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.user_id.to_string())
    }
}

/// What creating an account hands out, once: a one-time enrolment code, never a password or a
/// TOTP secret (those only the staff member chooses and holds: docs/security.md §6).
pub struct CreatedUser {
    pub user_id: Uuid,
    pub enrolment: EnrolmentCode,
}

use credentials::generate_enrolment_code;
pub use credentials::{EnrolmentCode, EnrolmentError, PasswordChangeError, ENROLMENT_CODE_LIFETIME};

pub struct SignedIn {
    pub token: SessionToken,
    pub principal: Principal,
    pub expires_at: DateTime<Utc>,
}

pub struct Staff {
    ledger: Arc<Ledger>,
    master_key: Arc<MasterKey>,
    hasher: PasswordHasher,
    sessions: SessionPolicy,
    backoff: SignInBackoff,
    /// A hash no password matches, made with `hasher`'s parameters, verified when a login has no
    /// password (unknown, disabled, not enrolled): the same work as a real check.
    dummy_hash: std::sync::OnceLock<String>,
}

/// Where a sign-in comes from, as the back-off tells clients apart: the client's network
/// (`kokuho_auth::client_network`) as text, or any other stable name. Stored only as a keyed hash.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a>(pub &'a str);

fn meta(actor: Actor, purpose: &str) -> CommandMeta {
    CommandMeta {
        actor,
        purpose: purpose.to_owned(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or_default()
}

fn uuid(bytes: &[u8]) -> Result<Uuid, StaffError> {
    Uuid::from_slice(bytes).map_err(|_| StaffError::Corrupt("an id is not 16 bytes".into()))
}

pub const LOGIN_MIN_CHARS: usize = 3;
pub const LOGIN_MAX_CHARS: usize = 64;

/// Whether `login` could name an account: 3 to 64 ASCII letters, digits, '.', '-' or '_'. A
/// sign-in with any other login is refused at the edge (it can match no account), before the
/// back-off or the ledger sees it.
pub fn valid_login(login: &str) -> bool {
    (LOGIN_MIN_CHARS..=LOGIN_MAX_CHARS).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

struct UserRow {
    user_id: Uuid,
    role: Role,
    /// `None` until the staff member enrols.
    password_hash: Option<String>,
    totp_secret: Option<Vec<u8>>,
    totp_last_step: Option<i64>,
    disabled: bool,
}

impl Staff {
    pub fn new(ledger: Arc<Ledger>, master_key: Arc<MasterKey>, hasher: PasswordHasher) -> Staff {
        Staff {
            ledger,
            master_key,
            hasher,
            sessions: SessionPolicy::default(),
            backoff: SignInBackoff::default(),
            dummy_hash: std::sync::OnceLock::new(),
        }
    }

    pub fn with_policies(mut self, sessions: SessionPolicy, backoff: SignInBackoff) -> Staff {
        self.sessions = sessions;
        self.backoff = backoff;
        self
    }

    /// The keyed hash a failure of `login` is recorded under (`StaffSignInFailed.login_hmac`,
    /// the back-off's rows): HMAC-SHA256 under the tenant's key derived from the master key.
    pub fn login_hmac(&self, tenant: TenantCode, login: &str) -> [u8; 32] {
        self.master_key.tenant_hmac(&tenant.to_string(), "staff login", login.as_bytes())
    }

    fn dummy_hash(&self) -> &str {
        self.dummy_hash.get_or_init(|| self.hasher.hash("not a real password").unwrap_or_default())
    }

    fn client_hmac(&self, tenant: TenantCode, client: Client<'_>) -> [u8; 32] {
        self.master_key.tenant_hmac(&tenant.to_string(), "sign-in client", client.0.as_bytes())
    }

    /// The clock sign-ins, codes and enrolments are judged by (the ledger's).
    pub fn now(&self) -> DateTime<Utc> {
        self.ledger.now()
    }

    fn db(&self) -> &Db {
        self.ledger.store().db()
    }

    fn secret_context(tenant: TenantCode, user_id: Uuid) -> Vec<u8> {
        format!("totp/{tenant}/{user_id}").into_bytes()
    }

    /// Creates an account without credentials and hands out a one-time enrolment code (also
    /// recorded as issued). `created_by` is the administrator, `None` for the first one.
    pub async fn create_user(
        &self,
        tenant: TenantCode,
        login: &str,
        display_name: &str,
        role: Role,
        created_by: Option<Uuid>,
    ) -> Result<CreatedUser, StaffError> {
        if !valid_login(login) {
            return Err(StaffError::BadLogin);
        }
        let user_id = Uuid::now_v7();
        let now = self.ledger.now();
        let enrolment = EnrolmentCode { code: generate_enrolment_code(), expires_at: now + ENROLMENT_CODE_LIFETIME };
        let inserted = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO staff_users (tenant, user_id, login, display_name, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, login) DO NOTHING",
            )
            .bind(tenant.to_string())
            .bind(user_id.as_bytes().as_slice())
            .bind(login)
            .bind(display_name)
            .bind(role.as_str())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query("INSERT INTO staff_enrolments (tenant, user_id, code_hash, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(tenant.to_string())
                    .bind(user_id.as_bytes().as_slice())
                    .bind(kokuho_auth::token_hash(&enrolment.code).as_slice())
                    .bind(micros(enrolment.expires_at))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            inserted
        });
        if inserted == 0 {
            return Err(StaffError::LoginTaken(login.to_owned()));
        }
        let actor = created_by.map_or(Actor::System("admin-cli".into()), |id| Actor::Staff(id.to_string()));
        let events = [
            LedgerEvent::StaffUserCreated(StaffUserCreated {
                user_id,
                login: login.to_owned(),
                role: role.as_str().to_owned(),
                created_by,
            }),
            LedgerEvent::StaffEnrolmentIssued(StaffEnrolmentIssued {
                user_id,
                issued_by: created_by,
                expires_at: enrolment.expires_at,
            }),
        ];
        self.ledger.record(tenant, format!("staff-{user_id}"), &events, meta(actor, "administration")).await?;
        Ok(CreatedUser { user_id, enrolment })
    }

    /// Disables an account and ends its sessions at once (never the last administrator).
    pub async fn disable_user(
        &self,
        tenant: TenantCode,
        user_id: Uuid,
        disabled_by: Option<Uuid>,
        reason: &str,
    ) -> Result<(), StaffError> {
        self.withdraw(tenant, user_id, Withdrawal::Disable).await?;
        let actor = disabled_by.map_or(Actor::System("admin-cli".into()), |id| Actor::Staff(id.to_string()));
        let event =
            LedgerEvent::StaffUserDisabled(StaffUserDisabled { user_id, disabled_by, reason: reason.to_owned() });
        self.ledger.record(tenant, format!("staff-{user_id}"), &[event], meta(actor, "administration")).await?;
        Ok(())
    }

    /// Takes an active account's power to act away, in one transaction: disabling it, or
    /// clearing its credentials for a new enrolment; either ends its sessions. Never the
    /// municipality's last enrolled, active administrator: nobody could manage accounts then.
    async fn withdraw(&self, tenant: TenantCode, user_id: Uuid, withdrawal: Withdrawal) -> Result<(), StaffError> {
        let now = micros(self.ledger.now());
        // PostgreSQL: the active administrators' rows are locked first, so two administrators
        // withdrawing each other at once cannot both pass the check below (SQLite has one writer).
        let lock_administrators = match self.db().backend() {
            kokuho_store::Backend::Postgres => Some(
                "SELECT user_id FROM staff_users WHERE tenant = $1 AND role = 'administrator' \
                 AND disabled_at IS NULL FOR UPDATE",
            ),
            kokuho_store::Backend::Sqlite => None,
        };
        let assignment = match withdrawal {
            Withdrawal::Disable => "disabled_at = $3",
            Withdrawal::NewEnrolment { .. } => "password_hash = NULL, totp_secret = NULL, totp_last_step = NULL",
        };
        let update = format!(
            "UPDATE staff_users SET {assignment} WHERE tenant = $1 AND user_id = $2 AND disabled_at IS NULL \
             AND (role <> 'administrator' OR EXISTS (SELECT 1 FROM staff_users other WHERE other.tenant = $1 \
             AND other.user_id <> $2 AND other.role = 'administrator' AND other.disabled_at IS NULL \
             AND other.password_hash IS NOT NULL))"
        );
        let withdrawn = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            if let Some(lock) = lock_administrators {
                sqlx::query(lock).bind(tenant.to_string()).execute(&mut *tx).await?;
            }
            let mut query = sqlx::query(&update).bind(tenant.to_string()).bind(user_id.as_bytes().as_slice());
            if let Withdrawal::Disable = withdrawal {
                query = query.bind(now);
            }
            let withdrawn = query.execute(&mut *tx).await?.rows_affected() == 1;
            if withdrawn {
                sqlx::query("UPDATE staff_sessions SET ended_at = $1 WHERE tenant = $2 AND user_id = $3 AND ended_at IS NULL")
                    .bind(now)
                    .bind(tenant.to_string())
                    .bind(user_id.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
            if let (true, Withdrawal::NewEnrolment { code_hash, expires_at }) = (withdrawn, &withdrawal) {
                sqlx::query(
                    "INSERT INTO staff_enrolments (tenant, user_id, code_hash, expires_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant, user_id) DO UPDATE SET code_hash = excluded.code_hash, \
                     expires_at = excluded.expires_at, pending_totp_secret = NULL",
                )
                .bind(tenant.to_string())
                .bind(user_id.as_bytes().as_slice())
                .bind(code_hash.as_slice())
                .bind(*expires_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            withdrawn
        });
        if withdrawn {
            return Ok(());
        }
        let active: Option<String> = on_db!(self.db(), pool => {
            sqlx::query_scalar("SELECT role FROM staff_users WHERE tenant = $1 AND user_id = $2 AND disabled_at IS NULL")
                .bind(tenant.to_string())
                .bind(user_id.as_bytes().as_slice())
                .fetch_optional(pool)
                .await?
        });
        Err(match active {
            Some(_) => StaffError::LastAdministrator,
            None => StaffError::UnknownUser(user_id),
        })
    }

    async fn user_by_login(&self, tenant: TenantCode, login: &str) -> Result<Option<UserRow>, StaffError> {
        type Row = (Vec<u8>, String, Option<String>, Option<Vec<u8>>, Option<i64>, Option<i64>);
        let row: Option<Row> = on_db!(self.db(), pool => {
            sqlx::query_as(
                "SELECT user_id, role, password_hash, totp_secret, totp_last_step, disabled_at FROM staff_users \
                 WHERE tenant = $1 AND login = $2",
            )
            .bind(tenant.to_string())
            .bind(login)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(user_id, role, password_hash, totp_secret, totp_last_step, disabled_at)| {
            Ok(UserRow {
                user_id: uuid(&user_id)?,
                role: role.parse().map_err(|_| StaffError::Corrupt(format!("unknown role {role:?}")))?,
                password_hash,
                totp_secret,
                totp_last_step,
                disabled: disabled_at.is_some(),
            })
        })
        .transpose()
    }

    /// Records a refused sign-in: a row for the back-off (every failure, of known and unknown
    /// logins alike) and the event, with the login only as its keyed hash.
    async fn refuse(
        &self,
        tenant: TenantCode,
        attempt: &Attempt,
        user_id: Option<Uuid>,
        failure: SignInFailure,
    ) -> Result<(), StaffError> {
        let now = self.ledger.now();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM staff_sign_in_backoff WHERE tenant = $1 AND failed_at < $2")
                .bind(tenant.to_string())
                .bind(micros(self.backoff.relevant_since(now)))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO staff_sign_in_backoff (tenant, login_hmac, client_hmac, failed_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant.to_string())
            .bind(attempt.login_hmac.as_slice())
            .bind(attempt.client_hmac.as_slice())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?
        });
        let stream = user_id.map_or("staff-unknown".to_owned(), |id| format!("staff-{id}"));
        let event = LedgerEvent::StaffSignInFailed(StaffSignInFailed {
            login_hmac: Some(hex(&attempt.login_hmac)),
            user_id,
            failure,
        });
        self.ledger.record(tenant, stream, &[event], meta(Actor::System("sign-in".into()), "authentication")).await?;
        Ok(())
    }

    /// Refuses the attempt (nothing checked, nothing written) while the back-off holds its login
    /// from this client or from everywhere.
    async fn check_backoff(&self, tenant: TenantCode, attempt: &Attempt) -> Result<Result<(), Throttled>, StaffError> {
        let now = self.ledger.now();
        let rows: Vec<(Vec<u8>, i64)> = on_db!(self.db(), pool => {
            sqlx::query_as(
                "SELECT client_hmac, failed_at FROM staff_sign_in_backoff \
                 WHERE tenant = $1 AND login_hmac = $2 AND failed_at >= $3",
            )
            .bind(tenant.to_string())
            .bind(attempt.login_hmac.as_slice())
            .bind(micros(self.backoff.relevant_since(now)))
            .fetch_all(pool)
            .await?
        });
        let failures: Vec<(DateTime<Utc>, bool)> = rows
            .into_iter()
            .map(|(client, at)| (from_micros(at), client.as_slice() == attempt.client_hmac.as_slice()))
            .collect();
        Ok(self.backoff.check(&failures, now))
    }

    fn attempt(&self, tenant: TenantCode, login: &str, client: Client<'_>) -> Attempt {
        Attempt { login_hmac: self.login_hmac(tenant, login), client_hmac: self.client_hmac(tenant, client) }
    }

    /// After a sign-in succeeds, this client's failures of the login are forgotten (those of
    /// other clients still count towards the per-login ceiling).
    async fn forget_failures(&self, tenant: TenantCode, attempt: &Attempt) -> Result<(), StaffError> {
        on_db!(self.db(), pool => {
            sqlx::query("DELETE FROM staff_sign_in_backoff WHERE tenant = $1 AND login_hmac = $2 AND client_hmac = $3")
                .bind(tenant.to_string())
                .bind(attempt.login_hmac.as_slice())
                .bind(attempt.client_hmac.as_slice())
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    /// Signs in with login, password and the current TOTP code, from `client`.
    ///
    /// Every path that checks credentials does the same work whether or not the login exists
    /// (one Argon2 verification, the same reads and writes), so neither the answer nor its
    /// timing says which logins exist.
    pub async fn sign_in(
        &self,
        tenant: TenantCode,
        login: &str,
        password: &str,
        code: &str,
        client: Client<'_>,
    ) -> Result<SignedIn, SignInError> {
        let attempt = self.attempt(tenant, login, client);
        if let Err(throttled) = self.check_backoff(tenant, &attempt).await? {
            return Err(SignInError::Throttled { until: throttled.until });
        }
        let now = self.ledger.now();
        let user = self.user_by_login(tenant, login).await?;
        // Verified whatever the account's state, against a dummy hash when there is none, so
        // response times do not reveal logins.
        let stored_hash =
            user.as_ref().and_then(|user| user.password_hash.as_deref()).unwrap_or_else(|| self.dummy_hash());
        let password_ok = match self.hasher.verify(password, stored_hash) {
            Ok(()) => true,
            Err(PasswordError::Mismatch | PasswordError::TooLong { .. } | PasswordError::TooShort { .. }) => false,
            Err(other) => return Err(StaffError::Corrupt(other.to_string()).into()),
        };
        let Some(user) = user else {
            self.refuse(tenant, &attempt, None, SignInFailure::UnknownLogin).await?;
            return Err(SignInError::Refused);
        };
        if user.disabled {
            self.refuse(tenant, &attempt, Some(user.user_id), SignInFailure::AccountDisabled).await?;
            return Err(SignInError::Refused);
        }
        let (Some(_), Some(sealed_secret)) = (&user.password_hash, &user.totp_secret) else {
            self.refuse(tenant, &attempt, Some(user.user_id), SignInFailure::NotEnrolled).await?;
            return Err(SignInError::Refused);
        };
        if !password_ok {
            self.refuse(tenant, &attempt, Some(user.user_id), SignInFailure::WrongPassword).await?;
            return Err(SignInError::Refused);
        }
        let secret = self.open_secret(tenant, user.user_id, sealed_secret)?;
        let step = match secret.verify(code, now, user.totp_last_step.map(|step| step as u64)) {
            Ok(step) => step,
            Err(error) => {
                let failure = if error == TotpError::CodeAlreadyUsed {
                    SignInFailure::CodeAlreadyUsed
                } else {
                    SignInFailure::WrongCode
                };
                self.refuse(tenant, &attempt, Some(user.user_id), failure).await?;
                return Err(SignInError::Refused);
            }
        };
        // Claim the step atomically: of two sign-ins racing with one code, one wins.
        let claimed = on_db!(self.db(), pool => {
            sqlx::query(
                "UPDATE staff_users SET totp_last_step = $1 WHERE tenant = $2 AND user_id = $3 \
                 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step as i64)
            .bind(tenant.to_string())
            .bind(user.user_id.as_bytes().as_slice())
            .execute(pool)
            .await
            .map_err(StaffError::from)?
            .rows_affected()
        });
        if claimed == 0 {
            self.refuse(tenant, &attempt, Some(user.user_id), SignInFailure::CodeAlreadyUsed).await?;
            return Err(SignInError::Refused);
        }
        self.forget_failures(tenant, &attempt).await?;
        Ok(self.open_session(tenant, user.user_id, login, user.role).await?)
    }

    /// A new session of `user_id`, recorded as a sign-in.
    async fn open_session(
        &self,
        tenant: TenantCode,
        user_id: Uuid,
        login: &str,
        role: Role,
    ) -> Result<SignedIn, StaffError> {
        let now = self.ledger.now();
        let token = SessionToken::generate();
        let session_id = Uuid::now_v7();
        on_db!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO staff_sessions (tenant, token_hash, session_id, user_id, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(tenant.to_string())
            .bind(token.hash().as_slice())
            .bind(session_id.as_bytes().as_slice())
            .bind(user_id.as_bytes().as_slice())
            .bind(micros(now))
            .execute(pool)
            .await
            .map(|_| ())?
        });
        let principal = Principal { tenant, user_id, login: login.to_owned(), role, session_id };
        let event = LedgerEvent::StaffSignedIn(StaffSignedIn { user_id, session_id });
        self.ledger
            .record(tenant, format!("staff-{user_id}"), &[event], meta(principal.actor(), "authentication"))
            .await?;
        Ok(SignedIn { token, principal, expires_at: now + self.sessions.absolute_lifetime })
    }

    fn open_secret(&self, tenant: TenantCode, user_id: Uuid, sealed: &[u8]) -> Result<TotpSecret, StaffError> {
        let bytes = self
            .master_key
            .open_secret(sealed, &Self::secret_context(tenant, user_id))
            .map_err(|_| StaffError::Corrupt("a TOTP secret does not open with this master key".into()))?;
        let bytes: [u8; 20] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| StaffError::Corrupt("a TOTP secret has the wrong length".into()))?;
        Ok(TotpSecret::from_bytes(bytes))
    }

    /// The staff member a session token belongs to, if the session is valid for `tenant` now.
    /// A token of another municipality is simply not found: tenants are sealed.
    pub async fn authenticate(&self, tenant: TenantCode, token: &str) -> Result<Principal, AuthError> {
        let now = self.ledger.now();
        let hash = kokuho_auth::token_hash(token);
        type Row = (Vec<u8>, Vec<u8>, i64, i64, String, String);
        let row: Option<Row> = on_db!(self.db(), pool => {
            sqlx::query_as(
                "SELECT s.session_id, s.user_id, s.created_at, s.last_seen_at, u.login, u.role \
                 FROM staff_sessions s JOIN staff_users u ON u.tenant = s.tenant AND u.user_id = s.user_id \
                 WHERE s.tenant = $1 AND s.token_hash = $2 AND s.ended_at IS NULL AND u.disabled_at IS NULL",
            )
            .bind(tenant.to_string())
            .bind(hash.as_slice())
            .fetch_optional(pool)
            .await
            .map_err(StaffError::from)?
        });
        let Some((session_id, user_id, created_at, last_seen_at, login, role)) = row else {
            return Err(AuthError::NotSignedIn);
        };
        let last_seen = from_micros(last_seen_at);
        self.sessions.check(from_micros(created_at), last_seen, now)?;
        if now - last_seen >= LAST_SEEN_RESOLUTION {
            on_db!(self.db(), pool => {
                sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE tenant = $2 AND token_hash = $3")
                    .bind(micros(now))
                    .bind(tenant.to_string())
                    .bind(hash.as_slice())
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .map_err(StaffError::from)?
            });
        }
        Ok(Principal {
            tenant,
            user_id: uuid(&user_id)?,
            login,
            role: role.parse().map_err(|_| StaffError::Corrupt(format!("unknown role {role:?}")))?,
            session_id: uuid(&session_id)?,
        })
    }

    /// Ends the session of `token`.
    pub async fn sign_out(&self, principal: &Principal, token: &str) -> Result<(), StaffError> {
        on_db!(self.db(), pool => {
            sqlx::query("UPDATE staff_sessions SET ended_at = $1 WHERE tenant = $2 AND token_hash = $3 AND ended_at IS NULL")
                .bind(micros(self.ledger.now()))
                .bind(principal.tenant.to_string())
                .bind(kokuho_auth::token_hash(token).as_slice())
                .execute(pool)
                .await
                .map(|_| ())?
        });
        let event = LedgerEvent::StaffSignedOut(StaffSignedOut {
            user_id: principal.user_id,
            session_id: principal.session_id,
        });
        self.ledger
            .record(
                principal.tenant,
                format!("staff-{}", principal.user_id),
                &[event],
                meta(principal.actor(), "authentication"),
            )
            .await?;
        Ok(())
    }

    /// Records that authorization refused `principal` a request.
    pub async fn record_refusal(
        &self,
        principal: &Principal,
        route: &str,
        method: &str,
        code: &str,
        purpose: Option<&str>,
    ) -> Result<(), StaffError> {
        let event = LedgerEvent::RequestRefused(RequestRefused {
            user_id: principal.user_id,
            route: route.to_owned(),
            method: method.to_owned(),
            code: code.to_owned(),
            purpose: purpose.map(str::to_owned),
        });
        self.ledger
            .record(
                principal.tenant,
                format!("staff-{}", principal.user_id),
                &[event],
                meta(principal.actor(), "authorization"),
            )
            .await?;
        Ok(())
    }
}

/// What [`Staff::withdraw`] does to an account.
enum Withdrawal {
    Disable,
    /// Clear the credentials and open a new enrolment with this code (its SHA-256) until then.
    NewEnrolment {
        code_hash: [u8; 32],
        expires_at: i64,
    },
}

/// The hashes of one sign-in attempt's login and client, as the back-off and the record keep them.
struct Attempt {
    login_hmac: [u8; 32],
    client_hmac: [u8; 32],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
