"""Redaction rules (pure): victims' names and family phones masked, the seller's contacts kept."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError
from detector.text import analyse
from reports.redact import (FAMILY_PHONE_MASK, NAME_MASK, PHONE_MASK, PLACE_MASK, Masks, alert_masks, family_phone,
                            mask_label, mask_names, masked_phones, phone_mask, redact_message)
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
    assert family not in redacted and FAMILY_PHONE_MASK in redacted and seller in redacted


def test_marked_names_and_phones_are_masked_in_any_digits():
    text = "Layla is offered, contact ٠٧٧٠٥٥٥٠١٩٩ or layla's uncle"
    redacted = _redact(text, ["Layla", "+964 770 555 0199"])
    assert "ayla" not in redacted.replace(NAME_MASK, "") and redacted.count(NAME_MASK) == 2
    assert "٠١٩٩" not in redacted



@pytest.mark.parametrize("value, label", [
    ("Layla", NAME_MASK), ("Nadia Khalil", NAME_MASK), ("+964 750 123 4567", PHONE_MASK), ("٠٧٥٠١٢٣٤٥٦٧", PHONE_MASK),
    ("Sinjar", PLACE_MASK), ("الموصل", PLACE_MASK), ("@layla_k", "[username withheld]"),
    ("layla@example.com", "[email withheld]"), ("t.me/layla_family", "[link withheld]"),
    ("Erbil camp 4", NAME_MASK),  # a place only in part: masked, as a name
])
def test_each_marked_value_is_labelled_by_what_it_is(value, label):
    assert mask_label(value) == label


def test_masks_of_several_kinds_each_say_what_was_withheld():
    text = ("Layla from Sinjar, 15, for sale. her cousin on @layla_k. seller +964 770 555 0199. "
            "call +964 750 123 4567 or her mother on 0751 222 3333")
    signals = [s.to_dict() for s in analyse(text).signals]
    masks = Masks.from_values(["Layla", "Sinjar", "@layla_k", "+964 750 123 4567"])
    redacted, cleaned = redact_message(text, signals, masks)
    assert redacted == ("[name withheld] from [place withheld], 15, for sale. her cousin on [username withheld]. "
                        "seller +964 770 555 0199. call [phone withheld] or her mother on [family phone withheld]")
    values = {s["value"] for s in cleaned if s["type"] in ("contact", "place")}
    assert values == {"+9647705550199", "[username withheld]", PLACE_MASK, PHONE_MASK, FAMILY_PHONE_MASK}
    assert not any("Sinjar" in str(s) or "layla_k" in str(s) for s in cleaned)  # canonical values go too
    hidden = masked_phones(text, signals, masks)
    assert phone_mask("+9647512223333", hidden) == FAMILY_PHONE_MASK and phone_mask("07501234567", hidden) == PHONE_MASK
    assert phone_mask("+9647705550199", hidden) is None


def test_free_text_masks_marked_and_family_phones_by_kind():
    masks = Masks.from_values(["+964 750 123 4567", "Mosul"])
    note = "Seen in mosul; number 0750 123 4567. Her family can be reached on 0751 222 3333, seller 0770 555 0199"
    assert mask_names(note, masks) == ("Seen in [place withheld]; number [phone withheld]. Her family can be reached "
                                       "on [family phone withheld], seller 0770 555 0199")


def test_alert_masks_label_found_names_and_marked_places():
    masks = alert_masks("her name is Nour, from Mosul", ["Mosul"])
    assert dict(masks.texts) == {"Nour": NAME_MASK, "Mosul": PLACE_MASK}
    assert mask_names("her name is Nour, from Mosul", masks) == "her name is [name withheld], from [place withheld]"


def test_the_family_window_stops_at_a_clause_break():
    text = "family asks for news. seller 0770"
    assert not family_phone(text, text.index("0770")) and family_phone("her family 0770", 11)


def test_missing_fonts_and_invalid_reports_fail_clearly():
    with pytest.raises(ConfigError, match="is not installed .*fonts-noto-core"):
        font_file("No Such Font Family 123")
    with pytest.raises(InvalidReport, match="does not follow report.schema.json"):
        to_json({"format": "detector-referral-report/1"})
