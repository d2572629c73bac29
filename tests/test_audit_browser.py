"""The recall audit in Debian's chromium: the Audit list is labelled with the same item page and
keys as the queue, and the statistics page then shows the field-recall estimate."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from detector.cli import main as cli
from detector.db import session_scope
from detector.schema import AuditSample, Label
from labeling_support import Item, store_items
from test_labeling_browser import browser, item_id, log_in, page, pytestmark, site  # noqa: F401  (fixtures)


def test_audit_items_are_labelled_by_keyboard_and_estimated(page, site):
    _, app = site
    engine = app.state.engine
    store_items(engine, [Item("flagged offer", 0.9)] + [Item(f"quiet chat {n}", 0.01, False) for n in range(12)])
    url = str(engine.url.render_as_string(hide_password=False))
    assert CliRunner().invoke(cli, ["audit", "sample", "--n", "4", "--seed", "1", "--db", url]).exit_code == 0
    with session_scope(engine) as s:
        sampled = list(s.scalars(select(AuditSample.message_id).order_by(AuditSample.message_id)))
    log_in(page)
    page.click("a[href='/audit']")
    assert page.inner_text("h1") == "Recall audit" and page.locator("table.items tbody tr").count() == 4
    page.click("#start")
    page.wait_for_url("**/items/**")
    seen = []
    for key in "ynnn":
        seen.append(item_id(page))
        assert "audit=1" in page.url
        with page.expect_navigation():
            page.keyboard.press(key)
    assert sorted(seen) == sampled and "/audit" in page.url  # back on the emptied Audit list
    page.goto("/stats")
    overall = page.locator("#recall-audit tr[data-domain='all:all'] td")
    assert overall.all_inner_texts()[:4] == ["12", "4/4", "1", "3.0"]  # one stratum: a listing in 4 of 12 is an estimated 3
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Label.message_id))) == sampled
