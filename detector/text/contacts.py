"""Contacts: phone numbers (E.164), Telegram usernames and links, WhatsApp links, e-mails.

Phone numbers are validated with `phonenumbers`. Local numbers (no country code) get their
region from the prefix and length: 07xx xxx xxxx -> IQ, 07x xxx xxxx -> JO, 09xx xxx xxxx ->
IR, 09xx xxx xxx -> SY, 05xx xxx xx xx -> TR, 05x xxx xxxx -> SA (AE when the text speaks of
the Emirates), eight digits from 5, 6 or 9 -> KW, 03/7x/81 -> LB. Anything else is no phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from detector.text.spans import SpanSet

__all__ = ["find_handles", "find_phones"]

# Country codes of IQ SY TR IR KW SA AE JO LB, recognised even without "+" or "00".
_COUNTRY_CODES = ("964", "963", "90", "98", "965", "966", "971", "962", "961")

_EMAIL = re.compile(r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,6}\.[a-z]{2,24}(?!\w)")
_TELEGRAM = re.compile(r"(?<![\w/.])(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:joinchat/|\+)?[\w-]{3,}", re.ASCII)
_WHATSAPP = re.compile(
    r"(?<![\w/.])(?:https?://)?(?:(?:wa\.me/\+?\d{6,15})|(?:chat\.whatsapp\.com/[\w-]{6,})"
    r"|(?:api\.whatsapp\.com/send\?phone=\+?\d{6,15}))", re.ASCII)
_USERNAME = re.compile(r"(?<![\w@./])@([a-z][a-z0-9_]{4,31})(?![\w@.]*\.[a-z]{2,})(?!\w)", re.ASCII)
_PHONE = re.compile(r"(?<![\w+.,/])(?:\+|00)?\(?\d[\d().\-\s\u00a0]{5,22}\d(?![\d,])(?!\.\d)")
_TELEGRAM_HOST = re.compile(r"^(?:https?://)?(?:www\.)?(?:telegram|t)\.me/")
_GROUP = re.compile(r"\+?\d+")
_EMIRATES = re.compile(r"dubai|uae|aed|emirat|sharjah|abu dhabi|دبي|امارات|درهم|ابوظبي|شارقة")


def _local_regions(digits: str, derived: str) -> tuple[str, ...]:
    """Regions a number written without its country code can belong to (none: not a phone)."""
    n = len(digits)
    if digits.startswith("0"):
        digits, n = digits[1:], n - 1  # the trunk prefix
    if digits.startswith("7"):
        return {10: ("IQ",), 9: ("JO",), 8: ("LB",)}.get(n, ())
    if digits.startswith("9"):
        return {10: ("IR",), 9: ("SY",), 8: ("KW",)}.get(n, ())
    if digits.startswith("5"):
        gulf = ("AE", "SA") if _EMIRATES.search(derived) else ("SA", "AE")
        return {10: ("TR",), 9: gulf, 8: ("KW",)}.get(n, ())
    if digits.startswith("6") and n == 8:
        return ("KW",)
    if digits.startswith(("3", "8")) and n in (7, 8):
        return ("LB",)
    return ()


def _e164(number: str, derived: str) -> str | None:
    digits = number.lstrip("+")
    candidates: list[tuple[str, str | None]]  # (number, region to read it in)
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


def _phones(derived: str, taken: SpanSet) -> Iterator[tuple[int, int, str, str]]:
    for m in _PHONE.finditer(derived):
        groups = list(_GROUP.finditer(m.group()))
        texts = [g.group() for g in groups]
        i = 0
        while i < len(groups):
            # The longest run of digit groups from group i that is a valid number.
            ends, digits = [], ""
            for j in range(i, len(groups)):
                if j > i and (len(texts[j]) < 2 or texts[j].startswith("+")):
                    break  # "1 2 3 4 5 6 7 8" is a list, not a phone number
                digits += texts[j]
                if len(digits.lstrip("+")) > 15:
                    break
                if len(digits.lstrip("+")) >= 7:
                    ends.append((j, digits))
            found = None
            for j, number in reversed(ends):
                a, b = m.start() + groups[i].start(), m.start() + groups[j].end()
                if not taken.overlaps(a, b) and (e164 := _e164(number, derived)):
                    found = (j, a, b, e164)
                    break
            if found:
                j, a, b, e164 = found
                yield a, b, "phone", e164
                i = j + 1
            else:
                i += 1


def find_handles(derived: str, taken: SpanSet) -> list[tuple[int, int, str, str]]:
    """WhatsApp and Telegram links, e-mails and @usernames on the derived (lower-cased) text;
    their spans are added to `taken`."""
    found: list[tuple[int, int, str, str]] = []
    if "wa.me/" in derived or "whatsapp.com/" in derived:
        for m in _WHATSAPP.finditer(derived):
            link = m.group()
            found.append((m.start(), m.end(), "whatsapp_link", link if link.startswith("http") else "https://" + link))
    if ".me/" in derived:
        for m in _TELEGRAM.finditer(derived):
            found.append((m.start(), m.end(), "telegram_link", _TELEGRAM_HOST.sub("https://t.me/", m.group())))
    if "@" in derived:
        for m in _EMAIL.finditer(derived):
            found.append((m.start(), m.end(), "email", m.group()))
        for a, b, _, _ in found:
            taken.add(a, b)
        for m in _USERNAME.finditer(derived):
            if not taken.overlaps(*m.span()):
                found.append((m.start(), m.end(), "username", "@" + m.group(1)))
    for a, b, _, _ in found:
        taken.add(a, b)
    return found


def find_phones(derived: str, taken: SpanSet) -> list[tuple[int, int, str, str]]:
    """Phone numbers (E.164) outside `taken` (links and prices are found first); their spans
    are added to `taken`."""
    found = list(_phones(derived, taken))
    for a, b, _, _ in found:
        taken.add(a, b)
    return found
