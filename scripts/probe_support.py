"""What scripts/crash-test and scripts/schemathesis share: the `kokuho` binary, a served ledger
that can be killed, staff accounts of each role and their signed-in tokens, and plain HTTP.
Python standard library only.

Staff accounts are made in two steps, the one place to adapt when account creation changes:
`create_account` (on the command line, before serving) and `sign_in` (over HTTP, password and
TOTP code). `token_for_role` does both for a fresh account of a role.
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TENANT = "112020"
ROLES = [
    "eligibility_clerk",
    "tax_clerk",
    "benefits_clerk",
    "collection_clerk",
    "supervisor",
    "auditor",
    "administrator",
]


def kokuho_binary(given=None):
    """The `kokuho` binary: `given`, else the debug build (built first, quietly, when stale)."""
    if given:
        return os.path.abspath(given)
    subprocess.run(["cargo", "build", "-q", "--locked", "--bin", "kokuho"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "debug", "kokuho")


class Kokuho:
    """The binary on one database, with the master and checkpoint keys in `workdir`."""

    def __init__(self, binary, database_url, workdir):
        self.binary = binary
        self.database_url = database_url
        self.workdir = workdir
        self.env = dict(os.environ)
        for name in ("KOKUHO_MASTER_KEY", "KOKUHO_CHECKPOINT_KEY", "KOKUHO_RULES_DIR"):
            self.env.pop(name, None)
        self.env.update(
            DATABASE_URL=database_url,
            KOKUHO_MASTER_KEY_FILE=os.path.join(workdir, "master.key"),
            KOKUHO_CHECKPOINT_KEY_FILE=os.path.join(workdir, "checkpoint.key"),
            KOKUHO_LOG="warn",
        )

    def run(self, *args):
        """Runs a command to its end: (exit code, stdout, stderr)."""
        done = subprocess.run(
            [self.binary, *args], cwd=self.workdir, env=self.env, capture_output=True, text=True
        )
        return done.returncode, done.stdout, done.stderr

    def serve(self, *args):
        return Served(self, list(args))


class Served:
    """`kokuho serve` on 127.0.0.1, port 0; `base` is where it listens."""

    def __init__(self, kokuho, args):
        log = open(os.path.join(kokuho.workdir, "serve.log"), "a")
        self.process = subprocess.Popen(
            [kokuho.binary, "serve", "--bind", "127.0.0.1:0", *args],
            cwd=kokuho.workdir,
            env=kokuho.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        first = self.process.stdout.readline()
        if not first.startswith("kokuho is serving"):
            self.process.kill()
            raise RuntimeError(f"kokuho serve did not start (see {log.name}): {first!r}")
        self.base = first.split()[-1]
        # Keep draining stdout: a full pipe would block the server's next print.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise RuntimeError("kokuho serve did not stop on SIGTERM within 30 s")


def totp(secret_base32, at=None):
    """The current RFC 6238 code (SHA-1, 6 digits, 30 s), as scripts/totp prints it."""
    secret = secret_base32.strip().upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(at if at is not None else time.time()) // 30)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def create_account(kokuho, role, login=None):
    """A staff account of `role`, made on the command line: {login, role, enrolment_code}. Its
    owner enrols (chooses a password, gets an authenticator secret) at the first `sign_in`."""
    login = login or f"probe-{role.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    code, out, err = kokuho.run(
        "admin", "create-user", "--tenant", TENANT, "--login", login, "--name", f"probe {role}", "--role", role
    )
    if code != 0:
        raise RuntimeError(f"admin create-user --role {role} failed: {err.strip()}")
    enrolment = next(
        (line.split(": ", 1)[1].strip() for line in out.splitlines() if line.startswith("enrolment code: ")), None
    )
    if not enrolment:
        raise RuntimeError(f"admin create-user printed no enrolment code for {role}")
    return {"login": login, "role": role, "enrolment_code": enrolment}


def sign_in(base, account):
    """A session token for `account`: the first time, its owner enrols with the enrolment code
    (POST /enrolment gives the authenticator's secret; /enrolment/complete sets the password and
    signs in); afterwards, a sign-in with the password and the current TOTP code."""
    if "password" not in account:
        status, body = request(
            "POST",
            f"{base}/v1/{TENANT}/enrolment",
            body={"login": account["login"], "enrolment_code": account["enrolment_code"]},
        )
        if status not in (200, 201) or "totp_secret_base32" not in (body or {}):
            raise RuntimeError(f"enrolling {account['role']} answered {status}: {body}")
        secret = body["totp_secret_base32"]
        password = f"probe {uuid.uuid4().hex} keeps {uuid.uuid4().hex[:12]}"
        status, body = request(
            "POST",
            f"{base}/v1/{TENANT}/enrolment/complete",
            body={
                "login": account["login"],
                "enrolment_code": account["enrolment_code"],
                "password": password,
                "code": totp(secret),
            },
        )
        if status not in (200, 201) or "token" not in (body or {}):
            raise RuntimeError(f"completing the enrolment of {account['role']} answered {status}: {body}")
        account.update(password=password, secret=secret)
        return body["token"]
    status, body = request(
        "POST",
        f"{base}/v1/{TENANT}/sessions",
        body={"login": account["login"], "password": account["password"], "code": totp(account["secret"])},
    )
    if status not in (200, 201) or "token" not in (body or {}):
        raise RuntimeError(f"signing in {account['role']} answered {status}: {body}")
    return body["token"]


def token_for_role(kokuho, base, role):
    """A signed-in token for a fresh account of `role` (the account is made on the command line,
    which the ledger allows while `serve` runs)."""
    return sign_in(base, create_account(kokuho, role))


def request(method, url, token=None, key=None, body=None, timeout=30):
    """One HTTP request: (status, parsed JSON body or None). Connection errors raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"accept": "application/json"}
    if data is not None:
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = f"Bearer {token}"
    if key:
        headers["idempotency-key"] = key
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
