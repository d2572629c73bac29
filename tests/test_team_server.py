"""`detector serve --workers 2`: two uvicorn worker processes behind one port share, through the
database and the signed session cookie, the login limiter, the item leases and the CSRF tokens.

Which worker answered is read from the kernel, not from the app: the server-side socket of the
client's keep-alive connection belongs to exactly one worker process (psutil).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import select

from detector.db import open_database, session_scope
from detector.schema import User
from labeling_support import PASSWORD, Item, make_users, store_items

DETECTOR = str(Path(sys.executable).parent / "detector")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A running `detector serve --workers 2` and a way to hold a connection to each of its workers."""

    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc, self.port = proc, port
        self.base = f"http://127.0.0.1:{port}"

    def worker_of(self, response: httpx.Response) -> int:
        """The pid of the worker process holding the server end of the response's connection."""
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            for conn in child.net_connections(kind="tcp"):
                if conn.laddr and conn.raddr and conn.laddr.port == self.port and conn.raddr.port == client_port:
                    return child.pid
        raise AssertionError("no worker holds this connection")

    def workers(self) -> list[int]:
        """The pids of the two workers, once each has answered a request."""
        seen: set[int] = set()
        deadline = time.monotonic() + 120
        while len(seen) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=self.base) as client:
                seen.add(self.worker_of(client.get("/login")))
        assert len(seen) == 2, "the requests never reached a second worker"
        return sorted(seen)

    def client_on(self, pid: int, cookies: httpx.Cookies | None = None) -> httpx.Client:
        """A keep-alive client (with a copy of `cookies`) whose connection landed on worker `pid`."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            client = httpx.Client(base_url=self.base, cookies=cookies)
            if self.worker_of(client.get("/login")) == pid:
                return client
            client.close()
        raise AssertionError(f"no connection reached worker {pid}")


@pytest.fixture
def server(db_url, tmp_path) -> Iterator[Server]:
    engine = open_database(db_url)
    make_users(engine, ("ann", "analyst"), ("bob", "analyst"), ("carol", "analyst"))
    store_items(engine, [Item("offer one", probability=0.9), Item("offer two", probability=0.8)])
    engine.dispose()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DETECTOR_")}
    env["DETECTOR_EVIDENCE_DIR"] = str(tmp_path / "evidence")  # no DETECTOR_SECRET_KEY: workers share the file
    proc = subprocess.Popen([DETECTOR, "serve", "--db", db_url, "--port", str(port), "--workers", "2"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _answers(port):
            if proc.poll() is not None:
                pytest.fail(f"detector serve exited {proc.returncode}: {proc.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("detector serve --workers 2 did not start")
            time.sleep(0.2)
        yield Server(proc, port)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "2 worker processes" in out


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def csrf(response: httpx.Response) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
    assert found, "no CSRF token on the page"
    return found.group(1)


def on(server: Server, pid: int, response: httpx.Response) -> httpx.Response:
    """The response, after checking that the worker `pid` answered it."""
    assert server.worker_of(response) == pid
    return response


def log_in(server: Server, client: httpx.Client, pid: int, name: str, password: str = PASSWORD) -> int:
    token = csrf(on(server, pid, client.get("/login")))
    return on(server, pid, client.post("/login", data={"name": name, "password": password, "csrf_token": token})).status_code


def fresh_log_in(server: Server, pid: int, name: str, password: str = PASSWORD) -> int:
    """A login attempt on a new connection to worker `pid`; its status."""
    client = server.client_on(pid)
    try:
        return log_in(server, client, pid, name, password)
    finally:
        client.close()


def test_two_workers_share_lockouts_leases_and_csrf_tokens(server, db_url):
    """Each step sends its requests to one worker and the next to the other, on fresh connections."""
    pid_a, pid_b = server.workers()
    engine = open_database(db_url)

    # a session and its CSRF token made on one worker are honoured on the other
    ann = server.client_on(pid_a)
    assert log_in(server, ann, pid_a, "ann") == 303
    token = csrf(on(server, pid_a, ann.get("/settings")))
    ann = server.client_on(pid_b, ann.cookies)
    saved = on(server, pid_b, ann.post("/settings", data={"break_minutes": "7", "csrf_token": token}))
    assert saved.status_code == 303 and saved.headers["location"] == "/settings?saved=1"
    forged = on(server, pid_b, ann.post("/settings", data={"break_minutes": "9", "csrf_token": "forged"}))
    assert forged.status_code == 403
    with session_scope(engine) as s:
        assert s.scalar(select(User).where(User.name == "ann")).settings["break_minutes"] == 7

    # an item leased to ann through worker A is not handed to bob through worker B
    ann = server.client_on(pid_a, ann.cookies)
    taken = on(server, pid_a, ann.get("/next"))
    assert taken.status_code == 303
    ann_item = taken.headers["location"].split("?")[0]
    bob = server.client_on(pid_b)
    assert log_in(server, bob, pid_b, "bob") == 303
    other = on(server, pid_b, bob.get("/next"))
    assert other.status_code == 303 and other.headers["location"].split("?")[0] != ann_item
    page = on(server, pid_b, bob.get(ann_item))
    assert "is working on this item right now" in page.text and "<bdi>ann</bdi>" in page.text

    # failures counted by worker A lock the pair on worker B, even for the right password
    assert [fresh_log_in(server, pid_a, "carol", "wrong-password") for _ in range(5)] == [401] * 5
    assert fresh_log_in(server, pid_b, "carol") == 429
    engine.dispose()
    ann.close()
    bob.close()
