"""Hardening of the web queue: forwarded headers, bounded ids, session lifetime, hosts, demo accounts.

The `detector serve` tests run the real command in a subprocess and talk to it over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from base64 import b64decode, b64encode
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import itsdangerous
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.config import Settings
from detector.db import open_database, session_scope
from detector.schema import AuditEvent
from detector.text.cap import cap_text, truncation_note
from labeling.accounts import LoginLimiter
from labeling.app import create_app
from labeling.demo import ensure_demo_users
from labeling_support import PASSWORD, Item, csrf_of, login, make_users, store_items

SECRET = "h" * 40
HUGE = "99999999999999999999999"  # above 2**63
DETECTOR = str(Path(sys.executable).parent / "detector")


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key=SECRET)


def make_app(settings: Settings, **options):
    application = create_app(settings, **options)
    make_users(application.state.engine, ("ann", "analyst"), ("rev", "reviewer"))
    return application


@pytest.fixture
def app(settings):
    application = make_app(settings)
    yield application
    application.state.engine.dispose()


def addresses(engine, action: str) -> list[str]:
    with session_scope(engine) as s:
        found = s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [event.after["address"] for event in found]


# --------------------------------------------------------------------------- `detector serve` in a subprocess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DETECTOR_") and k != "FORWARDED_ALLOW_IPS"}
    return {**env, "DETECTOR_EVIDENCE_DIR": str(folder / "evidence"), "DETECTOR_SECRET_KEY": SECRET}


def serve_command(url: str, port: int, *options: str) -> list[str]:
    return [DETECTOR, "serve", "--db", url, "--port", str(port), *options]


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """Start `detector serve` with options on a SQLite file; yields (base URL, engine) once it listens."""
    started: list[subprocess.Popen] = []

    def start(*options: str, demo: bool = False) -> tuple[str, object]:
        url = f"sqlite:///{tmp_path}/serve.db"
        engine = open_database(url)
        make_users(engine, ("ann", "analyst"))
        if demo:
            ensure_demo_users(engine)
        port = free_port()
        proc = subprocess.Popen(serve_command(url, port, *options), cwd=tmp_path, env=serve_env(tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"detector serve exited {proc.returncode}: {proc.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}", engine
            except OSError:
                time.sleep(0.1)
        pytest.fail("detector serve did not start listening")

    yield start
    for proc in started:
        proc.terminate()
        proc.communicate(timeout=15)


def post_login(client: httpx.Client, name: str, password: str, forwarded_for: str) -> httpx.Response:
    token = csrf_of(client)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                       headers={"X-Forwarded-For": forwarded_for})


# --------------------------------------------------------------------------- 1. forwarded headers


def test_serve_ignores_forwarded_for_unless_from_a_configured_proxy(start_server):
    base, engine = start_server()
    with httpx.Client(base_url=base) as client:
        for n in range(20):  # a rotating header and rotating names: only the address limit can stop it
            assert post_login(client, f"nobody{n}", "wrong-password", f"203.0.113.{n}").status_code == 401
        blocked = post_login(client, "nobody99", "wrong-password", "203.0.113.99")
        assert blocked.status_code == 429 and "too many failed logins from this address" in blocked.text.lower()
    assert set(addresses(engine, "login_failed")) == {"127.0.0.1"}  # the audit log keeps the real peer


def test_serve_trusts_forwarded_for_from_listed_proxies(start_server):
    base, engine = start_server("--forwarded-allow-ips", "10.9.9.9, 127.0.0.1")
    with httpx.Client(base_url=base) as client:
        assert post_login(client, "nobody", "wrong-password", "198.51.100.7").status_code == 401
    assert addresses(engine, "login_failed") == ["198.51.100.7"]


def test_app_honours_forwarded_for_only_from_its_proxies(settings):
    application = make_app(settings, forwarded_allow_ips=["192.0.2.1"], limiter=LoginLimiter(per_address=2))

    def attempt(client: TestClient, name: str, forwarded_for: str) -> int:
        token = csrf_of(client)
        return client.post("/login", data={"name": name, "password": "wrong-password", "csrf_token": token},
                           headers={"X-Forwarded-For": forwarded_for}).status_code

    proxy, stranger = (TestClient(application, client=(host, 4000)) for host in ("192.0.2.1", "192.0.2.50"))
    assert attempt(proxy, "x", "198.51.100.7") == 401
    assert [attempt(stranger, f"x{n}", f"203.0.113.{n}") for n in range(3)] == [401, 401, 429]
    assert addresses(application.state.engine, "login_failed") == ["198.51.100.7", "192.0.2.50", "192.0.2.50"]
    application.state.engine.dispose()


# --------------------------------------------------------------------------- 2. bounded ids


def bounded_requests(mid: int) -> list[tuple[str, str, dict[str, str]]]:
    """Every route with an int in its path, query or form, sent a value beyond 64 bits."""
    return [
        ("GET", f"/items/{HUGE}", {}),
        ("GET", f"/items/{HUGE}/next", {}),
        ("GET", f"/items/{HUGE}/prev", {}),
        ("POST", f"/items/{HUGE}/decision", {"decision": "listing", "role": "analyst"}),
        ("POST", f"/api/items/{HUGE}/decision", {}),
        ("GET", f"/media/{HUGE}", {}),
        ("POST", f"/media/{HUGE}/reveal", {}),
        ("GET", f"/clusters/{HUGE}", {}),
        ("GET", f"/entities/{HUGE}", {}),
        ("GET", f"/cases/{HUGE}", {}),
        ("POST", f"/cases/{HUGE}/report", {"format": "json"}),
        ("GET", f"/queue?page={HUGE}", {}),
        ("GET", f"/review?page={HUGE}", {}),
        ("GET", f"/queue?page={'9' * 5000}", {}),
        ("GET", f"/queue?source={HUGE}", {}),
        ("GET", f"/next?source={HUGE}", {}),
        ("GET", f"/api/queue?source={HUGE}", {}),
        ("GET", f"/items/{mid}?reveal={'9' * 5000}", {}),
        ("POST", "/cases", {"messages": HUGE, "tlp": "AMBER"}),
        ("POST", "/cases", {"cluster_id": HUGE, "tlp": "AMBER"}),
        ("POST", "/cases", {"entity_id": HUGE, "tlp": "AMBER"}),
        ("POST", "/settings", {"break_minutes": "\u00b2"}),
        ("POST", "/settings", {"break_minutes": "9" * 5000}),
    ]


def test_ids_beyond_64_bits_are_404_or_400_never_500(app):
    [mid] = store_items(app.state.engine, [Item("offer")])
    client = TestClient(app, raise_server_exceptions=False)
    assert login(client, "rev").status_code == 303
    token = csrf_of(client, "/settings")
    for method, path, form in bounded_requests(mid):
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        elif path.startswith("/api/"):
            response = client.post(path, json={"decision": "listing", "role": "reviewer"},
                                   headers={"X-CSRF-Token": token})
        else:
            response = client.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
        assert response.status_code in (400, 404), (method, path[:60], response.status_code)
    assert client.get(f"/items/{mid}").status_code == 200
    assert client.get(f"/items/{2**31 - 1}").status_code == 404  # the largest id is merely absent
    assert client.get(f"/items/{2**31}").status_code == 404  # beyond PostgreSQL's INTEGER: refused, never 500


# --------------------------------------------------------------------------- 3. absolute session lifetime


def with_login_at(client: TestClient, login_at: datetime, secret: str = SECRET) -> None:
    """Re-sign the client's session cookie with an earlier login time (as if the user kept it active)."""
    signer = itsdangerous.TimestampSigner(secret)
    data = json.loads(b64decode(signer.unsign(client.cookies["detector_session"])))
    data["login_at"] = login_at.isoformat()
    cookie = next(c for c in client.cookies.jar if c.name == "detector_session")
    client.cookies.set("detector_session", signer.sign(b64encode(json.dumps(data).encode())).decode(),
                       domain=cookie.domain, path=cookie.path)


def test_a_session_ends_after_its_absolute_lifetime(app):
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    with_login_at(client, datetime.now(timezone.utc) - timedelta(hours=11))
    assert client.get("/queue").status_code == 200
    with_login_at(client, datetime.now(timezone.utc) - timedelta(days=32))
    gone = client.get("/queue", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    api = client.get("/api/stats")
    assert api.status_code == 401
    assert "detector_session" not in client.cookies  # the ended session's cookie is dropped
    assert login(client, "ann").status_code == 303
    with_login_at(client, datetime.now(timezone.utc) - timedelta(hours=13))
    assert client.get("/api/stats").status_code == 401  # the default lifetime is 12 hours


def test_the_session_lifetime_is_configurable(settings):
    application = make_app(settings, session_hours=1)
    client = TestClient(application)
    assert login(client, "ann").status_code == 303
    with_login_at(client, datetime.now(timezone.utc) - timedelta(minutes=30))
    assert client.get("/api/stats").status_code == 200
    with_login_at(client, datetime.now(timezone.utc) - timedelta(minutes=61))
    assert client.get("/api/stats").status_code == 401
    application.state.engine.dispose()


# --------------------------------------------------------------------------- 4. host header


def test_trailing_slash_redirect_is_relative(app):
    client = TestClient(app)
    for path, target in (("/queue/", "/queue"), ("/stats/?a=1", "/stats?a=1")):
        response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert response.status_code in (301, 302, 303, 307, 308)
        assert response.headers["location"] == target
    assert "evil" not in client.get("/queue", headers={"Host": "evil.example"}, follow_redirects=False).headers["location"]


def test_allowed_hosts_are_enforced(settings):
    application = make_app(settings, allowed_hosts=["queue.example", "testserver"])
    client = TestClient(application)
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "queue.example"}).status_code == 200
    assert client.get("/login").status_code == 200
    application.state.engine.dispose()


def test_serve_answers_only_local_hosts_by_default(start_server):
    base, _ = start_server()
    port = base.rsplit(":", 1)[1]
    with httpx.Client(base_url=base) as client:
        assert client.get("/login").status_code == 200
        assert client.get("/login", headers={"Host": f"localhost:{port}"}).status_code == 200
        assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
        slash = client.get("/queue/", headers={"Host": f"localhost:{port}"})
        assert slash.headers["location"] == "/queue"


def test_serve_allowed_hosts_option(start_server):
    base, _ = start_server("--allowed-hosts", "queue.example,*.corp.example")
    with httpx.Client(base_url=base) as client:
        assert client.get("/login", headers={"Host": "queue.example"}).status_code == 200
        assert client.get("/login", headers={"Host": "a.corp.example"}).status_code == 200
        assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


# --------------------------------------------------------------------------- 5. demo accounts


def run_serve(tmp_path: Path, options: Sequence[str], demo: bool) -> subprocess.CompletedProcess:
    url = f"sqlite:///{tmp_path}/serve.db"
    engine = open_database(url)
    make_users(engine, ("ann", "analyst"))
    if demo:
        ensure_demo_users(engine)
    engine.dispose()
    return subprocess.run(serve_command(url, free_port(), *options), cwd=tmp_path, env=serve_env(tmp_path),
                          capture_output=True, text=True, timeout=30)


def test_serve_refuses_a_public_host_while_demo_accounts_exist(tmp_path):
    try:
        done = run_serve(tmp_path, ["--host", "0.0.0.0"], demo=True)
    except subprocess.TimeoutExpired:
        pytest.fail("detector serve started on 0.0.0.0 with the demo accounts")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "demo accounts" in lines[0] and "--allow-demo-accounts" in lines[0] and "127.0.0.1" in lines[0]


def test_serve_starts_with_demo_accounts_when_allowed(start_server):
    base, _ = start_server("--host", "0.0.0.0", "--allow-demo-accounts", demo=True)
    assert httpx.get(f"{base}/login").status_code == 200


def test_serve_starts_demo_accounts_on_loopback(start_server):
    base, _ = start_server(demo=True)
    assert httpx.get(f"{base}/login").status_code == 200


# --------------------------------------------------------------------------- lock-outs are no denial of service

USUAL = "198.51.100.10"  # the address ann logs in from


def login_from(application, address: str, name: str, password: str = "") -> int:
    """One login attempt from `address` (the right password unless one is given); its status."""
    client = TestClient(application, client=(address, 4000))
    return login(client, name, password or PASSWORD).status_code


def test_strangers_cannot_lock_an_analyst_out_of_her_usual_address(settings):
    application = make_app(settings, limiter=LoginLimiter(per_pair=3, per_address=5, per_account=10))
    assert login_from(application, USUAL, "ann") == 303  # her usual address, remembered
    guesses = [login_from(application, f"203.0.113.{n}", "ann", "wrong-password") for n in range(20) for _ in range(3)]
    assert guesses.count(401) == 10 and set(guesses) == {401, 429}  # the account-wide limit ends the guessing
    assert login_from(application, "203.0.113.99", "ann") == 429  # even a right guess from a fresh address
    assert login_from(application, USUAL, "ann") == 303  # while ann still logs in as usual
    assert login_from(application, "192.0.2.77", "rev") == 303  # and other accounts are untouched
    application.state.engine.dispose()


def test_the_pair_limit_still_stops_a_guesser_at_one_address(settings):
    application = make_app(settings, limiter=LoginLimiter(per_pair=3))
    assert [login_from(application, "203.0.113.5", "ann", "wrong-password") for _ in range(4)] == [401, 401, 401, 429]
    assert login_from(application, "203.0.113.5", "ann") == 429  # the right password waits too, from there
    page = TestClient(application, client=("203.0.113.5", 4000))
    assert "from this address; wait 15 minutes" in login(page, "ann").text
    application.state.engine.dispose()


def test_a_typo_then_a_login_clears_the_pair(settings):
    application = make_app(settings, limiter=LoginLimiter(per_pair=3))
    for _ in range(3):
        assert [login_from(application, USUAL, "ann", "wrong-password") for _ in range(2)] == [401, 401]
        assert login_from(application, USUAL, "ann") == 303
    application.state.engine.dispose()


def test_the_limiter_is_kept_in_the_database_for_every_process(settings):
    """Two apps on one database (as two server processes) share the counts; the window ends them."""
    first = make_app(settings, limiter=LoginLimiter(per_pair=2))
    second = create_app(settings, limiter=LoginLimiter(per_pair=2))
    assert [login_from(first, "203.0.113.5", "ann", "wrong-password") for _ in range(2)] == [401, 401]
    assert login_from(second, "203.0.113.5", "ann") == 429
    limiter, later = LoginLimiter(per_pair=2), datetime.now(timezone.utc) + timedelta(seconds=901)
    with session_scope(second.state.engine) as s:
        assert limiter.counts(s, "ann", "203.0.113.5", datetime.now(timezone.utc)).pair == 2
        assert limiter.counts(s, "ann", "203.0.113.5", later).pair == 0  # a sliding 15-minute window
    for application in (first, second):
        application.state.engine.dispose()


# --------------------------------------------------------------------------- bounded message size

LONG_LINE = "girl for sale 15 years 0770 " * 40_000  # 1.12 million characters on one WhatsApp line


def test_a_huge_message_is_stored_cut_with_its_original_bytes_whole(settings, tmp_path):
    from detector.ingest.evidence import EvidenceStore
    from detector.ingest.originals import original_bytes
    from detector.ingest.run import ingest_paths
    from detector.schema import Message, Score

    export = tmp_path / "chat.txt"
    export.write_text(f"12/9/20, 23:55 - Ali: hello\n12/9/20, 23:56 - Ali: {LONG_LINE}\n", encoding="utf-8")
    settings = settings.with_(max_text_chars=5000)
    engine = open_database(settings.database_url)
    assert ingest_paths(engine, settings, [export]).errors == []
    with session_scope(engine) as s:
        small, big = s.scalars(select(Message).order_by(Message.id)).all()
        assert (small.text, small.text_length) == ("hello", None)
        assert big.text == LONG_LINE[:5000] and big.text_length == len(LONG_LINE)
        whole = original_bytes(EvidenceStore(settings.evidence_dir), big)
        assert LONG_LINE.encode() in whole and hashlib.sha256(whole).hexdigest() == big.raw_sha256
        s.add(Score(message_id=big.id, model_version="t", probability=0.9, flagged=True, tier="fast", reasons=[]))
        big_id, raw_length, raw_sha256 = big.id, big.raw_length, big.raw_sha256
    engine.dispose()
    application = make_app(settings)
    client = TestClient(application)
    login(client, "ann")
    page = client.get(f"/items/{big_id}")
    assert page.status_code == 200 and len(page.content) < 200_000  # not the 1 MB text
    application.state.engine.dispose()
    note = truncation_note(len(LONG_LINE), raw_length, raw_sha256, 5000)
    assert note and "5,000 of 1,120,000 characters" in note and raw_sha256 in note and f"{raw_length:,} bytes" in note


def test_the_text_cap_is_configurable_and_checked(tmp_path):
    env = {**serve_env(tmp_path), "DETECTOR_MAX_TEXT_CHARS": "lots"}
    done = subprocess.run([DETECTOR, "ingest", "--db", f"sqlite:///{tmp_path}/x.db", str(tmp_path)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.strip().count("\n") == 0
    assert "DETECTOR_MAX_TEXT_CHARS must be a whole number" in done.stderr and "Traceback" not in done.stderr
    assert Settings.from_env().max_text_chars == 65_536
    assert cap_text("abc", 3) == ("abc", None) and cap_text("abcd", 3) == ("abc", 4)
