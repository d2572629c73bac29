"""The labelling queue through its HTTP interface (TestClient) on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import stat
import threading
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.cli import main as cli
from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, Label, Lease, QueueItem, Score, User
from labeling import queue as q
from labeling.accounts import LoginLimiter
from labeling.app import create_app
from labeling.demo import ensure_demo_users
from detector.text.display import Segment, segments, text_direction
from detector.review import referable_message_ids, review_state
from labeling.security import session_secret
from labeling.stats import cohen_kappa, pair_agreements
from labeling_support import PASSWORD, Item, add_photo, age_signal, csrf_of, login, make_users, store_items

SECRET = "s" * 40


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key=SECRET)


@pytest.fixture
def app(settings):
    application = create_app(settings)
    make_users(application.state.engine, ("ann", "analyst"), ("bob", "analyst"), ("cat", "analyst"),
               ("rev", "reviewer"), ("rita", "reviewer"), ("root", "admin"))
    yield application
    application.state.engine.dispose()


@pytest.fixture
def engine(app):
    return app.state.engine


def client_for(app, name: str | None = None) -> TestClient:
    client = TestClient(app)
    if name:
        assert login(client, name).status_code == 303
    return client


def decide(client: TestClient, message_id: int, decision: str, role: str = "analyst", **extra):
    token = csrf_of(client, "/settings")
    data = {"decision": decision, "role": role, "csrf_token": token, **extra}
    return client.post(f"/items/{message_id}/decision", data=data, follow_redirects=False)


def events(engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def labels_of(engine, message_id: int) -> list[Label]:
    with session_scope(engine) as s:
        return list(s.scalars(select(Label).where(Label.message_id == message_id).order_by(Label.id)))


def state_of(engine, message_id: int) -> str:
    with session_scope(engine) as s:
        return s.get(QueueItem, message_id).state


# --------------------------------------------------------------------------- accounts and sessions


def test_every_page_needs_login(app, engine):
    [mid] = store_items(engine, [Item("offer")])
    media = add_photo(engine, app.state.settings.evidence_dir, mid, b"png")
    anonymous = TestClient(app)
    token = csrf_of(anonymous)
    paths = app.openapi()["paths"]  # every route of the app, whoever added it
    routes = [(method.upper(), re.sub(r"\{[a-z_]+\}", "1", path).replace("/items/1", f"/items/{mid}")
               .replace("/media/1", f"/media/{media}")) for path, ops in paths.items() if path != "/login" for method in ops]
    assert len(routes) >= 17
    for method, path in routes:
        if method == "GET" and not path.startswith("/api/"):
            page = anonymous.get(path, follow_redirects=False)
            assert page.status_code == 303 and page.headers["location"].startswith("/login?next="), path
        response = anonymous.request(method, path, headers={"Accept": "application/json", "X-CSRF-Token": token})
        assert response.status_code == 401 and response.json() == {"error": "please log in"}, path
    assert labels_of(engine, mid) == []
    assert anonymous.get("/static/app.js").status_code == 200  # assets only


def test_login_sets_a_protected_cookie_and_logout_ends_it(app, engine):
    client, other_device = TestClient(app), client_for(app, "ann")
    wrong = login(client, "ann", "not the password")
    assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
    right = login(client, "ann")
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert client.get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/queue")}, follow_redirects=False).status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 303
    assert other_device.get("/queue", follow_redirects=False).status_code == 303  # a copied cookie ends too
    assert login(client, "ann").status_code == 303 and client.get("/queue").status_code == 200
    assert [e.actor for e in events(engine, "login_failed")] == ["ann"]
    assert [e.actor for e in events(engine, "login")] == ["ann"] * 3
    assert [e.actor for e in events(engine, "logout")] == ["ann"]


def test_secure_cookie_flag_is_configurable(settings):
    application = create_app(settings, secure_cookies=True)
    make_users(application.state.engine, ("ann", "analyst"))
    response = login(TestClient(application, base_url="https://testserver"), "ann")
    assert "secure" in response.headers["set-cookie"].lower()
    application.state.engine.dispose()


def test_login_is_rate_limited_per_user_and_address_pair_and_per_address(settings):
    application = create_app(settings, limiter=LoginLimiter(per_pair=3, per_address=5))
    make_users(application.state.engine, ("ann", "analyst"), ("bob", "analyst"))
    client = TestClient(application)
    for _ in range(3):
        assert login(client, "ann", "wrong-password").status_code == 401
    blocked = login(client, "ann")  # even the right password waits now, from this address
    assert blocked.status_code == 429
    assert "Too many failed logins for this account from this address; wait 15 minutes." in blocked.text
    assert login(client, "bob", "wrong-password").status_code == 401
    assert login(client, "bob", "wrong-password").status_code == 401
    assert login(client, "bob").status_code == 429  # five failures from this address
    assert login(TestClient(application, client=("192.0.2.8", 4000)), "ann").status_code == 303  # elsewhere: fine
    application.state.engine.dispose()


def test_a_request_without_csrf_token_is_refused(app, engine):
    [mid] = store_items(engine, [Item("offer")])
    client = client_for(app, "ann")
    no_token = client.post(f"/items/{mid}/decision", data={"decision": "listing", "role": "analyst"})
    assert no_token.status_code == 403 and "did not come from this site" in no_token.text
    forged = client.post(f"/items/{mid}/decision", data={"decision": "listing", "role": "analyst", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.post("/settings", data={"break_minutes": "5"}).status_code == 403
    assert labels_of(engine, mid) == []
    header = client.post(f"/items/{mid}/decision", data={"decision": "listing", "role": "analyst"},
                         headers={"X-CSRF-Token": csrf_of(client, "/queue")}, follow_redirects=False)
    assert header.status_code == 303
    assert [lab.decision for lab in labels_of(engine, mid)] == ["listing"]


def test_an_analyst_cannot_act_as_reviewer(app, engine):
    [mid] = store_items(engine, [Item("offer")])
    client = client_for(app, "ann")
    assert client.get("/review").status_code == 403
    assert client.get("/next?state=review").status_code == 403
    refused = decide(client, mid, "listing", role="reviewer")
    assert refused.status_code == 403 and "cannot decide as reviewer" in refused.text
    assert labels_of(engine, mid) == []
    assert client_for(app, "rev").get("/review").status_code == 200
    assert client_for(app, "root").get("/review").status_code == 200


def test_bad_filter_values_get_one_clear_message(app):
    client = client_for(app, "ann")
    page = client.get("/queue?date_from=yesterday")
    assert page.status_code == 400 and "date_from must be a date like 2024-05-31" in page.text
    assert client.get("/queue?order=random", headers={"Accept": "application/json"}).json() == {
        "error": "unknown order 'random': use priority, score, uncertainty, active"}


# --------------------------------------------------------------------------- queue


def test_queue_orders_by_priority_with_minor_boost_and_recency(engine):
    text = "girl 15 years for sale"
    ids = store_items(engine, [
        Item("plain high", 0.95, minutes=0),
        Item(text, 0.71, signals=[age_signal(text, 15)], minutes=1),  # exact score + minor boost = 1.01
        Item("older, higher", 0.92, minutes=2),
        Item("newer, lower", 0.91, minutes=30),  # exact scores: no 0.1 band lets recency lift it
        Item("low", 0.55, minutes=40),
        Item("not flagged", 0.3, flagged=False),
    ])
    with session_scope(engine) as s:
        q.refresh_queue(s)
        ordered = [row.item.message_id for row in q.list_items(s, q.QueueFilter(), user_id=0)]
        uncertain = [row.item.message_id for row in q.list_items(s, q.QueueFilter(order="uncertainty"), user_id=0)]
    assert ordered == [ids[1], ids[0], ids[2], ids[3], ids[4]]
    assert uncertain == [ids[4], ids[1], ids[3], ids[2], ids[0]]


def test_queue_filters(engine):
    text = "boy 12 for sale"
    ids = store_items(engine, [
        Item("ar offer", language="ar", channel="north", minutes=0),
        Item(text, language="en", channel="south", signals=[age_signal(text, 12)], minutes=60 * 24 * 3),
        Item("fa offer", language="fa", channel="south", minutes=60 * 24 * 10),
    ])
    with session_scope(engine) as s:
        q.refresh_queue(s)
        south = s.get(QueueItem, ids[1]).source_id

        def found(**kw):
            return {row.item.message_id for row in q.list_items(s, q.QueueFilter(**kw), user_id=0)}

        assert found(language="ar") == {ids[0]}
        assert found(source=south) == {ids[1], ids[2]}
        assert found(signal="age") == {ids[1]}
        assert found(date_from=datetime(2024, 3, 3).date(), date_to=datetime(2024, 3, 5).date()) == {ids[1]}
        assert found(state="confirmed") == set()
        assert found(state="any") == set(ids)


def test_rescoring_updates_the_queue(engine):
    ids = store_items(engine, [Item("offer one", 0.9), Item("offer two", 0.8)])
    with session_scope(engine) as s:
        q.refresh_queue(s)
        s.add(Score(message_id=ids[0], model_version="test-2", probability=0.1, flagged=False, tier="fast"))
        s.add(Score(message_id=ids[1], model_version="test-2", probability=0.66, flagged=True, tier="fast"))
    with session_scope(engine) as s:
        assert q.refresh_queue(s) == 2
        assert q.refresh_queue(s) == 0
        assert s.get(QueueItem, ids[0]).flagged is False
        assert s.get(QueueItem, ids[1]).probability == 0.66
        assert q.count_items(s, q.QueueFilter()) == 1


def test_two_analysts_are_never_served_the_same_item(app, engine):
    ids = store_items(engine, [Item("offer a", 0.9), Item("offer b", 0.8)])
    ann, bob, cat = client_for(app, "ann"), client_for(app, "bob"), client_for(app, "cat")
    first = ann.get("/next", follow_redirects=False).headers["location"]
    second = bob.get("/next", follow_redirects=False).headers["location"]
    assert first.startswith(f"/items/{ids[0]}?") and second.startswith(f"/items/{ids[1]}?")
    assert ann.get("/next", follow_redirects=False).headers["location"] == first  # still hers
    assert cat.get("/next", follow_redirects=False).headers["location"].startswith("/queue?")  # nothing free
    assert "<bdi>ann</bdi> is working on this item right now." in cat.get(f"/items/{ids[0]}").text
    with session_scope(engine) as s:  # after the lease expires the item is free again
        later = datetime.now(timezone.utc) + q.LEASE_TIME + timedelta(seconds=1)
        assert q.claim(s, 3, ids[0], now=later)


def test_a_lease_is_claimed_by_exactly_one_of_many_at_once(engine):
    [mid] = store_items(engine, [Item("offer")])
    make_users(engine, *[(f"u{n}", "analyst") for n in range(6)])
    with session_scope(engine) as s:
        q.refresh_queue(s)
        user_ids = list(s.scalars(select(User.id)))
    barrier = threading.Barrier(len(user_ids))
    won: list[int] = []

    def grab(user_id: int) -> None:
        barrier.wait()
        with session_scope(engine) as s:
            if q.claim(s, user_id, mid):
                won.append(user_id)

    threads = [threading.Thread(target=grab, args=(u,)) for u in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    with session_scope(engine) as s:
        assert s.scalars(select(Lease.user_id)).all() == won


def test_simultaneous_requests_for_the_next_item_get_different_items(app, engine):
    ids = store_items(engine, [Item(f"offer {n}", 0.9) for n in range(4)])
    clients = [client_for(app, name) for name in ("ann", "bob", "cat", "root")]
    barrier = threading.Barrier(len(clients))
    served: list[str] = []

    def ask(client: TestClient) -> None:
        barrier.wait()
        served.append(client.get("/next?state=open", follow_redirects=False).headers["location"].split("?")[0])

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(served) == sorted(f"/items/{m}" for m in ids)


def test_simultaneous_submissions_never_lose_a_label(app, engine):
    [mid] = store_items(engine, [Item("offer")])
    people = [("ann", "analyst", "listing"), ("bob", "analyst", "not_listing"), ("cat", "analyst", "listing"),
              ("rev", "reviewer", "listing"), ("rita", "reviewer", "listing")]
    clients = {name: client_for(app, name) for name, _, _ in people}
    tokens = {name: csrf_of(c, "/settings") for name, c in clients.items()}
    barrier = threading.Barrier(len(people))
    statuses: list[int] = []

    def submit(name: str, role: str, decision: str) -> None:
        barrier.wait()
        response = clients[name].post(f"/items/{mid}/decision", follow_redirects=False,
                                      data={"decision": decision, "role": role, "csrf_token": tokens[name]})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=p) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * 5
    assert sorted(lab.decision for lab in labels_of(engine, mid)) == sorted(d for _, _, d in people)
    assert state_of(engine, mid) == "confirmed"  # two reviewers outweigh the dissenting analyst
    assert len(events(engine, "decision")) == 3 and len(events(engine, "review")) == 2


# --------------------------------------------------------------------------- review


@pytest.mark.parametrize("analyst, reviewer, state", [
    ([], [], "open"),
    (["listing"], [], "awaiting_review"),
    (["not_listing"], [], "not_listing"),
    (["unsure"], [], "unsure"),
    (["listing", "not_listing"], [], "disputed"),
    (["listing"], ["listing"], "confirmed"),
    (["listing"], ["not_listing"], "disputed"),
    (["listing"], ["not_listing", "not_listing"], "not_listing"),
    (["not_listing"], ["listing"], "disputed"),
    ([], ["listing"], "awaiting_review"),
    ([], ["listing", "listing"], "confirmed"),
    ([], ["listing", "not_listing"], "disputed"),
    (["listing"], ["unsure"], "awaiting_review"),
])
def test_review_state(analyst, reviewer, state):
    assert review_state(analyst, reviewer) == state


def test_review_flow_to_referral(app, engine):
    ids = store_items(engine, [Item("offer a", 0.9), Item("offer b", 0.8), Item("offer c", 0.7)])
    ann, bob, rev = client_for(app, "ann"), client_for(app, "bob"), client_for(app, "rev")
    assert decide(ann, ids[0], "listing", tags=["minor", "auction"], note="age 15").status_code == 303
    assert decide(ann, ids[1], "listing").status_code == 303
    assert decide(bob, ids[1], "not_listing").status_code == 303
    assert decide(ann, ids[2], "not_listing").status_code == 303
    assert [state_of(engine, m) for m in ids] == ["awaiting_review", "disputed", "not_listing"]
    with session_scope(engine) as s:
        assert referable_message_ids(s) == []
    review_queue = rev.get("/review").text
    assert f"/items/{ids[0]}?" in review_queue and f"/items/{ids[1]}?" in review_queue and f"/items/{ids[2]}?" not in review_queue
    assert rev.get("/next?state=review", follow_redirects=False).headers["location"].startswith(f"/items/{ids[0]}?")
    after = decide(rev, ids[0], "listing", role="reviewer")
    assert after.headers["location"].startswith(f"/items/{ids[1]}?")  # on to the next item under review
    assert state_of(engine, ids[0]) == "confirmed"
    with session_scope(engine) as s:
        assert referable_message_ids(s) == [ids[0]]
    [label] = [lab for lab in labels_of(engine, ids[0]) if lab.role == "analyst"]
    assert label.tags == ["auction", "minor"] and label.note == "age 15"


# --------------------------------------------------------------------------- audit and pages


def test_every_action_is_audited_and_the_item_shows_its_history(app, engine):
    [mid] = store_items(engine, [Item("offer")])
    media = add_photo(engine, app.state.settings.evidence_dir, mid, b"\x89PNG photo bytes")
    ann = client_for(app, "ann")
    decide(ann, mid, "unsure", note="<b>check</b> later")
    token = csrf_of(ann, "/settings")
    assert ann.post(f"/media/{media}/reveal", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert ann.post(f"/media/{media}/reveal", headers={"X-CSRF-Token": token, "Accept": "application/json"}).status_code == 204
    ann.post("/settings", data={"csrf_token": token, "break_minutes": "25"}, follow_redirects=False)
    decide(client_for(app, "rev"), mid, "not_listing", role="reviewer")

    [decision] = events(engine, "decision")
    assert (decision.actor, decision.object_type, decision.object_id) == ("ann", "message", str(mid))
    assert decision.before == {"state": "open"} and decision.after["state"] == "unsure"
    assert decision.after["note"] == "<b>check</b> later"
    [review] = events(engine, "review")
    assert review.before == {"state": "unsure"} and review.after["state"] == "not_listing"
    assert [e.object_id for e in events(engine, "reveal_photo")] == [str(media)] * 2
    [change] = events(engine, "settings_change")
    assert change.before["blur_photos"] is True and change.after == {"blur_photos": False, "break_minutes": 25, "language": "en"}

    page = ann.get(f"/items/{mid}").text
    assert "&lt;b&gt;check&lt;/b&gt; later" in page and "<b>check</b>" not in page
    history = page[page.index("<h2>History</h2>"):]
    assert history.index("<b><bdi>ann</bdi></b>") < history.index("<b><bdi>rev</bdi></b>")
    assert 'class="blurred"' not in page  # she switched blurring off


def test_photos_are_blurred_by_default_and_streamed_by_id(app, engine):
    [mid] = store_items(engine, [Item("offer")])
    png = add_photo(engine, app.state.settings.evidence_dir, mid, b"\x89PNG bytes")
    svg = add_photo(engine, app.state.settings.evidence_dir, mid, b"<svg onload=alert(1)>", mime="image/svg+xml")
    client = client_for(app, "ann")
    page = client.get(f"/items/{mid}").text
    assert f'src="/media/{png}" alt="Photo attached to the message" class="blurred"' in page
    blurred = client.get(f"/media/{png}")  # not revealed: a derived JPEG (grey: these bytes do not decode)
    assert blurred.content != b"\x89PNG bytes" and blurred.headers["content-type"] == "image/jpeg"
    assert client.get(f"/media/{png}?original=1").status_code == 403
    token = csrf_of(client, "/settings")
    for media in (png, svg):
        client.post(f"/media/{media}/reveal", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    photo = client.get(f"/media/{png}")
    assert photo.content == b"\x89PNG bytes" and photo.headers["content-type"] == "image/png"
    risky = client.get(f"/media/{svg}")
    assert risky.headers["content-type"] == "application/octet-stream"
    assert risky.headers["content-disposition"].startswith("attachment")
    assert client.get("/media/9999").status_code == 404
    revealed = client.get(f"/items/{mid}?reveal={png}").text
    assert f'src="/media/{png}" alt="Photo attached to the message" class=""' in revealed


def test_hostile_text_is_escaped_and_headers_are_strict(app, engine):
    text = '<script>alert(1)</script><img src=x onerror=alert(2)> <a href="javascript:alert(3)">x</a> girl 15'
    [mid] = store_items(engine, [Item(text, signals=[age_signal(text, 15)])])
    client = client_for(app, "ann")
    for page in (client.get("/queue"), client.get(f"/items/{mid}")):
        assert "<script>alert" not in page.text and "<img src=x" not in page.text and '<a href="javascript' not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
    assert '<mark class="sig sig-age" title="age 15 (minor)">15</mark>' in client.get(f"/items/{mid}").text


def test_item_page_shows_rtl_text_context_and_model(app, engine):
    ids = store_items(engine, [
        Item("قبلها", language="ar", minutes=0, probability=0.2, flagged=False),
        Item("بنت للبيع", language="ar", minutes=1, probability=0.93),
        Item("کچ بۆ فرۆشتن", language="ckb", minutes=2, probability=0.2, flagged=False),
    ])
    page = client_for(app, "ann").get(f"/items/{ids[1]}").text
    assert 'dir="rtl" lang="ar">بنت للبيع</div>' in page
    assert "قبلها" in page and "کچ بۆ فرۆشتن" in page
    assert "0.93" in page and "test-1" in page and "market" in page


def test_keyboard_navigation_links_follow_history(app, engine):
    ids = store_items(engine, [Item("offer a", 0.9), Item("offer b", 0.8), Item("offer c", 0.7)])
    client = client_for(app, "ann")
    client.get(client.get("/next", follow_redirects=False).headers["location"])
    to_b = client.get(f"/items/{ids[0]}/next", follow_redirects=False).headers["location"]
    assert to_b.startswith(f"/items/{ids[1]}?")
    client.get(to_b)
    assert client.get(f"/items/{ids[1]}/prev", follow_redirects=False).headers["location"].startswith(f"/items/{ids[0]}?")
    assert client.get(f"/items/{ids[0]}/next", follow_redirects=False).headers["location"].startswith(f"/items/{ids[1]}?")
    assert client.get(f"/items/{ids[1]}/next", follow_redirects=False).headers["location"].startswith(f"/items/{ids[2]}?")


# --------------------------------------------------------------------------- statistics


def test_cohen_kappa_matches_a_hand_computed_value():
    # 10 items: agreement 7/10; rater A says yes 5 times, B 6 times: p_e = (5*6 + 5*4) / 100 = 0.5
    a = ["y"] * 5 + ["n"] * 5
    b = ["y", "y", "y", "y", "n", "n", "n", "n", "y", "y"]
    assert cohen_kappa(list(zip(a, b))) == pytest.approx(0.4)
    # three categories: p_o = 2/5; both raters l2 n2 u1: p_e = (2*2 + 2*2 + 1*1)/25 = 0.36
    pairs = [("l", "l"), ("l", "n"), ("n", "n"), ("n", "u"), ("u", "l")]
    assert cohen_kappa(pairs) == pytest.approx((0.4 - 0.36) / 0.64)  # 0.0625
    assert cohen_kappa([("l", "l"), ("l", "l")]) == 1.0
    assert cohen_kappa([]) is None


def test_stats_page_counts_and_pairs(app, engine):
    ids = store_items(engine, [Item(f"offer {n}", 0.9 - n / 100) for n in range(4)])
    ann, bob = client_for(app, "ann"), client_for(app, "bob")
    for mid, a, b in zip(ids, ["listing", "listing", "not_listing", "not_listing"],
                         ["listing", "not_listing", "not_listing", "not_listing"]):
        decide(ann, mid, a)
        decide(bob, mid, b)
    decide(ann, ids[0], "skip")
    page = ann.get("/stats").text
    # p_o = 3/4; ann: l2 n2, bob: l1 n3: p_e = (2*1 + 2*3)/16 = 0.5 -> kappa 0.5
    assert "<th><bdi>ann</bdi> · <bdi>bob</bdi></th><td class=\"num\">4</td><td class=\"num\">75%</td><td class=\"num\">0.50</td>" in page
    assert '<td class="num" data-state="disputed">1</td>' in page
    assert '<td class="num" data-state="awaiting_review">1</td>' in page
    assert '<td class="num" data-state="not_listing">2</td>' in page
    # ann's skip after her listing is a change of mind, not a final decision
    assert ('<tr data-user="ann"><th><bdi>ann</bdi></th><td class="num">2</td><td class="num">2</td><td class="num">0</td>'
            '<td class="num">0</td><td class="num total">4</td><td class="num changes">1</td>') in page
    assert pair_agreements({"x": {1: "listing"}, "y": {2: "listing"}}) == []


# --------------------------------------------------------------------------- pure helpers


def test_highlight_segments_drop_invalid_and_overlapping_spans():
    text = "girl 15 price 500$"
    spans = [
        {"type": "age", "value": {"min": 15, "max": 15, "minor": True}, "start": 5, "end": 7},
        {"type": "price", "value": {"amount": 1500.0, "currency": "USD"}, "start": 14, "end": 18},
        {"type": "term", "subtype": "sale", "value": "sale", "start": 6, "end": 9},  # overlaps age
        {"type": "contact", "start": 30, "end": 40},  # beyond the text
        {"type": "<script>", "value": "x", "start": 0, "end": 4},  # unknown type
    ]
    assert segments(text, spans) == [
        Segment("girl", "other", "<script>: x"), Segment(" "), Segment("15", "age", "age 15 (minor)"),
        Segment(" price "), Segment("500$", "price", "price 1,500 USD"),
    ]
    assert "".join(s.text for s in segments(text, spans)) == text
    assert [text_direction(c) for c in ("ar", "ckb", "fa", "kmr", "en", None)] == ["rtl"] * 3 + ["auto"] * 3


def test_generated_session_secret_is_private_and_reused(tmp_path):
    settings = Settings(evidence_dir=tmp_path / "evidence")
    first = session_secret(settings)
    path = tmp_path / ".detector-secret-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert session_secret(settings) == first and len(first) >= 32


# --------------------------------------------------------------------------- commands and demo


def test_users_commands(db_url):
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "nadia", "--role", "reviewer", "--password-stdin", "--db", db_url],
                          input="long enough password\n")
    assert added.exit_code == 0, added.output
    assert "Added reviewer nadia." in added.output
    again = runner.invoke(cli, ["users", "add", "nadia", "--role", "analyst", "--password-stdin", "--db", db_url],
                          input="long enough password\n")
    assert again.exit_code == 1 and "Error: a user named 'nadia' already exists" in again.output
    short = runner.invoke(cli, ["users", "add", "omar", "--role", "analyst", "--db", db_url], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    listing = runner.invoke(cli, ["users", "list", "--db", db_url])
    assert "nadia" in listing.output and "reviewer" in listing.output and "omar" not in listing.output


def test_demo_users_are_created_once_and_can_log_in(app, engine):
    first = ensure_demo_users(engine)
    assert ensure_demo_users(engine) == first
    assert {role for _, role, _ in first} == {"analyst", "reviewer", "admin"}
    for name, _, password in first:
        assert login(TestClient(app), name, password).status_code == 303
    assert PASSWORD not in [p for _, _, p in first]


def test_json_api(app, engine):
    ids = store_items(engine, [Item("offer a", 0.9), Item("offer b", 0.8)])
    ann = client_for(app, "ann")
    listed = ann.get("/api/queue").json()
    assert listed["total"] == 2 and [i["message_id"] for i in listed["items"]] == ids
    body = {"decision": "listing", "role": "analyst", "tags": ["minor"], "note": "n"}
    assert ann.post(f"/api/items/{ids[0]}/decision", json=body).status_code == 403  # no CSRF header
    token = csrf_of(ann, "/settings")
    made = ann.post(f"/api/items/{ids[0]}/decision", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 200 and made.json()["state"] == "awaiting_review"
    bad = ann.post(f"/api/items/{ids[0]}/decision", json={**body, "decision": "maybe"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400 and bad.json() == {"error": "unknown decision 'maybe'"}
    missing = ann.post("/api/items/999999/decision", json=body, headers={"X-CSRF-Token": token})
    assert missing.status_code == 404 and missing.json() == {"error": "message 999999 is not in the queue"}
    stats = ann.get("/api/stats").json()
    assert stats["states"] == {"awaiting_review": 1, "open": 1} and stats["per_user"] == {"ann": {"listing": 1}}
