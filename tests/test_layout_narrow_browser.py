"""A 400 px window in a real browser (Debian's chromium through Playwright, the app under uvicorn):
the header wraps with "Log out" on screen, the decision buttons are on the first screen of an item
with a long message, statistics tables are not clipped; error pages keep the navigation, a bad item
address says so in words, a wrong password keeps the name, and a photo entity shows its thumbnail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from detector.config import Settings
from detector.db import session_scope
from detector.schema import Entity, EntityMember, Media
from labeling.app import create_app
from labeling_support import PASSWORD, Item, add_photo, age_signal, make_users, store_items
from test_labeling_browser import ARTIFACTS, CHROMIUM, PNG, LiveServer, browser, log_in  # noqa: F401  (browser is a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]
NARROW = {"width": 400, "height": 800}
LONG_AR = "للبيع بنت عمرها 15 سنة من الموصل، تجيد الطبخ والتنظيف، السعر 3000 دولار. " * 12

# Runs in the page: where a selector's element is, the viewport, and what is drawn at its centre.
ON_SCREEN = r"""(selector) => {
  const el = document.querySelector(selector);
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: innerWidth, height: innerHeight,
          reachable: hit !== null && (hit === el || el.contains(hit))};
}"""


def on_first_screen(page, selector: str) -> bool:
    """True when the element is wholly inside the viewport, not covered, with the page at its top."""
    box = page.evaluate(ON_SCREEN, selector)
    return (box["reachable"] and box["left"] >= 0 and box["top"] >= 0
            and box["right"] <= box["width"] and box["bottom"] <= box["height"])


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[str, object]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/queue.db", evidence_dir=tmp_path / "evidence",
                        secret_key="n" * 40)
    app = create_app(settings)
    make_users(app.state.engine, ("ann", "analyst"), ("rev", "reviewer"))
    with LiveServer(app) as url:
        yield url, app
    app.state.engine.dispose()


@pytest.fixture
def narrow(browser, site):  # noqa: F811
    url, _ = site
    context = browser.new_context(base_url=url, viewport=NARROW)
    yield context.new_page()
    context.close()


def test_item_page_at_400px_keeps_log_out_and_the_decision_buttons_on_the_first_screen(narrow, site):
    _, app = site
    (mid,) = store_items(app.state.engine, [Item(LONG_AR, 0.97, language="ar", signals=[age_signal(LONG_AR, 15)])])
    add_photo(app.state.engine, app.state.settings.evidence_dir, mid, PNG)
    log_in(narrow, "rev")
    narrow.goto(f"/items/{mid}")
    ARTIFACTS.mkdir(exist_ok=True)
    narrow.screenshot(path=str(ARTIFACTS / "labeling-item-400px.png"))
    assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]  # nothing sticks out
    assert on_first_screen(narrow, ".topbar form[action='/logout'] button")
    for value in ("listing", "not_listing", "unsure", "skip"):
        assert on_first_screen(narrow, f"#decision-form button[value={value}]"), value
    narrow.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # and they stay when reading on
    assert on_first_screen(narrow, "#decision-form button[value=listing]")
    assert narrow.evaluate("""() => {  // the end of the page is not under them
        const last = [...document.querySelectorAll('.side > *')].pop().getBoundingClientRect();
        return last.bottom <= document.querySelector('.decisions').getBoundingClientRect().top;
    }""")
    with narrow.expect_navigation():
        narrow.click("#decision-form button[value=not_listing]")
    assert "Saved: Not a listing" in narrow.inner_text("#flash")


def test_statistics_columns_are_not_clipped(narrow, site):
    _, app = site
    (mid,) = store_items(app.state.engine, [Item("girl for sale", 0.9)])
    log_in(narrow, "ann")
    narrow.goto(f"/items/{mid}")
    with narrow.expect_navigation():
        narrow.click("#decision-form button[value=listing]")
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 400):
        narrow.set_viewport_size({"width": width, "height": 800})
        narrow.goto("/stats")
        narrow.screenshot(path=str(ARTIFACTS / f"labeling-stats-{width}px.png"), full_page=True)
        assert narrow.evaluate("document.documentElement.scrollWidth") <= width
        last = narrow.evaluate("""() => {
            const cell = document.querySelector('#per-user thead th:last-child');
            const box = cell.closest('.table-scroll');
            box.scrollLeft = box.scrollWidth;
            const c = cell.getBoundingClientRect(), b = box.getBoundingClientRect();
            return {inside: c.left >= b.left - 1 && c.right <= b.right + 1, text: cell.textContent,
                    card: box.closest('.card').getBoundingClientRect().right, scrolls: box.scrollWidth > box.clientWidth};
        }""")
        assert last["inside"] and last["text"] == "Changes of mind" and last["card"] <= width, width
        assert not last["scrolls"] or width < 600  # a wide window shows every column without scrolling
        assert narrow.inner_text("#per-user tr[data-user=ann] td.total") == "1"


def test_error_pages_keep_the_navigation_and_say_what_is_missing(narrow, site):
    log_in(narrow, "ann")
    answer = narrow.goto("/items/abc")
    assert answer.status == 404
    assert "No such item." in narrow.inner_text("main") and "message_id" not in narrow.content()
    assert narrow.is_visible(".topbar a[href='/queue']") and on_first_screen(narrow, ".topbar form[action='/logout'] button")
    answer = narrow.goto("/items/999999")
    assert answer.status == 404 and narrow.is_visible(".topbar a[href='/stats']")


def test_a_wrong_password_keeps_the_name(narrow):
    narrow.goto("/login")
    narrow.fill("input[name=name]", "ann")
    narrow.fill("input[name=password]", PASSWORD + "x")
    with narrow.expect_navigation():
        narrow.keyboard.press("Enter")
    assert "Wrong name or password." in narrow.inner_text("main")
    assert narrow.input_value("input[name=name]") == "ann"
    assert narrow.evaluate("document.activeElement.name") == "password"


def test_the_photo_entity_page_shows_a_blurred_thumbnail(narrow, site):
    _, app = site
    first, second = store_items(app.state.engine, [Item("girl for sale", 0.9), Item("girl for sale again", 0.9)])
    photo = add_photo(app.state.engine, app.state.settings.evidence_dir, first, PNG)
    with session_scope(app.state.engine) as s:
        entity = Entity(kind="photo", key=s.get(Media, photo).sha256, size=2)
        s.add(entity)
        s.flush()
        s.add_all([EntityMember(entity_id=entity.id, message_id=m, via=f"photo (media {photo})") for m in (first, second)])
        entity_id = entity.id
    log_in(narrow, "ann")
    with narrow.expect_response(f"**/media/{photo}") as shown:
        narrow.goto(f"/entities/{entity_id}")
    assert shown.value.headers["content-type"] == "image/jpeg"  # the server's blurred copy, not the PNG
    image = narrow.locator("#entity-photo img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "blurred" in image.get_attribute("class") and on_first_screen(narrow, "#entity-photo img")
