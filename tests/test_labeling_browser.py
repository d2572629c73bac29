"""The labelling queue in a real browser: Debian's chromium driven by Playwright, the real app
served by uvicorn on a loopback port, a SQLite file behind it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, Label, User
from labeling.app import create_app
from detector.review import referable_message_ids
from labeling_support import PASSWORD, Item, add_photo, age_signal, make_users, store_items

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]
HOSTILE = [
    '<script>window.__pwned = 1; alert("script")</script> girl for sale',
    '<img src=x onerror="window.__pwned = 2; alert(\'onerror\')"> maid for transfer',
    '<a href="javascript:alert(\'link\')">click me</a> boy for sale',
]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000100000001008020000009091683600000017494441"
    "5478da63fccf80011810aa6040c4000c8c8e1a02005b1e03217ff2a8a20000000049454e44ae426082"
)


class LiveServer:
    """The app under uvicorn in a background thread on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[str, object]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/queue.db", evidence_dir=tmp_path / "evidence",
                        secret_key="b" * 40)
    app = create_app(settings)
    make_users(app.state.engine, ("ann", "analyst"), ("rev", "reviewer"))
    with LiveServer(app) as url:
        yield url, app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    url, _ = site
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def log_in(page, name: str = "ann") -> None:
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url


def item_id(page) -> int:
    return int(page.url.split("/items/")[1].split("?")[0])


def test_label_five_items_by_keyboard_and_see_them_on_stats(page, site):
    _, app = site
    ids = store_items(app.state.engine, [Item(f"offer number {n}", 0.95, minutes=10 - n) for n in range(6)])
    log_in(page)
    page.click("#start")
    page.wait_for_url("**/items/**")
    seen = []
    for key in "ynuyn":
        seen.append(item_id(page))
        if key == "u":
            page.check("input[name=tags][value=minor]")  # a ticked box keeps the shortcuts working
        with page.expect_navigation():
            page.keyboard.press(key)
    assert seen == ids[:5] and item_id(page) == ids[5]
    page.keyboard.press("?")
    assert page.is_visible("#shortcuts") and "Not a listing" in page.inner_text("#shortcuts")
    page.keyboard.press("Escape")
    assert not page.is_visible("#shortcuts")
    with page.expect_navigation():
        page.keyboard.press("k")
    assert item_id(page) == ids[4]
    with page.expect_navigation():
        page.keyboard.press("j")
    assert item_id(page) == ids[5]
    page.goto("/stats")
    row = page.locator("tr[data-user=ann] td")
    assert row.all_inner_texts() == ["2", "2", "1", "0", "5", "0"]  # ... all, changes of mind
    assert page.inner_text("td[data-state=awaiting_review]") == "2"
    reviewer = page.context.browser.new_context(base_url=page.url.split("/stats")[0]).new_page()
    log_in(reviewer, "rev")
    assert reviewer.url.endswith("/review")
    reviewer.click("#start")
    reviewer.wait_for_url("**/items/**")
    assert item_id(reviewer) == ids[0]  # the first of the two listings
    with reviewer.expect_navigation():
        reviewer.keyboard.press("y")
    assert item_id(reviewer) == ids[2]  # the unsure one, which also needs a reviewer
    with session_scope(app.state.engine) as s:
        assert referable_message_ids(s) == [ids[0]]
        labels = s.scalars(select(Label).where(Label.role == "analyst").order_by(Label.id)).all()
        assert [(lab.message_id, lab.decision) for lab in labels] == list(
            zip(ids, ["listing", "not_listing", "unsure", "listing", "not_listing"]))
        assert [lab.tags for lab in labels] == [[], [], ["minor"], [], []]


def test_hostile_messages_render_as_inert_text(page, site):
    _, app = site
    ids = store_items(app.state.engine, [Item(text, 0.9 - n / 10) for n, text in enumerate(HOSTILE)])
    log_in(page)
    pages = ["/queue"] + [f"/items/{mid}" for mid in ids]
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__pwned") is None
        scripts = page.evaluate("Array.from(document.scripts).map(s => s.getAttribute('src'))")
        assert scripts == ["/static/app.js"], path
        assert page.locator("img[onerror], [onerror]").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
    for mid, text in zip(ids, HOSTILE):
        page.goto(f"/items/{mid}")
        assert page.inner_text("#message-text") == text  # the markup is shown literally
        page.click("#message-text")
    assert page.dialogs == []


def test_arabic_and_sorani_render_right_to_left(page, site):
    _, app = site
    ar = "بنت عمرها 15 سنة للبيع بسعر 3000 دولار"
    ckb = "کچێکی تەمەن 14 ساڵ بۆ فرۆشتن، نرخ 2000 دۆلار"
    ids = store_items(app.state.engine, [
        Item(ar, 0.95, language="ar", signals=[age_signal(ar, 15)]),
        Item(ckb, 0.9, language="ckb", signals=[age_signal(ckb, 14)], minutes=1),
    ])
    add_photo(app.state.engine, app.state.settings.evidence_dir, ids[0], PNG)
    log_in(page)
    ARTIFACTS.mkdir(exist_ok=True)
    for mid, lang, text in ((ids[0], "ar", ar), (ids[1], "ckb", ckb)):
        page.goto(f"/items/{mid}")
        assert page.eval_on_selector("#message-text", "el => getComputedStyle(el).direction") == "rtl"
        assert page.inner_text("#message-text") == text
        assert page.locator("#message-text mark.sig-age").inner_text() in ("15", "14")
        page.screenshot(path=str(ARTIFACTS / f"labeling-item-{lang}.png"), full_page=True)
    page.goto("/queue")
    page.screenshot(path=str(ARTIFACTS / "labeling-queue.png"), full_page=True)


def test_photos_are_blurred_until_clicked(page, site):
    _, app = site
    [mid] = store_items(app.state.engine, [Item("offer with photo")])
    media = add_photo(app.state.engine, app.state.settings.evidence_dir, mid, PNG)
    log_in(page)
    page.goto(f"/items/{mid}")
    photo = page.locator(f"img[data-media='{media}']")
    assert "blur" in photo.evaluate("el => getComputedStyle(el).filter")
    assert photo.evaluate("el => el.naturalWidth") == 16  # streamed from the evidence store
    page.click(f"form.reveal[data-media='{media}'] button")
    deadline = time.monotonic() + 5  # (wait_for_function would evaluate a string, which the CSP forbids)
    while photo.evaluate("el => getComputedStyle(el).filter") != "none":
        assert time.monotonic() < deadline, "the photo stayed blurred"
        time.sleep(0.05)
    with session_scope(app.state.engine) as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "reveal_photo")).all()
        assert (event.actor, event.object_id) == ("ann", str(media))


def test_a_request_without_csrf_token_is_refused(page, site):
    _, app = site
    [mid] = store_items(app.state.engine, [Item("offer")])
    log_in(page)
    page.goto(f"/items/{mid}")
    status = page.evaluate(
        """async (mid) => {
            const body = new URLSearchParams({decision: "listing", role: "analyst"});
            const r = await fetch(`/items/${mid}/decision`, {method: "POST", body});
            return r.status;
        }""",
        mid,
    )
    assert status == 403
    page.eval_on_selector("#decision-form input[name=csrf_token]", "el => el.remove()")
    with page.expect_navigation():
        page.click("button[data-key=y]")
    assert "did not come from this site" in page.inner_text("main")
    with session_scope(app.state.engine) as s:
        assert s.scalars(select(Label)).all() == []
        assert s.scalar(select(User.name).where(User.name == "ann")) == "ann"


def test_break_reminder_is_optional_and_calm(page, site):
    log_in(page)
    page.goto("/settings")
    assert page.is_checked("input[name=blur_photos]")
    page.fill("input[name=break_minutes]", "1")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert "Saved." in page.inner_text("main")
    page.evaluate("localStorage.setItem('detector.workStart', String(Date.now() - 61000))")
    page.goto("/queue")
    page.locator("#break-reminder").wait_for(state="visible", timeout=5000)
    page.click("#break-dismiss")
    assert not page.is_visible("#break-reminder")
    page.goto("/queue")
    page.wait_for_timeout(300)
    assert not page.is_visible("#break-reminder")  # the dismissal restarts the clock
