"""docs/deploy.md as written: its tested shell blocks run in order against the test PostgreSQL (create the
database, back it up, restore and verify the copy, upgrade), and its systemd units pass
`systemd-analyze verify` and start from their ExecStart lines."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_receivers import free_port
from reports_support import build_world
from sqlalchemy import create_engine, text

DOC = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("DETECTOR_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not POSTGRES_URL or not shutil.which("pg_dump"),
                                reason="needs DETECTOR_TEST_POSTGRES_URL and the PostgreSQL client tools")


def marked_blocks() -> list[str]:
    """The shell blocks the doc marks `<!-- tested -->`, in order."""
    return re.findall(r"<!-- tested -->\n```sh\n(.*?)```", DOC.read_text(), re.DOTALL)


def units() -> dict[str, str]:
    """The systemd unit files in the doc, by the file name the text before each gives."""
    return dict(re.findall(r"`/etc/systemd/system/([\w-]+\.service)`:\n\n```ini\n(.*?)```", DOC.read_text(), re.DOTALL))


def bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def site(tmp_path) -> Iterator[dict[str, str]]:
    """The doc's settings for a throwaway role and database on the test server; dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    server = admin.url.set(drivername="postgresql+psycopg")
    user, password = f"detector_doc_{suffix}", secrets.token_hex(12)
    env = {
        **os.environ, "PATH": f"{BIN}:{os.environ['PATH']}",
        "PG_ADMIN": admin.url.set(drivername="postgresql").render_as_string(hide_password=False),
        "DB_NAME": f"detector_doc_{suffix}", "DB_USER": user, "DB_PASSWORD": password,
        "DETECTOR_DATABASE_URL": server.set(username=user, password=password, database=f"detector_doc_{suffix}")
        .render_as_string(hide_password=False),
        "DETECTOR_EVIDENCE_DIR": str(tmp_path / "srv" / "evidence"), "BACKUP_DIR": str(tmp_path / "backup"),
        "RESTORE_DB": f"detector_restore_{suffix}", "RESTORE_DIR": str(tmp_path / "restore-check"),
        "ADMIN_NAME": "olga", "ADMIN_PASSWORD": secrets.token_hex(8), "DETECTOR_ACTOR": "olga",
        "DETECTOR_INBOX": str(tmp_path / "inbox"), "DETECTOR_MODELS_DIR": str(tmp_path / "no-models"),
        "HOME": str(tmp_path),
    }
    try:
        yield env
    finally:
        with admin.connect() as conn:
            for name in (env["DB_NAME"], env["RESTORE_DB"]):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{user}"'))
        admin.dispose()


def test_the_tested_blocks_set_up_back_up_restore_verify_and_upgrade(site, tmp_path):
    settings, create, backup, restore, upgrade = marked_blocks()
    made = bash(settings + create, site)
    assert made.returncode == 0, made.stderr
    assert "olga" in bash(settings + "detector users list", site).stdout

    world = build_world(site["DETECTOR_DATABASE_URL"], Path(site["DETECTOR_EVIDENCE_DIR"]))  # the team's work
    site["REPORT"] = str(tmp_path / "report.json")
    case = bash(settings + f"ref=$(detector case open --messages {world.reposts[0]} --tlp AMBER | grep -o 'CASE-[0-9-]*')\n"
                'detector report "$ref" --format json --out "$REPORT"', site)
    assert case.returncode == 0 and Path(site["REPORT"]).stat().st_size > 0, case.stderr

    checked = bash(settings + backup + restore, site)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert list(Path(site["BACKUP_DIR"]).glob("*/detector.dump")) and not Path(site["RESTORE_DIR"]).exists()
    tampered = next(p for p in Path(site["DETECTOR_EVIDENCE_DIR"]).rglob("*") if p.is_file() and p.suffix == ".json")
    tampered.chmod(0o600)
    tampered.write_bytes(tampered.read_bytes() + b" ")
    broken = bash(settings + backup + restore, site)  # a backup of damaged evidence fails its check
    assert broken.returncode != 0 and tampered.name[:12] in broken.stdout + broken.stderr
    tampered.write_bytes(tampered.read_bytes()[:-1])

    upgraded = bash(settings + upgrade, site)
    assert upgraded.returncode == 0, upgraded.stderr


def test_the_units_verify_and_their_services_start_and_stop(site, tmp_path):
    found = units()
    assert set(found) == {"detector-web.service", "detector-watch.service"}
    settings, create = marked_blocks()[:2]
    assert bash(settings + create, site).returncode == 0
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={site[k]}\n" for k in ("DETECTOR_DATABASE_URL", "DETECTOR_EVIDENCE_DIR",
                                                           "DETECTOR_INBOX", "DETECTOR_ACTOR")))
    port = free_port()
    commands = {}
    for name, unit in found.items():
        unit = unit.replace("/opt/detector/venv/bin/", f"{BIN}/").replace("/etc/detector/env", str(env_file))
        unit = unit.replace("--port 8000", f"--port {port}")  # the one change: a free port for the test
        (tmp_path / name).write_text(unit)
        analysed = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)], capture_output=True, text=True)
        assert analysed.returncode == 0 and "Unknown" not in analysed.stderr, analysed.stderr
        line = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE)[1]
        commands[name] = re.sub(r"\$\{(\w+)\}", lambda m: site[m[1]], line).split()

    log = tmp_path / "watch.log"
    web = subprocess.Popen(commands["detector-web.service"], env=site, stderr=(tmp_path / "web.log").open("w"))
    watch = subprocess.Popen(commands["detector-watch.service"], env=site, stderr=log.open("w"))
    try:
        assert _status(port, "detector.example.org", web) == 200  # through the proxy's Host, as HTTPS
        assert _status(port, "evil.example", web) == 400  # other Host headers are refused
        deadline = time.monotonic() + 60
        while not ("watch pass: 0 new file(s)" in log.read_text() and "alerts: 0 queued" in log.read_text()):
            assert time.monotonic() < deadline, log.read_text()  # the alert jobs run in the same service
            time.sleep(0.3)
    finally:
        for process in (web, watch):
            process.send_signal(signal.SIGTERM)  # what `systemctl stop` sends
            process.wait(timeout=60)
    assert (web.returncode, watch.returncode) == (0, 0), (tmp_path / "web.log").read_text() + log.read_text()
    assert "watch stopped" in log.read_text()


def _status(port: int, host: str, server: subprocess.Popen[bytes]) -> int:
    """GET /login from the proxy's address with the headers nginx sets, once the workers answer."""
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login", headers={"Host": host, "X-Forwarded-Proto": "https",
                                                   "X-Forwarded-For": "203.0.113.7"})
            return conn.getresponse().status
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.3)
