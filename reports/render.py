"""Render a report (plain data from `build.build_report`) as HTML, PDF, JSON or CSV.

Message text is hostile input: HTML goes through Jinja2 with autoescape on (never |safe on
message data), and CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from detector.errors import ConfigError
from detector.text.display import describe, segments

from .schema import validate_report

FORMATS = ("html", "pdf", "json", "csv")
TEMPLATES = Path(__file__).parent / "templates"
ARABIC_FONTS = ("Noto Naskh Arabic", "Noto Sans Arabic")
TLP_COLOURS = {"CLEAR": "#ffffff", "GREEN": "#33ff00", "AMBER": "#ffc000", "AMBER+STRICT": "#ffc000", "RED": "#ff2b2b"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("case", "tlp", "message_id", "external_id", "platform", "channel_name", "channel_id", "sender_name",
               "sender_id", "sent_local", "sent_utc", "language", "text", "translation", "signals", "raw_sha256",
               "text_sha256", "export_file", "export_sha256", "photo_sha256", "photo_pdq", "model_version", "score",
               "decisions", "reviewers", "notice")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def font_file(family: str) -> Path:
    """The font file fontconfig has for `family`; ConfigError when only a substitute exists."""
    try:
        found = subprocess.run(["fc-match", "--format=%{family}\n%{file}", family], capture_output=True,
                               text=True, check=True, timeout=30).stdout.split("\n")
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"cannot run fc-match to find the font {family!r}: {exc}") from exc
    if len(found) < 2 or family not in found[0].split(","):
        raise ConfigError(f"the font {family!r} is not installed (Debian: apt install fonts-noto-core); "
                          "PDF reports need it to shape Arabic, Persian and Kurdish")
    return Path(found[1])


def font_css(embed: bool) -> Markup:
    """@font-face rules for the Arabic-script fonts: files for the PDF, local() names for HTML."""
    rules = []
    for family in ARABIC_FONTS:
        source = f'url("{font_file(family).as_uri()}")' if embed else f'local("{family}")'
        rules.append(f'@font-face {{ font-family: "{family}"; src: {source}; }}')
    return Markup("\n".join(rules))  # built here from fontconfig paths, never from message data


def to_html(report: dict[str, Any], photo_uris: dict[int, str], *, for_pdf: bool = False) -> str:
    """The report as one self-contained HTML page; `photo_uris` maps media ids to inlined (data:) photos."""
    return _environment().get_template("report.html").render(
        r=report, describe=describe, segments=segments, photo_uris=photo_uris, font_css=font_css(embed=for_pdf),
        tlp_colour=TLP_COLOURS[report["case"]["tlp"]])


def to_pdf(report: dict[str, Any], photo_uris: dict[int, str], attachments: dict[str, bytes] | None = None) -> bytes:
    """The report as tagged PDF/A-3a (WeasyPrint; Noto Arabic-script fonts shape ar, fa, ckb and kmr text).

    Tagged, so screen readers and archives read it in logical order; `attachments` (name -> bytes, e.g.
    the JSON report) are embedded as PDF/A-3 associated files with the relationship `Data`.
    """
    import io

    from weasyprint import HTML, Attachment

    files = [Attachment(file_obj=io.BytesIO(data), name=name, relationship="Data",
                        description=f"{name} of {report['case']['ref']}")
             for name, data in (attachments or {}).items()]
    return HTML(string=to_html(report, photo_uris, for_pdf=True)).write_pdf(
        pdf_variant="pdf/a-3a", attachments=files)


def to_json(report: dict[str, Any]) -> bytes:
    """The report as JSON, validated against reports/report.schema.json first."""
    validate_report(report)
    return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: values starting with = + - @ (or a tab/CR) get a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_row(report: dict[str, Any], m: dict[str, Any]) -> list[str]:
    values = {
        "case": report["case"]["ref"], "tlp": report["case"]["tlp"], "message_id": m["message_id"],
        "external_id": m["external_id"], "platform": m["platform"], "channel_name": m["channel"]["name"],
        "channel_id": m["channel"]["id"], "sender_name": m["sender"]["name"], "sender_id": m["sender"]["id"],
        "sent_local": m["sent_local"], "sent_utc": m["sent_utc"], "language": m["language"], "text": m["text"],
        "translation": m["translation"], "signals": "; ".join(describe(s) for s in m["signals"]),
        "raw_sha256": m["hashes"]["raw_sha256"], "text_sha256": m["hashes"]["text_sha256"],
        "export_file": m["export_file"]["name"], "export_sha256": m["export_file"]["sha256"],
        "photo_sha256": " ".join(p["sha256"] or "" for p in m["photos"]),
        "photo_pdq": " ".join(p["pdq"] or "" for p in m["photos"]),
        "model_version": m["score"]["model_version"] if m["score"] else "",
        "score": f"{m['score']['probability']:.4f}" if m["score"] else "",
        "decisions": "; ".join(f"{d['role']} {d['user']} {d['decision']} {d['at']}" for d in m["decisions"]),
        "reviewers": ", ".join(m["reviewers"]), "notice": report["notice"],
    }
    return [safe_cell(values[column]) for column in CSV_COLUMNS]


def to_csv(report: dict[str, Any]) -> bytes:
    """One row per message (UTF-8 with BOM so spreadsheets read Arabic script), formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(report, m) for m in report["messages"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
