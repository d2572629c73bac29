"""docs/partners.md is a recipe partners can run: its code, its worked example and its OpenSSL
command agree with the signatures the alerts really carry."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.transport import signature

DOC = Path(__file__).resolve().parents[1] / "docs" / "partners.md"
SECRET, TIMESTAMP = "example-secret-0123456789", "1767225600"
BODY = b'{"delivery_id": "6f1c2a64-3d1e-4c37-9a52-8d0f3b7e9c11", "type": "test"}'


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def _documented_signature() -> str:
    return re.search(r"X-Signature: (sha256=[0-9a-f]{64})", DOC.read_text(encoding="utf-8"))[1]


def test_the_worked_example_is_what_we_send():
    assert _documented_signature() == signature(SECRET, TIMESTAMP, BODY)


def test_the_documented_python_check_accepts_ours_and_refuses_tampering_and_replays():
    namespace: dict = {}
    exec(_blocks("python")[0], namespace)  # the partner's code, as printed
    verify = namespace["verify"]
    sent = signature("a-real-secret-0123456789", "1800000000", b'{"items": []}')
    assert verify("a-real-secret-0123456789", "1800000000", sent, b'{"items": []}', now=1800000010)
    assert not verify("a-real-secret-0123456789", "1800000000", sent, b'{"items": [1]}', now=1800000010)
    assert not verify("a-real-secret-0123456789", "1800000001", sent, b'{"items": []}', now=1800000010)
    assert not verify("a-real-secret-0123456789", "1800000000", sent, b'{"items": []}', now=1800000301)
    assert verify(SECRET, TIMESTAMP, _documented_signature(), BODY, now=int(TIMESTAMP))
    assert not verify(SECRET, TIMESTAMP, _documented_signature(), BODY, now=int(TIMESTAMP) + 400)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_the_documented_openssl_command_prints_the_signature(tmp_path):
    [script] = _blocks("sh")
    out = subprocess.run(["sh", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "sha256=" + out.stdout.strip() == _documented_signature()


def test_partner_add_help_points_to_the_recipe():
    from click.testing import CliRunner

    from detector.cli import main

    for command in (["partner", "add", "--help"], ["partner", "rotate-secret", "--help"]):
        text = " ".join(CliRunner().invoke(main, command).output.split())
        assert 'docs/partners.md, section "Webhook signatures"' in text
