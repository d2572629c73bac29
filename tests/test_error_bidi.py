"""Names in error lines cannot reorder the terminal line (issue 15): a file or chat name with right-to-left
letters is isolated in FSI...PDI (U+2068/U+2069), its direction controls and line breaks are shown as escapes,
and a line still starts and reads left to right."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.errors import FSI, PDI, InputError, shown_name, terminal_line
from detector.ingest import telegram_json

DETECTOR = Path(sys.executable).with_name("detector")
ARABIC_RLO = "قناة\u202egnp.json"  # an Arabic name hiding a right-to-left override: "json.png" as shown
CONTROLS = {chr(c) for c in range(0x202A, 0x202F)} | {chr(c) for c in range(0x2066, 0x206A)}


def assert_isolated(line: str, name_shown: str) -> None:
    """The line holds `name_shown` in one FSI...PDI pair, no other direction control anywhere, and outside the
    isolate its first strong character is left to right (so the line's direction is the message's, not the name's)."""
    isolated = f"{FSI}{name_shown}{PDI}"
    assert line.count(isolated) == 1, line
    outside = line.replace(isolated, "")
    inside = name_shown
    assert not CONTROLS & set(outside) and not CONTROLS & set(inside), ascii(line)
    strong = [unicodedata.bidirectional(char) for char in outside if unicodedata.bidirectional(char) in ("L", "R", "AL")]
    assert strong and strong[0] == "L", ascii(line)


def test_ingest_error_lines_isolate_arabic_file_names_and_escape_what_cannot_be_shown(tmp_path):
    """One real run: an Arabic name with a direction override, and a name whose bytes are no UTF-8."""
    (tmp_path / ARABIC_RLO).write_bytes(b'{"name": "x", "id": 1, "messages": [')
    undecodable = os.fsencode(tmp_path) + b"/\xd9\x82\xff.json"  # an Arabic letter, then a byte that is no UTF-8
    with open(undecodable, "wb") as out:
        out.write(b"[1, 2]")
    env = {**os.environ, "DETECTOR_EVIDENCE_DIR": str(tmp_path / "evidence"), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([str(DETECTOR), "ingest", "--db", f"sqlite:///{tmp_path / 'd.db'}", "--json", "--no-analyse",
                           str(tmp_path / ARABIC_RLO), undecodable], capture_output=True, env=env, timeout=120)
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 1 and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, stderr
    override, undecoded = f"{tmp_path}/قناة\\u202egnp.json", f"{tmp_path}/\u0642\\udcff.json"
    assert errors[0].startswith(f"error: {FSI}{override}{PDI}: file ends early"), ascii(errors[0])
    assert errors[1].startswith(f"error: {FSI}{undecoded}{PDI}: JSON but not a Telegram export"), ascii(errors[1])
    assert_isolated(errors[0], override)
    assert_isolated(errors[1], undecoded)
    assert json.loads(done.stdout)["errors"] == [line.removeprefix("error: ") for line in errors]


def test_cli_group_error_isolates_the_name(tmp_path):
    target = tmp_path / "مجلد\u202e" / "corpus.jsonl"
    result = CliRunner().invoke(main, ["corpus", "--out", str(target), "--n", "3"])
    assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and lines[0].endswith(": folder does not exist"), result.output
    assert_isolated(lines[0], f"{tmp_path}/مجلد\\u202e/corpus.jsonl")


def test_a_chat_name_in_a_parser_error_is_isolated():
    data = '{"id": "سوق\u202e", "messages": {}}'.encode()
    with pytest.raises(InputError) as caught:
        list(telegram_json.parse(io.BytesIO(data), "result.json"))
    assert_isolated(str(caught.value), "'سوق\\u202e'")


@pytest.mark.parametrize("name, shown", [
    ("ok.json", "ok.json"),  # nothing to isolate: the message stays as it always was
    ("a\nb.json", "a\\nb.json"),  # one line
    ("قطة.json", f"{FSI}قطة.json{PDI}"),
    ("x\u2069\u202ey.json", "x\\u2069\\u202ey.json"),  # a name's own PDI cannot close the isolate early
    ("بیع\u200cکردن.txt", f"{FSI}بیع\u200cکردن.txt{PDI}"),  # Persian spelling keeps its zero-width non-joiner
])
def test_shown_name(name, shown):
    assert shown_name(name) == shown
    assert str(InputError(name, "bad")) == f"{shown}: bad"


def test_terminal_line_escapes_direction_controls_outside_isolated_names():
    message = f"case \u202eevil: {shown_name('قطة')} and \u2068open"
    assert terminal_line(message) == f"case \\u202eevil: {FSI}قطة{PDI} and \\u2068open"
