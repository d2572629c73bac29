"""The analyst's triage loop in a real browser (Debian's chromium through Playwright, the real app
under uvicorn, a SQLite file): numbers in right-to-left text, physical-key shortcuts, an expired
session that loses nothing, undo, progress, the decision shown, and a stale tab that asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, Cluster, ClusterMember, Entity, EntityMember, Label
from labeling.app import create_app
from labeling_support import PASSWORD, Item, age_signal, make_users, store_items
from test_labeling_browser import CHROMIUM, LiveServer, browser, item_id, log_in  # noqa: F401  (browser is a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

PHONE = "+964 770 555 0199"
PHONE_GROUPS = ["+964", "770", "555", "0199"]
AR_LISTING = f"للبيع بنت عمرها 15 سنة اتصل {PHONE} السعر 2000 دولار"
AR_CONTEXT = "نشر يوم 22:53 07-03-2025 رقم 0770 555 0199 فقط"

# Runs in the page: (selector, [strings]) -> for each string's first occurrence (in order) inside the
# element, the left edge and top of its rendered box.
BOXES = r"""([selector, parts]) => {
  const root = document.querySelector(selector);
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walk.nextNode()) nodes.push(walk.currentNode);
  const text = nodes.map((n) => n.data).join("");
  const at = (offset) => {
    for (const n of nodes) { if (offset <= n.data.length) return [n, offset]; offset -= n.data.length; }
    throw new Error("offset beyond the text");
  };
  let from = 0;
  return parts.map((part) => {
    const start = text.indexOf(part, from);
    if (start < 0) throw new Error(`${part} not found in ${selector}`);
    from = start + part.length;
    const range = document.createRange();
    range.setStart(...at(start)); range.setEnd(...at(from));
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    return {left: Math.min(...rects.map((r) => r.left)), top: Math.min(...rects.map((r) => r.top)), lines: rects.length};
  });
}"""


def drawn_in_order(page, selector: str, parts: list[str]) -> bool:
    """True when `parts` (in logical order) are drawn left to right on one line."""
    boxes = page.evaluate(BOXES, [selector, parts])
    same_line = all(abs(b["top"] - boxes[0]["top"]) < 2 and b["lines"] == 1 for b in boxes)
    return same_line and all(a["left"] < b["left"] for a, b in zip(boxes, boxes[1:]))


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[str, object]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/queue.db", evidence_dir=tmp_path / "evidence",
                        secret_key="t" * 40)
    app = create_app(settings)
    make_users(app.state.engine, ("ann", "analyst"), ("bob", "analyst"), ("rev", "reviewer"))
    with LiveServer(app) as url:
        yield url, app
    app.state.engine.dispose()


@pytest.fixture
def context(browser, site):  # noqa: F811
    url, _ = site
    ctx = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


# --------------------------------------------------------------------------- 1. numbers in right-to-left text


def arabic_world(engine) -> dict[str, int]:
    """An Arabic listing with a phone signal, an Arabic message before it in the channel (a date, a
    time and a phone not found as a signal), a repost in another channel and the shared phone entity."""
    start = AR_LISTING.index(PHONE)
    phone = {"type": "contact", "subtype": "phone", "value": "+9647705550199", "start": start,
             "end": start + len(PHONE), "text": PHONE}
    before, listing, repost = store_items(engine, [
        Item(AR_CONTEXT, 0.2, flagged=False, language="ar", channel="بازار الموصل", minutes=0),
        Item(AR_LISTING, 0.95, language="ar", channel="بازار الموصل", minutes=5,
             signals=[age_signal(AR_LISTING, 15), phone]),
        Item(AR_LISTING.replace("2000", "1800"), 0.9, language="ar", channel="Mosul Bazaar", minutes=9),
    ])
    with session_scope(engine) as s:
        cluster = Cluster(size=2, representative_id=listing)
        entity = Entity(kind="phone", key="+9647705550199", size=2)
        s.add_all([cluster, entity])
        s.flush()
        s.add_all([ClusterMember(message_id=m, cluster_id=cluster.id) for m in (listing, repost)])
        s.add_all([EntityMember(entity_id=entity.id, message_id=m, via=PHONE) for m in (listing, repost)])
        return {"item": listing, "entity": entity.id, "before": before}


def test_the_measurement_sees_digit_groups_reordered_by_right_to_left_text(page):
    page.set_content(f'<p id="t" dir="rtl">{AR_LISTING}</p><p id="i" dir="rtl">اتصل <bdi dir="ltr">{PHONE}</bdi></p>')
    assert not drawn_in_order(page, "#t", PHONE_GROUPS)  # the bug as analysts saw it: 0199 555 770 964+
    assert drawn_in_order(page, "#i", PHONE_GROUPS)


def test_numbers_contacts_and_dates_read_left_to_right_inside_arabic(page, site):
    _, app = site
    ids = arabic_world(app.state.engine)
    log_in(page)
    page.goto(f"/items/{ids['item']}")
    assert page.eval_on_selector("#message-text", "el => getComputedStyle(el).direction") == "rtl"
    assert page.inner_text("#message-text") == AR_LISTING  # isolation adds no character
    assert page.get_attribute("#message-text mark.sig-contact", "dir") == "ltr"
    assert drawn_in_order(page, "#message-text", PHONE_GROUPS)
    context_line = "section.context p.ctx"
    assert drawn_in_order(page, context_line, ["03-01", "09:00"])  # the time stamp of the message before
    assert drawn_in_order(page, context_line, ["22:53", "07-03-2025"])
    assert drawn_in_order(page, context_line, ["0770", "555", "0199"])  # a number no signal found
    assert drawn_in_order(page, "#links .link-list li", PHONE_GROUPS)  # the repost's snippet
    assert drawn_in_order(page, "#links .link-list li span.muted", ["2024-03-01", "09:09"])
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto(f"/entities/{ids['entity']}")
    assert drawn_in_order(page, "#entity-key", ["+9647705550199"])
    assert drawn_in_order(page, "table.links-members tbody tr:first-child td:nth-child(2)", PHONE_GROUPS)


# --------------------------------------------------------------------------- 2. shortcuts by physical key


def press(page, key: str, code: str, **extra) -> None:
    """A keydown, to the focused element, as a layout other than US English sends it (`key` typed,
    `code` the physical key)."""
    page.evaluate("([init]) => (document.activeElement || document.body).dispatchEvent(new KeyboardEvent('keydown', init))",
                  [{"key": key, "code": code, "bubbles": True, "cancelable": True, **extra}])


def labels(engine) -> list[tuple[int, str, list[str], str]]:
    with session_scope(engine) as s:
        return [(lab.message_id, lab.decision, lab.tags, lab.note)
                for lab in s.scalars(select(Label).order_by(Label.id))]


def test_shortcuts_follow_physical_keys_on_arabic_layout_and_with_caps_lock(page, site):
    _, app = site
    ids = store_items(app.state.engine, [Item(f"offer number {n}", 0.95, minutes=10 - n) for n in range(3)])
    log_in(page)
    page.goto(f"/items/{ids[0]}")
    page.fill("textarea[name=note]", "غ")  # typing in the note (Arabic layout) decides nothing
    press(page, "غ", "KeyY")
    page.keyboard.press("Escape")  # leave the note
    press(page, "؟", "Slash", shiftKey=True)  # '?' on an Arabic keyboard
    assert page.is_visible("#shortcuts")
    press(page, "Escape", "Escape")
    assert not page.is_visible("#shortcuts") and item_id(page) == ids[0]
    press(page, "!", "Digit1")  # a tag by its key, whatever the layout's digit row types
    assert page.is_checked("input[name=tags][value=minor]")
    with page.expect_navigation():
        press(page, "غ", "KeyY")  # Arabic: the key labelled Y
    assert item_id(page) == ids[1]
    with page.expect_navigation():
        press(page, "N", "KeyN", modifierCapsLock=True)  # Caps Lock on
    assert item_id(page) == ids[2]
    with page.expect_navigation():
        press(page, "ع", "KeyU")  # Persian layout: U types ع
    assert [lab[:3] for lab in labels(app.state.engine)] == [
        (ids[0], "listing", ["minor"]), (ids[1], "not_listing", []), (ids[2], "unsure", [])]
    assert labels(app.state.engine)[0][3] == "غ"


# --------------------------------------------------------------------------- 3. an expired session loses nothing


def test_a_decision_made_after_the_session_ended_is_saved_after_login(page, context, site):
    _, app = site
    ids = store_items(app.state.engine, [Item(f"offer number {n}", 0.95, minutes=10 - n) for n in range(2)])
    log_in(page)
    page.goto(f"/items/{ids[0]}?state=open")
    note = "رقمه +964 770 555 0199 <b>check</b>"
    page.fill("textarea[name=note]", note)
    page.check("input[name=tags][value=auction]")
    page.keyboard.press("Escape")
    context.clear_cookies()  # the session ends (expired cookie) while the analyst reads
    with page.expect_navigation():
        page.keyboard.press("y")
    assert "/login" not in page.url and page.is_visible("input[name=password]")  # a login form, not a dead end
    assert "not saved yet" in page.inner_text("[role=alert]")
    assert note in page.inner_text("#pending-decision") and "listing" in page.inner_text("#pending-decision")
    assert labels(app.state.engine) == []
    page.fill("input[name=name]", "ann")
    page.fill("input[name=password]", "wrong password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert note in page.inner_text("#pending-decision")  # a mistyped password keeps it too
    page.fill("input[name=name]", "ann")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert item_id(page) == ids[1] and "state=open" in page.url
    assert page.inner_text("#flash") == f"Saved after login: Listing on item {ids[0]}."
    assert labels(app.state.engine) == [(ids[0], "listing", ["auction"], note)]


# --------------------------------------------------------------------------- 4. undo, notice, progress, current decision


def test_undo_saved_notice_progress_and_the_current_decision(page, site):
    _, app = site
    minor = "girl 15 for sale"
    ids = store_items(app.state.engine, [
        Item(minor, 0.97, signals=[age_signal(minor, 15)], minutes=9), Item("maid for transfer", 0.95, minutes=8),
        Item("boy for sale", 0.93, minutes=7)])
    log_in(page)
    page.goto(f"/items/{ids[0]}")
    assert page.inner_text("#progress") == "3 of 3 left"
    assert page.is_checked("input[name=tags][value=minor]")  # a minor's age was found
    assert not page.is_checked("input[name=tags][value=auction]")
    with page.expect_navigation():
        page.keyboard.press("y")
    assert item_id(page) == ids[1] and page.inner_text("#progress") == "2 of 3 left"
    assert page.inner_text("#flash") == f"Saved: Listing on item {ids[0]}."
    assert not page.is_checked("input[name=tags][value=minor]")  # no minor here
    page.wait_for_selector("#flash", state="hidden", timeout=8000)  # brief
    assert page.is_visible("#undo-form")  # the offer to undo stays
    with page.expect_navigation():
        page.keyboard.press("z")
    assert item_id(page) == ids[0] and page.inner_text("#progress") == "3 of 3 left"
    assert "Undone: Listing" in page.inner_text("#flash")
    assert labels(app.state.engine) == []
    with page.expect_navigation():
        page.keyboard.press("n")
    with page.expect_navigation():
        page.keyboard.press("y")
    assert item_id(page) == ids[2]
    page.fill("textarea[name=note]", "ab")
    page.keyboard.press("Backspace")  # in the note, Backspace edits the note
    assert page.input_value("textarea[name=note]") == "a" and item_id(page) == ids[2]
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("Backspace")  # undoes the listing on the second item
    assert item_id(page) == ids[1]
    assert labels(app.state.engine) == [(ids[0], "not_listing", ["minor"], "")]
    page.goto(f"/items/{ids[0]}")
    assert page.get_attribute("button[value=not_listing]", "aria-pressed") == "true"
    assert page.get_attribute("button[value=listing]", "aria-pressed") == "false"
    assert "Recorded: not listing" in page.inner_text("#current-decision")
    assert page.inner_text("#progress") == "2 of 3 left"
    with session_scope(app.state.engine) as s:  # the undone decisions are kept in the audit trail
        undone = s.scalars(select(AuditEvent).where(AuditEvent.action == "undo_decision").order_by(AuditEvent.id)).all()
        assert [(e.object_id, e.before["decision"]) for e in undone] == [(str(ids[0]), "listing"), (str(ids[1]), "listing")]


# --------------------------------------------------------------------------- 9. a stale tab asks


def test_a_stale_tab_asks_instead_of_overriding(page, context, site):
    _, app = site
    ids = store_items(app.state.engine, [Item("girl for sale", 0.95), Item("other", 0.9, minutes=-1)])
    log_in(page)
    page.goto(f"/items/{ids[0]}")
    other = context.new_page()  # a second tab of the same session, opened on the same item
    other.goto(f"/items/{ids[0]}")
    with other.expect_navigation():
        other.keyboard.press("y")
    page.fill("textarea[name=note]", "not a sale, a news story")
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("n")  # the first tab, on the page shown before that decision
    assert page.is_visible("#not-saved")
    assert "latest: listing by ann" in page.inner_text("[role=alert]")
    assert page.input_value("#not-saved textarea[name=note]") == "not a sale, a news story"
    assert labels(app.state.engine) == [(ids[0], "listing", [], "")]
    with page.expect_navigation():
        page.click("#save-anyway-button")
    assert labels(app.state.engine) == [(ids[0], "listing", [], ""), (ids[0], "not_listing", [], "not a sale, a news story")]
