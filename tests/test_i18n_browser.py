"""The interface languages in Debian's chromium (Playwright, the app under uvicorn): an analyst picks Arabic,
Sorani or Kurmanji on the settings page; Arabic and Sorani pages are laid out right to left (the navigation
starts at the right edge, Previous is right of Next), Kurmanji stays left to right, and the shortcuts stay on
the same physical keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from detector.config import Settings
from detector.db import session_scope
from detector.schema import Label
from labeling.app import create_app
from labeling_support import Item, make_users, store_items
from test_labeling_browser import ARTIFACTS, CHROMIUM, LiveServer, browser, log_in  # noqa: F401  (a fixture)
from test_queue_triage_browser import press

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]
TEXTS = ["للبيع بنت عمرها 15 سنة، السعر 3000 دولار، اتصل +964 770 555 0199",
         "کچێک بۆ فرۆشتن، تەمەنی 16 ساڵ، نرخ 2500 دۆلار",
         "keçek ji bo firotinê, 17 salî, biha 2000 dolar"]

# Runs in the page: the left and right edges of every element a selector matches, in document order.
EDGES = "(els) => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })"


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[str, object, list[int]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/queue.db", evidence_dir=tmp_path / "evidence",
                        secret_key="i" * 40)
    app = create_app(settings)
    make_users(app.state.engine, ("ann", "analyst"), ("rev", "reviewer"))
    ids = store_items(app.state.engine, [Item(t, 0.95 - n / 100, language=("ar", "ckb", "kmr")[n], minutes=10 - n)
                                         for n, t in enumerate(TEXTS)])
    with LiveServer(app) as url:
        yield url, app, ids
    app.state.engine.dispose()


@pytest.fixture
def page(browser, site):  # noqa: F811
    context = browser.new_context(base_url=site[0], viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def choose_language(page, code: str) -> None:
    """What an analyst does: the settings page, the language list, Save."""
    page.goto("/settings")
    page.select_option("#language", code)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert page.get_attribute("html", "lang") == code


@pytest.mark.parametrize("code", ["ar", "ckb"])
def test_arabic_and_sorani_mirror_the_layout(page, site, code):
    _, _, ids = site
    log_in(page, "rev")
    choose_language(page, code)
    assert page.get_attribute("html", "dir") == "rtl"
    width = page.viewport_size["width"]
    nav = page.eval_on_selector_all("header nav a", EDGES)
    assert nav[0][1] > nav[-1][1], "the first link (Queue) is not right of the last"
    assert nav[0][1] > width / 2 and all(a[0] > b[0] for a, b in zip(nav, nav[1:]))  # read right to left
    brand, who = page.eval_on_selector_all(".brand, .who", EDGES)
    assert brand[1] > nav[0][1] and who[1] < nav[-1][0]  # name at the right edge, "Log out" at the left
    page.goto(f"/items/{ids[0]}")
    previous, following = page.eval_on_selector_all(".itemnav a[data-key]", EDGES)
    assert previous[0] > following[1], "Previous is not right of Next"
    message, side = page.eval_on_selector_all(".message-card, .side", EDGES)  # document order
    assert side[1] < message[0], "the side panel is not left of the message"
    assert page.text_content("#shortcuts-title") != "Keyboard shortcuts"
    page.screenshot(path=str(ARTIFACTS / f"i18n-item-{code}.png"), full_page=False)


def test_kurmanji_is_translated_and_stays_left_to_right(page, site):
    log_in(page, "rev")
    choose_language(page, "kmr")
    assert page.get_attribute("html", "dir") == "ltr"
    nav = page.eval_on_selector_all("header nav a", EDGES)
    assert nav[0][0] < nav[-1][0] and page.inner_text("header nav a >> nth=0") == "Rêz"


def test_a_shortcut_still_works_in_arabic(page, site):
    _, app, ids = site
    log_in(page)
    choose_language(page, "ar")
    page.goto(f"/items/{ids[0]}")
    press(page, "؟", "Slash", shiftKey=True)  # '?' on an Arabic keyboard: the help overlay, in Arabic
    assert page.is_visible("#shortcuts") and page.inner_text("#shortcuts-title") == "اختصارات لوحة المفاتيح"
    press(page, "Escape", "Escape")
    with page.expect_navigation():
        press(page, "غ", "KeyY")  # the key labelled Y on an Arabic layout: Listing
    assert f"/items/{ids[1]}" in page.url
    assert page.inner_text("#flash") == f"حُفظ: إعلان بيع على العنصر {ids[0]}."
    with session_scope(app.state.engine) as s:
        assert [(lab.message_id, lab.decision) for lab in s.scalars(select(Label))] == [(ids[0], "listing")]
