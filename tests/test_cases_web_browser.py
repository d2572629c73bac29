"""Building a case in Chromium: from a cluster's page, then extended with items ticked in the queue list;
every message asked for ends up in the case or listed as left out with its reason; hostile text stays text."""

from __future__ import annotations

import re

import pytest

from test_cases_web import HOSTILE, HOSTILE_NOTE, build_case_world
from test_labeling_browser import CHROMIUM, LiveServer, browser, log_in  # noqa: F401  (browser is a fixture)
from reports.case_members import UNCONFIRMED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def world_page(browser, tmp_path):  # noqa: F811  (browser is a fixture)
    world = build_case_world(f"sqlite:///{tmp_path}/cases.db", tmp_path)
    with LiveServer(world.app) as url:
        context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        dialogs: list[str] = []
        tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        yield world, tab, dialogs
        context.close()
    world.engine.dispose()


def _in_case(page) -> set[int]:
    return {int(i) for i in page.eval_on_selector_all("#case-messages article[data-message]",
                                                      "els => els.map(e => e.dataset.message)")}


def _left_out(page, where: str) -> dict[int, str]:
    items = page.eval_on_selector_all(f"{where} .left-out li", "els => els.map(e => [e.dataset.message, "
                                                               "e.querySelector('.why').textContent])")
    return {int(i): why for i, why in items}


def test_a_case_built_from_a_cluster_and_extended_from_the_queue_loses_nothing(world_page):
    world, page, dialogs = world_page
    log_in(page, "rita")
    with page.expect_navigation():
        page.click("#nav-cases")
    assert "No cases yet" in page.inner_text("main")

    page.goto(f"/clusters/{world.cluster_id}")
    with page.expect_navigation():
        page.click("#case-from-cluster")
    assert "1 of 2 messages can be referred" in page.inner_text("#preview-summary")
    assert UNCONFIRMED in page.inner_text(f'tr[data-message="{world.pending}"]')
    page.select_option("#open-case select[name=tlp]", "RED")
    page.fill("#open-case textarea[name=summary]", "Layla, reposted in two channels")
    with page.expect_navigation():
        page.click("#open-case button[type=submit]")
    ref = re.search(r"CASE-\d{4}-\d{4}", page.url)[0]
    assert _in_case(page) == {world.listed}
    assert _left_out(page, "#case-outcome") == {world.pending: UNCONFIRMED}

    page.goto("/queue?state=any")
    button = page.locator("#case-selection button")
    assert button.is_disabled()  # nothing ticked yet
    for mid in (world.phone_a, world.unlabelled):
        page.check(f'input[form="case-selection"][value="{mid}"]')
    assert page.inner_text("#selected-count") == "2 ticked" and button.is_enabled()
    with page.expect_navigation():
        button.click()
    assert "from 2 selected messages" in page.inner_text("h1")
    page.select_option("#extend-case select[name=case]", ref)
    with page.expect_navigation():
        page.click("#extend-case button[type=submit]")
    assert ref in page.url
    assert _in_case(page) == {world.listed, world.phone_a}
    assert _left_out(page, "#case-outcome") == {world.unlabelled: UNCONFIRMED}

    asked = {world.listed, world.pending, world.phone_a, world.unlabelled}
    left_out = _left_out(page, "#case-history")
    assert _in_case(page) | set(left_out) == asked and not _in_case(page) & set(left_out)
    assert set(left_out.values()) == {UNCONFIRMED}

    page.fill("#add-messages input[name=messages]", str(world.hostile))
    with page.expect_navigation():
        page.click("#add-messages button[type=submit]")
    article = page.locator(f'article[data-message="{world.hostile}"]')
    assert HOSTILE.split(" girl")[0] in article.locator(".message-text").inner_text()
    assert HOSTILE_NOTE in article.locator("q.note").inner_text()
    assert article.locator("script, img, b").count() == 0
    assert dialogs == []
