"""Contacts: phone numbers (E.164), Telegram usernames and links, WhatsApp links, e-mails.

Phone numbers are validated with `phonenumbers`. Local numbers (no country code) get their
region from the prefix and length: 07xx xxx xxxx -> IQ, 09xx xxx xxxx -> IR and 09xx xxx xxx
-> SY, 05xx xxx xx xx -> TR and 05x xxx xxxx -> SA (AE when the text speaks of the Emirates),
eight digits -> KW or LB; otherwise the first region among IQ SY TR IR KW SA AE JO LB where
the number is valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

__all__ = ["find_contacts", "REGIONS"]

REGIONS = ("IQ", "SY", "TR", "IR", "KW", "SA", "AE", "JO", "LB")
_COUNTRY_CODES = ("964", "963", "90", "98", "965", "966", "971", "962", "961")

_EMAIL = re.compile(r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?![\w])")
_TELEGRAM = re.compile(r"(?<![\w/.])(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:joinchat/|\+)?[\w-]{3,}", re.ASCII)
_WHATSAPP = re.compile(
    r"(?<![\w/.])(?:https?://)?(?:(?:wa\.me/\+?\d{6,15})|(?:chat\.whatsapp\.com/[\w-]{6,})"
    r"|(?:api\.whatsapp\.com/send\?phone=\+?\d{6,15}))", re.ASCII)
_USERNAME = re.compile(r"(?<![\w@./])@([a-z][a-z0-9_]{3,31})(?![\w@.]*\.[a-z]{2,})(?!\w)", re.ASCII)
_PHONE = re.compile(r"(?<![\w+.,/])(?:\+|00)?\(?\d[\d().\-\s\u00a0]{5,22}\d(?![\d,])(?!\.\d)")
_GROUP = re.compile(r"\+?\d+")
_EMIRATES = re.compile(r"dubai|uae|aed|emirat|sharjah|abu dhabi|دبي|امارات|درهم|ابوظبي|شارقة")


def _local_regions(digits: str, derived: str) -> tuple[str, ...]:
    n = len(digits)
    if digits.startswith("07"):
        return ("IQ", "JO") if n == 11 else ("JO", "IQ")
    if digits.startswith("09"):
        return ("IR",) if n == 11 else ("SY", "LB")
    if digits.startswith("05"):
        if n == 11:
            return ("TR",)
        return ("AE", "SA") if _EMIRATES.search(derived) else ("SA", "AE")
    if n == 8:
        return ("KW", "LB", "SY")
    return REGIONS


def _e164(number: str, derived: str) -> str | None:
    digits = number.lstrip("+")
    if number.startswith("+") or digits.startswith("00"):
        candidates = [("+" + digits.removeprefix("00"), None)]
    elif digits.startswith(_COUNTRY_CODES) and len(digits) >= 11:
        candidates = [("+" + digits, None)]
    else:
        candidates = [(digits, region) for region in _local_regions(digits, derived)]
    for text, region in candidates:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def _phones(derived: str, taken: list[tuple[int, int]]) -> Iterator[tuple[int, int, str, str]]:
    for m in _PHONE.finditer(derived):
        groups = list(_GROUP.finditer(m.group()))
        best = None
        # The longest run of digit groups that is a valid number, leftmost first.
        for size in range(len(groups), 0, -1):
            for i in range(len(groups) - size + 1):
                run = groups[i:i + size]
                digits = "".join(g.group() for g in run)
                if not 8 <= len(digits.lstrip("+")) <= 15:
                    continue
                a, b = m.start() + run[0].start(), m.start() + run[-1].end()
                if any(ta < b and a < tb for ta, tb in taken):
                    continue
                e164 = _e164(digits, derived)
                if e164:
                    best = (a, b, e164)
                    break
            if best:
                break
        if best:
            yield best[0], best[1], "phone", best[2]


def find_contacts(derived: str, taken: list[tuple[int, int]]) -> Iterator[tuple[int, int, str, str]]:
    """Spans, subtypes and values of contacts on the derived (lower-cased) text."""
    found: list[tuple[int, int, str, str]] = []

    def free(a: int, b: int) -> bool:
        return not any(ta < b and a < tb for ta, tb in taken)

    for m in _WHATSAPP.finditer(derived):
        link = m.group()
        found.append((m.start(), m.end(), "whatsapp_link", link if link.startswith("http") else "https://" + link))
    for m in _TELEGRAM.finditer(derived):
        link = re.sub(r"^(?:https?://)?(?:www\.)?(?:telegram|t)\.me/", "https://t.me/", m.group())
        found.append((m.start(), m.end(), "telegram_link", link))
    for m in _EMAIL.finditer(derived):
        found.append((m.start(), m.end(), "email", m.group()))
    taken.extend((a, b) for a, b, _, _ in found)
    for m in _USERNAME.finditer(derived):
        if free(*m.span()):
            found.append((m.start(), m.end(), "username", "@" + m.group(1)))
    for a, b, subtype, value in _phones(derived, taken):
        taken.append((a, b))
        found.append((a, b, subtype, value))
    return iter(found)
