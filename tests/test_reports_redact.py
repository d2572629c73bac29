"""Redaction rules (pure): victims' names and family phones masked, the seller's contacts kept."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError
from detector.text import analyse
from reports.redact import NAME_MASK, PHONE_MASK, Masks, family_phone, redact_message
from reports.render import font_file, to_json
from reports.schema import InvalidReport


def _redact(text: str, masked: list[str] | None = None) -> str:
    signals = [s.to_dict() for s in analyse(text).signals]
    return redact_message(text, signals, Masks.from_values(masked))[0]


@pytest.mark.parametrize("text, family, seller", [
    ("سبية للبيع ١٦ سنة، للتواصل 07705550199. عائلتها تبحث عنها اتصل 07501234567", "07501234567", "07705550199"),
    ("Girl 15 for sale, call 0770 555 0199. Missing since May, her mother: 0750 123 4567", "0750 123 4567", "0770 555 0199"),
])
def test_family_phones_are_masked_and_the_sellers_kept(text, family, seller):
    redacted = _redact(text)
    assert family not in redacted and PHONE_MASK in redacted and seller in redacted


def test_marked_names_and_phones_are_masked_in_any_digits():
    text = "Layla is offered, contact ٠٧٧٠٥٥٥٠١٩٩ or layla's uncle"
    redacted = _redact(text, ["Layla", "+964 770 555 0199"])
    assert "ayla" not in redacted.replace(NAME_MASK, "") and redacted.count(NAME_MASK) == 2
    assert "٠١٩٩" not in redacted


def test_the_family_window_stops_at_a_clause_break():
    text = "family asks for news. seller 0770"
    assert not family_phone(text, text.index("0770")) and family_phone("her family 0770", 11)


def test_missing_fonts_and_invalid_reports_fail_clearly():
    with pytest.raises(ConfigError, match="is not installed .*fonts-noto-core"):
        font_file("No Such Font Family 123")
    with pytest.raises(InvalidReport, match="does not follow report.schema.json"):
        to_json({"format": "detector-referral-report/1"})
