"""Bidi spoofing: a name carrying a direction control (U+202E RIGHT-TO-LEFT OVERRIDE and the
like) must not reorder the text after it on any page of the queue.

Real chromium through Playwright. On every page each text node holding a direction control
is found in the DOM and checked two ways:
- structure: the user-supplied value ends its text node, and the nearest element that starts a
  new bidi context (`bdi`, a `dir` attribute, `unicode-bidi: isolate|plaintext`, or a block box)
  holds no other text after it;
- rendering: every character after the value in its paragraph (the rest of its text node and
  the text nodes after it in its block) is drawn left to right, measured with Range rects.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from detector.config import Settings
from detector.db import session_scope
from detector.schema import Case, CaseMessage, Cluster, ClusterMember, Entity, EntityMember, Lease, Message, User
from labeling.app import create_app
from labeling.decisions import record_decision
from labeling.queue import refresh_queue
from labeling_support import Item, make_users, store_items
from test_labeling_browser import CHROMIUM, LiveServer, browser, log_in  # noqa: F401  (browser is a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

RLO, RLI = "\u202e", "\u2067"  # RIGHT-TO-LEFT OVERRIDE; RIGHT-TO-LEFT ISOLATE with no PDI after it
CHANNEL = f"Abu{RLO}Ali market"
SENDER = f"Umm{RLO}Sara"
REVIEWER = f"Abu{RLO}Nour"  # the one who logs in: in the top bar of every page
ANALYST = f"Ana Said{RLI}"  # an isolate opened and never closed
HANDLE = f"@abu{RLO}ali"  # a Telegram username written in a message
RLO_TEXT = f"call now for the price {RLO}500 USD only"  # a message body with an override in it
CASE_REF = "CASE-2024-0001"

# Runs in the page: (values) -> {found: [text of every node with a direction control], problems: [...]}
CHECK = r"""(values) => {
  const CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
  const HIDDEN = new Set(["OPTION", "SELECT", "TEXTAREA", "TITLE", "SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT"]);
  const FOLLOWING = Node.DOCUMENT_POSITION_FOLLOWING;
  const shown = (n) => {
    for (let e = n.parentElement; e; e = e.parentElement) if (HIDDEN.has(e.tagName)) return false;
    const r = document.createRange(); r.selectNodeContents(n);
    return r.getClientRects().length > 0;
  };
  const texts = (root) => {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), out = [];
    while (walk.nextNode()) if (walk.currentNode.data.trim() && shown(walk.currentNode)) out.push(walk.currentNode);
    return out;
  };
  const block = (e) => !["inline", "contents"].includes(getComputedStyle(e).display);
  const isolating = (e) => ["isolate", "isolate-override", "plaintext"].includes(getComputedStyle(e).unicodeBidi);
  const label = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + [...e.classList].map((c) => "." + c).join("");
  const show = (s) => JSON.stringify(s.replace(/[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/gu,
                                               (c) => "<U+" + c.codePointAt(0).toString(16).toUpperCase() + ">"));
  // characters of `node` from `start` on, drawn left to right on each line?
  const outOfOrder = (node, start) => {
    let prev = null;
    for (let i = start; i < node.data.length; i++) {
      if (/\s/.test(node.data[i])) continue;
      const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getBoundingClientRect();
      if (!rect.width) continue;
      if (prev && Math.abs(rect.top - prev.rect.top) < 2 && rect.left < prev.rect.left - 0.5)
        return `${show(node.data.slice(start).trim())} is drawn out of order: ${show(node.data[i])} left of ${show(prev.ch)}`;
      prev = {rect, ch: node.data[i]};
    }
    return null;
  };
  const found = [], problems = [];
  for (const node of texts(document.body).filter((n) => CONTROLS.test(n.data))) {
    found.push(node.data);
    const where = label(node.parentElement);
    const value = values.filter((v) => node.data.includes(v)).sort((a, b) => b.length - a.length)[0];
    if (value === undefined) { problems.push(`unexpected text with a direction control ${show(node.data)} in ${where}`); continue; }
    const end = node.data.lastIndexOf(value) + value.length;
    if (node.data.slice(end).trim()) problems.push(`${show(value)} shares its text node with ${show(node.data.slice(end))} in ${where}`);
    let box = node.parentElement;
    while (!isolating(box) && !block(box)) box = box.parentElement;
    const inBox = texts(box).filter((t) => node.compareDocumentPosition(t) & FOLLOWING);
    if (inBox.length) problems.push(`${show(value)} is not isolated in ${where}: ${label(box)} goes on with ${show(inBox[0].data)}`);
    let para = node.parentElement;
    while (!block(para)) para = para.parentElement;
    const drawn = [outOfOrder(node, end)];
    for (const t of texts(para)) if (node.compareDocumentPosition(t) & FOLLOWING && !CONTROLS.test(t.data)) drawn.push(outOfOrder(t, 0));
    for (const d of drawn) if (d) problems.push(`after ${show(value)} in ${label(para)}: ${d}`);
  }
  return {found, problems};
}"""
VALUES = [CHANNEL, SENDER, REVIEWER, ANALYST, HANDLE, RLO_TEXT]


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[str, object]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/queue.db", evidence_dir=tmp_path / "evidence",
                        secret_key="b" * 40)
    app = create_app(settings)
    make_users(app.state.engine, (REVIEWER, "reviewer"), (ANALYST, "analyst"), ("ann", "analyst"))
    with LiveServer(app) as url:
        yield url, app
    app.state.engine.dispose()


@pytest.fixture
def page(browser, site):  # noqa: F811
    url, _ = site
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def spoofing_world(engine) -> dict[str, int]:
    """Messages in a channel whose name, sender, analysts and a contact carry direction controls:
    a cluster of three posts, a shared Telegram username, labels, a lease held by the analyst, a case."""
    contact = "call abuali 1500 USD"
    start = contact.index("abuali")
    first, second, other, body = store_items(engine, [
        Item(f"girl for sale {contact}", 0.91, channel=CHANNEL, minutes=0,
             signals=[{"type": "contact", "subtype": "username", "value": HANDLE, "start": 14 + start,
                       "end": 14 + start + 6, "text": "abuali"}]),
        Item("girl for sale call abuali 1400 USD", 0.9, channel=CHANNEL, minutes=5),
        Item("girl for sale call zed99 1500 USD", 0.8, channel="plain", minutes=7,
             signals=[{"type": "contact", "subtype": "username", "value": "@zed99", "start": 19, "end": 24,
                       "text": "zed99"}]),
        Item(RLO_TEXT, 0.7, channel=CHANNEL, minutes=10),
    ])
    with session_scope(engine) as s:
        for message in s.scalars(select(Message).where(Message.id.in_([first, second]))):
            message.sender_name = SENDER
        cluster = Cluster(size=3, representative_id=first)
        entity = Entity(kind="telegram", key=HANDLE[1:], size=2)
        s.add_all([cluster, entity])
        s.flush()
        s.add_all([ClusterMember(message_id=m, cluster_id=cluster.id) for m in (first, second, other)])
        s.add_all([EntityMember(entity_id=entity.id, message_id=m, via=HANDLE) for m in (first, other)])
        refresh_queue(s)
        users = {u.name: u for u in s.scalars(select(User))}
        for name in (ANALYST, "ann"):
            for message_id in (first, other):
                record_decision(s, users[name], message_id, "analyst", "listing")
        s.add(Lease(message_id=first, user_id=users[ANALYST].id,
                    expires_at=datetime.now(timezone.utc) + timedelta(hours=1)))
        case = Case(ref=CASE_REF, tlp="AMBER", summary="reposted listing", cluster_id=cluster.id, created_by=REVIEWER)
        s.add(case)
        s.flush()
        s.add(CaseMessage(case_id=case.id, message_id=first))
        return {"item": first, "cluster": cluster.id, "entity": entity.id}


def check(page, path: str, expected: list[str]) -> list[str]:
    page.goto(path)
    assert page.url.split("?")[0].endswith(path.split("?")[0]), f"{path} redirected to {page.url}"
    result = page.evaluate(CHECK, VALUES)
    for value in expected:  # the names are really on the page, so the check is not vacuous
        assert any(value in text for text in result["found"]), f"{value!r} not shown on {path}"
    return [f"{path}: {problem}" for problem in result["problems"]]


def test_the_check_sees_an_override_leak_and_its_isolation(page):
    leak = f"<p><span>{CHANNEL}</span> · 2024-03-01 09:05 · score 0.91</p><p><b>{ANALYST} · ann</b></p>"
    page.set_content(leak)
    problems = page.evaluate(CHECK, VALUES)["problems"]
    assert sum("is drawn out of order" in p for p in problems) == 2, problems
    assert sum("is not isolated" in p for p in problems) == 1 and sum("shares its text node" in p for p in problems) == 1
    page.set_content(f"<p><bdi>{CHANNEL}</bdi> · 2024-03-01 09:05 · score 0.91</p><p><b><bdi>{ANALYST}</bdi> · ann</b></p>")
    assert page.evaluate(CHECK, VALUES) == {"found": [CHANNEL, ANALYST], "problems": []}


def test_names_with_direction_controls_are_isolated_on_every_page(page, site):
    _, app = site
    ids = spoofing_world(app.state.engine)
    log_in(page, REVIEWER)
    problems = []
    problems += check(page, "/queue?state=any", [REVIEWER, CHANNEL, RLO_TEXT])
    problems += check(page, f"/items/{ids['item']}", [REVIEWER, CHANNEL, SENDER, ANALYST, HANDLE, RLO_TEXT])
    problems += check(page, f"/clusters/{ids['cluster']}", [REVIEWER, CHANNEL, HANDLE])
    problems += check(page, f"/entities/{ids['entity']}", [REVIEWER, CHANNEL, HANDLE])
    problems += check(page, "/cases", [REVIEWER])
    problems += check(page, f"/cases/{CASE_REF}", [REVIEWER, CHANNEL])
    problems += check(page, "/stats", [REVIEWER, ANALYST])
    assert problems == [], "\n".join(problems)


def test_the_item_page_shows_what_follows_a_name_in_order(page, site):
    """The concrete spoof: the date and score after an overridden channel name read as written."""
    _, app = site
    ids = spoofing_world(app.state.engine)
    log_in(page, REVIEWER)
    page.goto(f"/items/{ids['item']}")
    line = page.locator("#links .link-list li").first.locator("span.muted")
    assert line.inner_text().endswith("· 2024-03-01 09:05 · score 0.90 · not labelled")
    order = line.evaluate(r"""(el) => {
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), xs = {};
      while (walk.nextNode()) {
        const n = walk.currentNode;
        for (const word of ["2024", "09:05", "score", "0.90"]) {
          const i = n.data.indexOf(word);
          if (i < 0) continue;
          const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
          xs[word] = r.getBoundingClientRect().left;
        }
      }
      return xs;
    }""")
    assert order["2024"] < order["09:05"] < order["score"] < order["0.90"], order
