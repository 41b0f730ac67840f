//! The limits on what anyone may ask without signing in (docs/security.md): a request rate per
//! client network for staff sign-ins (and enrolments) and for citizens' challenges, answered
//! 429 with `Retry-After` before anything is read or written; the per-login back-off of staff
//! sign-ins is `kokuho-staff`'s.
//!
//! The client is the peer address of the connection (`ConnectInfo`, which `kokuho serve`
//! provides), grouped by network (`kokuho_auth::client_network`: an IPv6 client by its /64).
//! A router served without connect info sees every request as the one client `unknown`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use kokuho_auth::{client_network, RateLimit, RateLimiter, SignInBackoff};

use crate::{ApiError, AppState};

/// The limits, as configured (`kokuho serve --sign-in-rate …`; the defaults are documented in
/// docs/security.md and on each field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Staff sign-ins and enrolment steps per client network: 30 at once, then one every two
    /// seconds (30/min). An office whose staff all sign in through one address needs more.
    pub sign_in_per_client: RateLimit,
    /// Citizens' challenges per client network: 20 at once, then one every three seconds
    /// (20/min). A challenge lasts five minutes, so one network holds at most about 120 of a
    /// municipality's 10,000 open challenges.
    pub challenges_per_client: RateLimit,
    /// The per-login back-off of staff sign-ins (see `kokuho_auth::SignInBackoff`).
    pub sign_in_backoff: SignInBackoff,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sign_in_per_client: RateLimit::per_minute(30),
            challenges_per_client: RateLimit::per_minute(20),
            sign_in_backoff: SignInBackoff::default(),
        }
    }
}

/// The per-client limiters of one serving process (in memory: each process counts its own).
pub struct ClientLimiters {
    pub sign_in: RateLimiter<ClientKey>,
    pub challenges: RateLimiter<ClientKey>,
}

impl ClientLimiters {
    pub fn new(limits: &Limits) -> ClientLimiters {
        ClientLimiters {
            sign_in: RateLimiter::new(limits.sign_in_per_client),
            challenges: RateLimiter::new(limits.challenges_per_client),
        }
    }
}

/// A client as the limits count it: its network, or `None` when the server does not know the
/// peer address.
pub type ClientKey = Option<IpAddr>;

/// The client network a request comes from (never refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub ClientKey);

impl ClientAddress {
    /// The name the staff back-off keys this client by (kept only as a keyed hash).
    pub fn name(&self) -> String {
        self.0.map_or_else(|| "unknown".to_owned(), |network| network.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
        Ok(ClientAddress(peer.map(client_network)))
    }
}

impl AppState {
    /// Takes one request of `client`'s allowance from `limiter`, or refuses with 429.
    pub(crate) fn admit(&self, limiter: &RateLimiter<ClientKey>, client: ClientAddress) -> Result<(), ApiError> {
        let now = self.ledger.now();
        limiter.check(&client.0, now).map_err(|throttled| ApiError::Throttled {
            code: "too_many_requests",
            detail: format!("too many requests from your network (at most {}); try again in a moment", limiter.limit()),
            retry_after_seconds: throttled.retry_after_seconds(now),
        })
    }
}
