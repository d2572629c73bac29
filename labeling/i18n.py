"""Interface languages: gettext catalogs (labeling/locale/<code>/LC_MESSAGES/messages.po, compiled
in memory when first used) and each language's writing direction.

Only the interface is translated; message text is always shown as written. Translations are our
own trusted text: variables put into them are escaped by Jinja2's newstyle gettext (autoescape on).
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
# Code -> (the language's name in itself, direction of its script).
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("English", "ltr"),
    "ar": ("العربية", "rtl"),
    "ckb": ("کوردی (سۆرانی)", "rtl"),
    "kmr": ("Kurdî (Kurmancî)", "ltr"),
}
_current: ContextVar[gettext.NullTranslations] = ContextVar(  # the default is never changed: it only looks up
    "interface_translations", default=gettext.NullTranslations())  # noqa: B039


def N_(message: str) -> str:
    """Marks a string for extraction (babel.cfg) where it is defined; translated where it is shown."""
    return message


# A recorded decision as History, the queue and the case page name it (lower case, like a tag).
DECISION_WORDS = {"listing": N_("listing"), "not_listing": N_("not listing"), "unsure": N_("unsure"),
                  "skip": N_("skip")}

# Words defined outside the templates (detector.review.STATE_TITLES, decisions.TAG_TITLES,
# web.DECISION_TITLES, queue.ORDER_HELP, queue.LANGUAGE_NAMES, detector.link.queries.ENTITY_TITLES,
# the reasons of reports.case_members), shown through `_()`;
# tests/test_i18n.py checks that this list covers them.
SHOWN_WORDS = (
    N_("Not yet decided"), N_("Awaiting review"), N_("Disputed"), N_("Unsure"), N_("Not a listing"),
    N_("Confirmed listing"), N_("Listing"), N_("Skip"),
    N_("Minor"), N_("Domestic worker"), N_("Auction"), N_("Wanted to buy"),
    N_("Priority: the exact score, plus 0.3 when a minor's age is among the signals; equal ones newest first."),
    N_("Highest score first (exact, not rounded); equal scores newest first."),
    N_("Most uncertain first: scores nearest 0.5 first."),
    N_("Active learning: among the most uncertain, a varied set first (similar messages spread apart)."),
    N_("Arabic"), N_("Sorani Kurdish"), N_("Kurmanji Kurdish"), N_("Persian"), N_("Turkish"), N_("English"),
    N_("Undetermined"),
    N_("Phone number"), N_("Telegram account"), N_("Telegram invite link"), N_("WhatsApp group"),
    N_("E-mail address"), N_("Photo"),
    N_("not a stored message"), N_("not confirmed by an analyst and a reviewer"), N_("already in the case"),
    N_("not in the case"), N_("the case's last message (a case keeps at least one)"),
)


def normalise_language(code: object) -> str:
    """A supported interface language code, or the default one."""
    return code if isinstance(code, str) and code in LANGUAGES else DEFAULT_LANGUAGE


def direction(code: str) -> str:
    """'rtl' for Arabic and Sorani, else 'ltr'."""
    return LANGUAGES[normalise_language(code)][1]


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English: the messages as written)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    if code == DEFAULT_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code.replace("kmr", "ku"))
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def from_accept_language(header: str) -> str:
    """The first supported language of an Accept-Language header (the login page has no user yet)."""
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        for code in (tag, tag.split("-")[0]):
            if code in LANGUAGES:
                return code
        if tag in ("ku", "ku-tr", "ku-sy", "ku-latn"):
            return "kmr"
        if tag in ("ku-iq", "ku-arab"):
            return "ckb"
    return DEFAULT_LANGUAGE


def use(code: str) -> gettext.NullTranslations:
    """Make `code` the language of what this thread renders next; returns its translations."""
    found = translations(normalise_language(code))
    _current.set(found)
    return found


def gettext_(message: str) -> str:
    """The current language's translation of `message` (installed as Jinja2's `gettext`/`_`)."""
    return _current.get().gettext(message) if message else message  # "" would give the catalog's header


def pgettext_(context: str, message: str) -> str:
    """The translation of `message` in `context` (installed as Jinja2's `pgettext`)."""
    return _current.get().pgettext(context, message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    """The plural form of the current language (installed as Jinja2's `ngettext`)."""
    return _current.get().ngettext(singular, plural, n)
