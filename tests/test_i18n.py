"""The web queue's interface in Arabic, Sorani and Kurmanji (HTTP, SQLite and PostgreSQL): complete catalogs
that match the templates, a per-user interface language kept in the user's settings and audited, every main
page rendered with no untranslated interface string and the right <html lang dir>, and message text shown as
written and escaped whatever the language."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.db import session_scope
from detector.link.queries import ENTITY_TITLES
from detector.review import STATE_TITLES
from detector.schema import AuditEvent, User
from labeling import i18n
from labeling.decisions import TAG_TITLES
from labeling.queue import LANGUAGE_NAMES, ORDER_HELP
from labeling.web import DECISION_TITLES
from labeling_support import Item, csrf_of, login, store_items
from reports import case_members
from reports.cases import open_case
from test_cases_web import HOSTILE, CaseWorld, build_case_world

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = ("ar", "ckb", "kmr")
DIRECTION = {"ar": "rtl", "ckb": "rtl", "kmr": "ltr", "en": "ltr"}
# Message data with gettext's own markers in it: shown as written, never formatted or translated.
HOSTILE_AR = '<script>alert(1)</script> بنت 15 سنة للبيع %(id)s %s {n} Not a listing Queue'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def catalog(code: str):
    path = ROOT / "labeling" / "locale" / (f"{code}/LC_MESSAGES/messages.po" if code != "pot" else "messages.pot")
    with path.open("rb") as po:
        return read_po(po)


def msgids() -> list[str]:
    return [m.id for m in catalog("pot") if m.id]


def test_every_catalog_translates_every_interface_string_keeping_its_placeholders():
    ids = msgids()
    assert len(ids) > 200
    for code in TRANSLATED:
        entries = [m for m in catalog(code) if m.id]
        assert [m.id for m in entries if m.fuzzy] == [], code  # a fuzzy entry is not used
        found = {m.id: m.string for m in entries}
        assert set(found) == set(ids), code
        for msgid, text in found.items():
            assert text and text.strip(), (code, msgid)
            assert sorted(re.findall(r"%\(\w+\)s", text)) == sorted(re.findall(r"%\(\w+\)s", msgid)), (code, msgid)
            assert "<" not in text and "&" not in text, (code, msgid)  # translations are plain text


def test_the_template_catalog_holds_every_string_the_templates_and_code_mark():
    """`pybabel extract` (babel.cfg) finds nothing that messages.pot lacks: no marked string goes untranslated."""
    method_map = [("labeling/**.py", "python"), ("labeling/templates/**.html", "jinja2")]
    extracted = {msg if isinstance(msg, str) else msg[0]
                 for _, _, msg, _, _ in extract_from_dir(str(ROOT), method_map)}
    assert extracted - set(msgids()) == set()
    assert set(msgids()) - extracted == set()  # and nothing stale
    assert "[jinja2: labeling/templates/**.html]" in (ROOT / "babel.cfg").read_text()  # the same map


def test_words_made_outside_the_templates_are_all_in_the_catalog():
    ids = set(msgids())
    made = [*STATE_TITLES.values(), *TAG_TITLES.values(), *DECISION_TITLES.values(), *ORDER_HELP.values(),
            *LANGUAGE_NAMES.values(), *ENTITY_TITLES.values(), case_members.UNKNOWN, case_members.UNCONFIRMED,
            case_members.PRESENT, case_members.ABSENT, case_members.LAST]
    assert [w for w in made if w not in ids] == []


class VisibleText(HTMLParser):
    """Interface text of a page: text nodes and the attributes people read (placeholder, title, aria-label,
    alt), leaving out message data (elements whose `lang` differs from the page's, message text, notes,
    names in <bdi>, times) and scripts."""

    DATA_CLASSES = {"message", "ctx", "snippet", "note", "message-text"}

    def __init__(self) -> None:
        super().__init__()
        self.page_lang = ""
        self.stack: list[bool] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.page_lang = values.get("lang") or ""
        skipped = bool(self.stack and self.stack[-1]) or tag in ("script", "style", "bdi", "time") or (
            tag != "html" and values.get("lang") not in (None, self.page_lang)) or bool(
            self.DATA_CLASSES & set((values.get("class") or "").split()))
        if not skipped:
            self.texts += [values[a] or "" for a in ("placeholder", "title", "aria-label", "alt") if values.get(a)]
        if tag not in VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]) and data.strip():
            self.texts.append(data.strip())


def untranslated(html: str, language: str = "en") -> list[str]:
    """English interface strings of the catalog still on the page: a text equal to a msgid (or a fixed part of
    one with placeholders), or holding a msgid of three words or more. Words the language writes the same
    (Kurmanji "Model", "Format") are not counted."""
    parser = VisibleText()
    parser.feed(html)
    same = {m.id for m in catalog(language) if m.id and m.string == m.id} if language != "en" else set()
    parts = {p.strip(" .:·") for m in msgids() if m not in same for p in re.split(r"%\(\w+\)s", m)}
    parts = {p for p in parts if len(p) > 1}
    long_ones = [p for p in parts if len(p.split()) >= 3]
    found = []
    for text in parser.texts:
        bare = text.strip(" .:·—←→«»?")
        if bare in parts or any(p in text for p in long_ones):
            found.append(text)
    return found


def html_tag(html: str) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', html)
    assert found, "no <html lang dir>"
    return found[1], found[2]


@pytest.fixture
def world(db_url, tmp_path):
    built = build_case_world(db_url, tmp_path)
    built.arabic = store_items(built.engine, [Item(HOSTILE_AR, 0.99, language="ar", channel="سوق الموصل")])[0]
    with session_scope(built.engine) as s:
        built.ref = open_case(s, "rita", [built.listed, built.hostile], tlp="AMBER", summary=HOSTILE).ref
    yield built
    built.engine.dispose()


def speaking(world: CaseWorld, name: str, language: str) -> TestClient:
    """A logged-in client whose user chose `language` on the settings page."""
    client = TestClient(world.app)
    assert login(client, name).status_code == 303
    saved = client.post("/settings", data={"blur_photos": "on", "break_minutes": "50", "language": language,
                                           "csrf_token": csrf_of(client, "/settings")}, follow_redirects=False)
    assert saved.status_code == 303
    return client


def main_pages(world: CaseWorld) -> list[str]:
    return ["/queue", "/review", "/audit", "/queue?state=any&page=1", f"/items/{world.arabic}",
            f"/items/{world.hostile}", "/settings", "/stats", "/cases", f"/cases/{world.ref}", "/cases/new",
            f"/cases/new?cluster={world.cluster_id}", f"/cases/new?entity={world.entity_id}",
            f"/cases/new?messages={world.pending}", f"/clusters/{world.cluster_id}", f"/entities/{world.entity_id}",
            "/items/2147483000", "/items/abc"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_main_page_speaks_the_users_language_with_no_english_left(world, language):
    client = speaking(world, "rita", language)  # a reviewer sees every main page
    for path in main_pages(world):
        page = client.get(path)
        assert page.status_code in (200, 404), path
        assert html_tag(page.text) == (language, DIRECTION[language]), path
        assert untranslated(page.text, language) == [], path
    shortcuts = client.get(f"/items/{world.arabic}").text
    assert i18n.translations(language).gettext("Keyboard shortcuts") in shortcuts  # the help overlay
    bad_address = client.get("/items/abc")
    assert bad_address.status_code == 404
    assert i18n.translations(language).gettext("No such item.") in bad_address.text  # the error, in words


def test_the_check_finds_english_on_an_english_page(world):
    """The same pages in English are full of catalog strings: the check above can fail."""
    client = speaking(world, "rita", "en")
    page = client.get(f"/items/{world.arabic}").text
    assert html_tag(page) == ("en", "ltr")
    assert {"Keyboard shortcuts", "History", "Your decision"} <= set(untranslated(page))


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_login_page_follows_the_browsers_language_before_anyone_logs_in(world, language):
    client = TestClient(world.app)
    page = client.get("/login", headers={"Accept-Language": f"{language}, en;q=0.5"}).text
    assert html_tag(page) == (language, DIRECTION[language]) and untranslated(page, language) == []
    wrong = client.post("/login", headers={"Accept-Language": language},
                        data={"name": "rita", "password": "not the password", "csrf_token": csrf_of(client)})
    assert wrong.status_code == 401 and html_tag(wrong.text)[0] == language


def test_the_language_is_kept_per_user_audited_and_checked(world):
    arabic = speaking(world, "ann", "ar")
    english = TestClient(world.app)
    assert login(english, "rita").status_code == 303
    assert html_tag(arabic.get("/queue").text) == ("ar", "rtl")
    assert html_tag(english.get("/queue").text) == ("en", "ltr")  # another user keeps hers
    settings = arabic.get("/settings").text
    assert re.search(r'<option value="ar" lang="ar" selected>العربية</option>', settings)
    with session_scope(world.engine) as s:
        assert s.scalar(select(User).where(User.name == "ann")).settings["language"] == "ar"
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "settings_change",
                                                     AuditEvent.actor == "ann")).all()
        assert event.before["language"] == "en" and event.after["language"] == "ar"
    refused = arabic.post("/settings", data={"break_minutes": "50", "language": "xx",
                                             "csrf_token": csrf_of(arabic, "/settings")})
    assert refused.status_code == 400
    kept = arabic.post("/settings", data={"break_minutes": "30", "csrf_token": csrf_of(arabic, "/settings")})
    assert kept.status_code == 200 and html_tag(kept.text) == ("ar", "rtl")  # a form without it keeps the language


@pytest.mark.parametrize("language", ("ar", "ckb"))
def test_message_text_is_shown_as_written_and_escaped_in_any_language(world, language):
    client = speaking(world, "rita", language)
    item = client.get(f"/items/{world.arabic}").text
    assert "<script>alert(1)</script>" not in item and "&lt;script&gt;alert(1)&lt;/script&gt;" in item
    assert "%(id)s %s {n} Not a listing Queue" in item  # data is never formatted nor translated
    case = client.get(f"/cases/{world.ref}").text
    assert '<script>alert("text")</script>' not in case and "&lt;script&gt;" in case


def test_notices_made_in_python_speak_the_users_language(world):
    client = speaking(world, "ann", "ar")
    form = client.get(f"/items/{world.arabic}").text
    version = re.search(r'name="version" value="(\d*)"', form)[1]
    token = csrf_of(client, "/settings")
    saved = client.post(f"/items/{world.arabic}/decision", follow_redirects=False,
                        data={"decision": "listing", "role": "analyst", "version": version, "csrf_token": token})
    assert saved.status_code == 303
    page = client.get("/settings").text
    assert f"حُفظ: إعلان بيع على العنصر {world.arabic}." in page
    assert "تراجع: إعلان بيع على العنصر" in page  # the undo offer
