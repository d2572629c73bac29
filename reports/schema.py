"""The JSON Schema of referral reports (reports/report.schema.json) and validation against it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from detector.errors import DetectorError

SCHEMA_PATH = Path(__file__).parent / "report.schema.json"


class InvalidReport(DetectorError):
    """A report does not follow reports/report.schema.json."""


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_errors(report: Any) -> list[str]:
    """Every way `report` breaks the schema, as 'path: problem' lines (empty when valid)."""
    errors = sorted(_validator().iter_errors(report), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]


def validate_report(report: Any) -> None:
    errors = schema_errors(report)
    if errors:
        raise InvalidReport(f"the report does not follow {SCHEMA_PATH.name}: " + "; ".join(errors[:5]))
