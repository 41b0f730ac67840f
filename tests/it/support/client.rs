//! The HTTP API as a test uses it: one client, in process or against the real server.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use chrono::TimeDelta;
use ed25519_dalek::{Signer, SigningKey};
use kokuho::Ledgerd;
use kokuho_auth::Role;
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

use super::{kumagaya, serve, Served, StaffBuilder, TestClock, TestDb, KUMAGAYA};

/// One HTTP request: method, path (with its query), and optionally a session token, an
/// Idempotency-Key, a body (JSON, or bytes of any content type) and the client address it comes
/// from.
#[derive(Clone)]
pub struct Call {
    method: Method,
    path: String,
    token: Option<String>,
    idempotency_key: Option<String>,
    body: Option<(String, Vec<u8>)>,
    from: Option<std::net::SocketAddr>,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Call {
        Call { method, path: path.into(), token: None, idempotency_key: None, body: None, from: None }
    }

    /// As if the connection came from `address` (the peer address `kokuho serve` sees through
    /// `ConnectInfo`). Only the in-process router can be told this: over loopback TCP every
    /// request comes from 127.0.0.1, so tests of the per-client limits run in process. No packet
    /// is sent to `address`; the tests use the documentation ranges (RFC 5737).
    pub fn from(mut self, address: &str) -> Call {
        self.from = Some(std::net::SocketAddr::new(address.parse().unwrap(), 40_000));
        self
    }

    pub fn token(mut self, token: &str) -> Call {
        self.token = Some(token.to_owned());
        self
    }

    pub fn idempotency_key(mut self, key: &str) -> Call {
        self.idempotency_key = Some(key.to_owned());
        self
    }

    pub fn json(self, body: &Value) -> Call {
        self.body("application/json", body.to_string())
    }

    /// A body sent as it is, with its content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Call {
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }
}

/// How requests reach kokuho; cheap to clone, so concurrent requests can run on their own tasks.
#[derive(Clone)]
pub enum Transport {
    /// The router, in this process.
    Router(axum::Router),
    /// A server over TCP at `base` (`http://127.0.0.1:<port>`).
    Http { client: reqwest::Client, base: String },
}

impl Transport {
    /// Sends `call`; answers the status, the headers and the body as JSON (`Null` if it is not
    /// JSON). Every 4xx and 5xx must be `application/problem+json`.
    pub async fn send(&self, call: Call) -> (StatusCode, HeaderMap, Value) {
        let (status, headers, bytes) = match self {
            Transport::Router(router) => {
                let mut request = Request::builder().method(call.method).uri(&call.path);
                if let Some(token) = &call.token {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
                if let Some(key) = &call.idempotency_key {
                    request = request.header("Idempotency-Key", key);
                }
                let mut request = match call.body {
                    Some((content_type, body)) => {
                        request.header(header::CONTENT_TYPE, content_type).body(Body::from(body))
                    }
                    None => request.body(Body::empty()),
                }
                .unwrap();
                if let Some(address) = call.from {
                    request.extensions_mut().insert(axum::extract::ConnectInfo(address));
                }
                let response = router.clone().oneshot(request).await.unwrap();
                let (status, headers) = (response.status(), response.headers().clone());
                (status, headers, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
            }
            Transport::Http { client, base } => {
                assert!(
                    call.from.is_none(),
                    "over TCP a request comes from 127.0.0.1; test client addresses in process"
                );
                let method = reqwest::Method::from_bytes(call.method.as_str().as_bytes()).unwrap();
                let mut request = client.request(method, format!("{base}{}", call.path));
                if let Some(token) = &call.token {
                    request = request.bearer_auth(token);
                }
                if let Some(key) = &call.idempotency_key {
                    request = request.header("Idempotency-Key", key);
                }
                if let Some((content_type, body)) = call.body {
                    request = request.header("content-type", content_type).body(body);
                }
                let response = request.send().await.unwrap();
                let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
                let headers: HeaderMap = response
                    .headers()
                    .iter()
                    .map(|(name, value)| {
                        (
                            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                        )
                    })
                    .collect();
                (status, headers, response.bytes().await.unwrap().to_vec())
            }
        };
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_client_error() || status.is_server_error() {
            let problem = headers.get(header::CONTENT_TYPE).is_some_and(|v| v == "application/problem+json");
            assert!(problem, "{status} is not problem+json: {value}");
        }
        (status, headers, value)
    }
}

/// A staff account created for a test, with what signing in takes.
pub struct Account {
    pub user_id: Uuid,
    pub login: String,
    pub password: String,
    pub totp: kokuho_auth::TotpSecret,
    pub tenant: String,
}

/// The HTTP API on a fresh database, with the ledger beside it (to create staff accounts, read
/// streams, rebuild projections, execute commands directly).
///
/// - [`Client::in_process`]: the router in this process, its ledger following (handlers wait
///   for the follower), on a [`TestClock`] the test moves.
/// - [`Client::served`]: the real `kokuho serve` binary on the same database, over TCP. It runs
///   on the system clock, so this client's clock is [`TestClock::system`]; the ledger beside it
///   (not following: the server does) is another process writing the same ledger.
pub struct Client {
    pub ledgerd: Ledgerd,
    pub clock: TestClock,
    pub db: TestDb,
    transport: Transport,
    server: Option<Served>,
}

impl Client {
    pub async fn in_process() -> Client {
        let db = TestDb::fresh().await;
        let clock = TestClock::new();
        let mut ledgerd = Ledgerd::open(&db.config(), clock.as_clock()).await.unwrap();
        ledgerd.start_following();
        let transport = Transport::Router(kokuho_api::router(ledgerd.state()));
        Client { ledgerd, clock, db, transport, server: None }
    }

    pub async fn served() -> Client {
        let db = TestDb::fresh().await;
        let clock = TestClock::system();
        // Opened first: it migrates and writes the master key file the server then reads.
        let ledgerd = Ledgerd::open(&db.config(), clock.as_clock()).await.unwrap();
        let server = serve(&db);
        let transport = Transport::Http { client: reqwest::Client::new(), base: server.base.clone() };
        Client { ledgerd, clock, db, transport, server: Some(server) }
    }

    /// `http://127.0.0.1:<port>` of a served client.
    pub fn base_url(&self) -> &str {
        match &self.transport {
            Transport::Http { base, .. } => base,
            Transport::Router(_) => panic!("only a served client has a URL"),
        }
    }

    /// What sends this client's requests, to move into a task of its own.
    pub fn transport(&self) -> Transport {
        self.transport.clone()
    }

    /// Sends `call` (see [`Transport::send`]); answers the status and the body.
    pub async fn send(&self, call: Call) -> (StatusCode, Value) {
        let (status, _, body) = self.transport.send(call).await;
        (status, body)
    }

    /// Like [`Client::send`], with the response's headers.
    pub async fn send_with_headers(&self, call: Call) -> (StatusCode, HeaderMap, Value) {
        self.transport.send(call).await
    }

    /// A request to any path (with its query); every 4xx and 5xx must be problem+json.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut call = Call::new(method, path);
        if let Some(token) = token {
            call = call.token(token);
        }
        if let Some(key) = idempotency_key {
            call = call.idempotency_key(key);
        }
        if let Some(body) = body {
            call = call.json(&body);
        }
        self.send(call).await
    }

    /// GET `/v1/112020{path}` (Kumagaya, the tenant of nearly every test).
    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, &format!("/v1/{KUMAGAYA}{path}"), Some(token), None, None).await
    }

    /// POST `/v1/112020{path}` with a JSON body.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, &format!("/v1/{KUMAGAYA}{path}"), Some(token), None, Some(body)).await
    }

    /// A POST that must be answered 201 Created; answers its body.
    pub async fn ok(&self, token: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(token, path, body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {answer}");
        answer
    }

    /// Signs in through `POST /v1/{tenant}/sessions`.
    pub async fn try_sign_in(&self, account: &Account, password: &str, code: &str) -> (StatusCode, Value) {
        let body = json!({"login": account.login, "password": password, "code": code});
        self.request(Method::POST, &format!("/v1/{}/sessions", account.tenant), None, None, Some(body)).await
    }

    /// Signs in with the code at the clock's time; answers the session token. A test clock then
    /// moves to the next TOTP step, so the next sign-in of anyone gets a fresh code.
    pub async fn sign_in(&self, account: &Account) -> String {
        let code = account.totp.code_at(self.clock.now());
        let (status, body) = self.try_sign_in(account, &account.password, &code).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        if self.clock.is_manual() {
            self.clock.advance(TimeDelta::seconds(30));
        }
        body["token"].as_str().unwrap().to_owned()
    }

    /// A new staff member of Kumagaya with `role`, signed in: (user id, session token).
    pub async fn signed_in(&self, role: Role) -> (Uuid, String) {
        let (account, token) = StaffBuilder::new(role).signed_in(self).await;
        (account.user_id, token)
    }

    /// A citizen's challenge (`POST /v1/{tenant}/citizen/challenges`), which must be created.
    pub async fn challenge(&self, tenant: &str) -> Value {
        let (status, challenge) =
            self.request(Method::POST, &format!("/v1/{tenant}/citizen/challenges"), None, None, None).await;
        assert_eq!(status, StatusCode::CREATED, "{challenge}");
        challenge
    }

    /// Answers `challenge` for `person` with `card`'s signature over its signing message.
    pub async fn answer_challenge(
        &self,
        tenant: &str,
        challenge: &Value,
        person: &str,
        card: &SigningKey,
    ) -> (StatusCode, Value) {
        let message = unhex(challenge["signing_message"].as_str().unwrap());
        let signature = card.sign(&message).to_bytes();
        let body =
            json!({"challenge_id": challenge["challenge_id"], "person_id": person, "signature": hex(&signature)});
        self.request(Method::POST, &format!("/v1/{tenant}/citizen/sessions"), None, None, Some(body)).await
    }

    /// The stream's event types, in order, in Kumagaya's ledger.
    pub async fn event_types(&self, stream: &str) -> Vec<String> {
        let events = self.ledgerd.store.read_stream(kumagaya(), stream, kokuho_store::Decrypt::No).await.unwrap();
        events.into_iter().map(|e| e.event_type).collect()
    }

    /// Stops the server (a served client: SIGTERM, and it must exit cleanly) and the ledger.
    pub async fn stop(mut self) {
        if let Some(mut server) = self.server.take() {
            let exited = server.terminate().await;
            assert!(exited.success(), "kokuho serve exited with {exited:?}");
        }
        self.ledgerd.shutdown().await;
    }
}

/// Enrols over HTTP as a new staff member with their enrolment code does: `POST
/// /v1/{tenant}/enrolment` (the authenticator's secret), then `…/enrolment/complete` with a fresh
/// password and the code of the step before `now` (see [`super::enrol`]). Answers the password
/// and the secret.
pub async fn enrol_over_http(
    transport: &Transport,
    tenant: &str,
    login: &str,
    enrolment_code: &str,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
) -> (String, kokuho_auth::TotpSecret) {
    let start = json!({"login": login, "enrolment_code": enrolment_code});
    let (status, _, started) =
        transport.send(Call::new(Method::POST, format!("/v1/{tenant}/enrolment")).json(&start)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let secret = kokuho_auth::TotpSecret::from_base32(started["totp_secret_base32"].as_str().unwrap()).unwrap();
    let password = super::fresh_password();
    for attempt in 0.. {
        let code = secret.code_at(now() - TimeDelta::seconds(30));
        let body = json!({"login": login, "enrolment_code": enrolment_code, "password": password, "code": code});
        let call = Call::new(Method::POST, format!("/v1/{tenant}/enrolment/complete")).json(&body);
        let (status, _, answer) = transport.send(call).await;
        match status {
            StatusCode::CREATED => break,
            // A step began between reading the clock and the check: once more.
            StatusCode::UNAUTHORIZED if attempt == 0 => continue,
            other => panic!("enrolling {login}: {other} {answer}"),
        }
    }
    (password, secret)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}
