"""Building cases in the web app (HTTP, SQLite and PostgreSQL): from a cluster, an entity or ticked queue items;
adding and removing messages with every message left out named with its reason; translations and masks; roles,
CSRF and escaping."""

from __future__ import annotations

import html as markup
import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, Case, Cluster, ClusterMember, Entity, EntityMember, Label, User
from labeling.app import create_app
from labeling.case_edit import router as case_edit_router
from labeling_support import T0, Item, csrf_of, login, make_users, store_items
from reports.case_members import ABSENT, LAST, PRESENT, UNCONFIRMED, UNKNOWN, sort_out
from reports.redact import NAME_MASK, PHONE_MASK

HOSTILE = '<script>alert("text")</script><img src=x onerror=alert(1)> girl 15 for sale +964 770 555 0199'
HOSTILE_NOTE = "<b>seen</b><script>alert('note')</script>"


@dataclass
class CaseWorld:
    """The app and its messages: a cluster of a confirmed and an unconfirmed post, and a phone shared by
    two confirmed messages (one hostile) and an unlabelled one."""

    app: FastAPI
    engine: Engine
    listed: int  # confirmed; in the cluster; names the victim Layla
    pending: int  # an analyst's "listing" only; in the cluster
    phone_a: int  # confirmed; carries the phone
    hostile: int  # confirmed, with markup in its text and its note; carries the phone
    unlabelled: int  # carries the phone
    cluster_id: int
    entity_id: int


def _label(engine: Engine, message_id: int, name: str, role: str, note: str = "", minutes: int = 0) -> None:
    with session_scope(engine) as s:
        user = s.scalar(select(User).where(User.name == name))
        s.add(Label(message_id=message_id, user_id=user.id, role=role, decision="listing", tags=[], note=note,
                    created_at=T0 + timedelta(minutes=minutes)))


def build_case_world(db_url: str, tmp_path) -> CaseWorld:
    """Messages, labels, a cluster and an entity made through the ORM on a migrated database."""
    app = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key="s" * 40))
    engine = app.state.engine
    make_users(engine, ("rita", "reviewer"), ("ann", "analyst"), ("boss", "admin"))
    ids = store_items(engine, [
        Item("Layla, 15, for sale in Mosul. call 0770 111 2222", 0.97, minutes=1),
        Item("Layla 15 for sale, Mosul, 0770 111 2222 call now", 0.95, minutes=2, channel="bazaar"),
        Item("girl for sale, ask +964 770 555 0199", 0.9, minutes=3),
        Item(HOSTILE, 0.93, minutes=4),
        Item("worker available +964 770 555 0199", 0.6, minutes=5),
    ])
    listed, pending, phone_a, hostile, unlabelled = ids
    for mid in (listed, phone_a, hostile):
        _label(engine, mid, "ann", "analyst", HOSTILE_NOTE if mid == hostile else "")
        _label(engine, mid, "rita", "reviewer", minutes=30)
    _label(engine, pending, "ann", "analyst")
    with session_scope(engine) as s:
        cluster = Cluster(size=2, representative_id=listed)
        entity = Entity(kind="phone", key="+9647705550199", size=3)
        s.add_all([cluster, entity])
        s.flush()
        s.add_all(ClusterMember(message_id=m, cluster_id=cluster.id) for m in (listed, pending))
        s.add_all(EntityMember(entity_id=entity.id, message_id=m, via="+964 770 555 0199")
                  for m in (phone_a, hostile, unlabelled))
        cluster_id, entity_id = cluster.id, entity.id
    return CaseWorld(app, engine, listed, pending, phone_a, hostile, unlabelled, cluster_id, entity_id)


@pytest.fixture
def world(db_url, tmp_path):
    built = build_case_world(db_url, tmp_path)
    yield built
    built.engine.dispose()


def _client(world: CaseWorld, name: str) -> tuple[TestClient, str]:
    client = TestClient(world.app)
    assert login(client, name).status_code == 303
    return client, csrf_of(client, "/settings")


def _case_messages(world: CaseWorld, ref: str) -> list[int]:
    with session_scope(world.engine) as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        return [m.message_id for m in case.messages]


def _left_out(html: str) -> dict[int, str]:
    """The "left out" list of the case page's outcome notice: message id -> reason."""
    notice = re.search(r'id="case-outcome">(.*?)</section>', html, re.S)
    assert notice, "no outcome notice"
    return {int(i): markup.unescape(why) for i, why in re.findall(r'data-message="(\d+)">.*?<span class="why">([^<]*)</span>', notice[1])}


def test_left_out_messages_each_get_their_reason():
    chosen = sort_out([5, 3, 9, 3, 1, 7], known={1, 3, 5, 7}, referable={1, 5, 7}, present={7})
    assert chosen.taken == [1, 5]
    assert chosen.left_out == [(3, UNCONFIRMED), (7, PRESENT), (9, UNKNOWN)]
    assert chosen.describe() == ("message 3 is not confirmed by an analyst and a reviewer; "
                                 "message 7 is already in the case; message 9 is not a stored message")


def test_every_case_building_route_needs_a_login_a_reviewer_and_the_csrf_token(world):
    routes = [(m, r.path.format(ref="CASE-2026-0001")) for r in case_edit_router.routes if isinstance(r, APIRoute)
              for m in r.methods]
    assert {path for _, path in routes} == {"/cases/extend", "/cases/CASE-2026-0001/remove",
                                            "/cases/CASE-2026-0001/translation", "/cases/CASE-2026-0001/masks",
                                            "/cases/CASE-2026-0001/unmask"}
    anonymous = TestClient(world.app)
    token = csrf_of(anonymous)
    analyst, analyst_token = _client(world, "ann")
    reviewer, _ = _client(world, "rita")
    for method, path in routes:
        assert anonymous.request(method, path, headers={"Accept": "application/json", "X-CSRF-Token": token}
                                 ).status_code == 401, path
        assert analyst.request(method, path, data={"csrf_token": analyst_token, "case": "CASE-2026-0001"}
                               ).status_code == 403, path
        assert reviewer.request(method, path, data={"case": "CASE-2026-0001"}).status_code == 403, path  # no token


def test_cases_link_buttons_and_queue_ticks_are_for_reviewers_and_admins(world):
    for name in ("rita", "boss"):
        client, _ = _client(world, name)
        assert 'href="/cases" id="nav-cases"' in client.get("/settings").text
        assert client.get("/cases").status_code == 200
        assert 'href="/cases/new?cluster=%d"' % world.cluster_id in client.get(f"/clusters/{world.cluster_id}").text
        assert 'href="/cases/new?entity=%d"' % world.entity_id in client.get(f"/entities/{world.entity_id}").text
        queue = client.get("/queue?state=any").text
        assert f'name="messages" value="{world.listed}" form="case-selection"' in queue and 'id="case-selection"' in queue
    analyst, _ = _client(world, "ann")
    assert 'id="nav-cases"' not in analyst.get("/settings").text and analyst.get("/cases").status_code == 403
    assert "/cases/new" not in analyst.get(f"/clusters/{world.cluster_id}").text
    assert "/cases/new" not in analyst.get(f"/entities/{world.entity_id}").text
    assert 'form="case-selection"' not in analyst.get("/queue?state=any").text


def test_a_case_from_a_cluster_says_which_post_it_left_out_and_why(world):
    client, token = _client(world, "rita")
    preview = client.get(f"/cases/new?cluster={world.cluster_id}").text
    assert "1 of 2 messages can be referred" in preview
    assert re.search(rf'data-message="{world.pending}" class="left-out">.*?left out: it is {UNCONFIRMED}', preview, re.S)
    assert re.search(rf'data-message="{world.listed}" class="taken">', preview)
    opened = client.post("/cases", data={"cluster_id": str(world.cluster_id), "tlp": "AMBER", "csrf_token": token},
                         follow_redirects=False)
    assert opened.status_code == 303
    ref = opened.headers["location"].rsplit("/", 1)[1]
    assert _case_messages(world, ref) == [world.listed]
    page = client.get(f"/cases/{ref}").text
    assert _left_out(page) == {world.pending: UNCONFIRMED}
    assert 'id="case-outcome"' not in client.get(f"/cases/{ref}").text  # the notice is shown once
    assert f"message {world.pending}</a> is <span class=\"why\">{UNCONFIRMED}" in client.get(f"/cases/{ref}").text  # history keeps it
    with session_scope(world.engine) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "case_open"))
        assert event.after["messages"] == [world.listed] and event.after["left_out"] == [[world.pending, UNCONFIRMED]]


def test_nothing_referable_opens_no_case_and_names_each_message(world):
    client, token = _client(world, "rita")
    preview = client.get(f"/cases/new?messages={world.pending}&messages={world.unlabelled}").text
    assert 'id="nothing-referable"' in preview and 'id="open-case"' not in preview
    refused = client.post("/cases", data={"messages": f"{world.pending},{world.unlabelled}", "tlp": "RED",
                                          "csrf_token": token}, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["error"] == (f"no case opened: message {world.pending} is {UNCONFIRMED}; "
                                       f"message {world.unlabelled} is {UNCONFIRMED}")
    bad_tlp = client.post("/cases", data={"messages": str(world.listed), "tlp": "PURPLE", "csrf_token": token})
    assert bad_tlp.status_code == 400
    with session_scope(world.engine) as s:
        assert s.scalars(select(Case)).all() == []


def test_messages_are_added_and_removed_with_what_was_left_out_and_why(world):
    client, token = _client(world, "rita")
    opened = client.post("/cases", data={"messages": str(world.listed), "tlp": "AMBER", "csrf_token": token},
                         follow_redirects=False)
    ref = opened.headers["location"].rsplit("/", 1)[1]
    client.get(f"/cases/{ref}")

    added = client.post("/cases/extend", data={"case": ref, "entity_id": str(world.entity_id), "csrf_token": token})
    assert added.status_code == 200 and _case_messages(world, ref) == sorted([world.listed, world.phone_a, world.hostile])
    assert _left_out(added.text) == {world.unlabelled: UNCONFIRMED}

    again = client.post("/cases/extend", data={"case": ref, "messages": [str(world.listed), f"{world.phone_a}, 999999"],
                                               "csrf_token": token}, headers={"Accept": "application/json"})
    assert again.status_code == 400 and again.json()["error"] == (
        f"nothing added to {ref}: message {world.listed} is {PRESENT}; message {world.phone_a} is {PRESENT}; "
        f"message 999999 is {UNKNOWN}")

    removed = client.post(f"/cases/{ref}/remove", data={"messages": [str(world.phone_a), str(world.pending)],
                                                         "csrf_token": token})
    assert removed.status_code == 200 and _case_messages(world, ref) == sorted([world.listed, world.hostile])
    assert "Removed message" in removed.text and _left_out(removed.text) == {world.pending: ABSENT}

    emptied = client.post(f"/cases/{ref}/remove", data={"messages": f"{world.listed},{world.hostile}",
                                                         "csrf_token": token})
    assert _case_messages(world, ref) == [world.hostile] and _left_out(emptied.text) == {world.hostile: LAST}
    with session_scope(world.engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == ref).order_by(AuditEvent.id)).all()
        assert [a for a in actions if a != "case_view"] == ["case_open", "case_add", "case_remove", "case_remove"]


def test_ticked_queue_items_open_a_case_and_extend_one(world):
    client, token = _client(world, "rita")
    preview = client.get(f"/cases/new?messages={world.listed}&messages={world.pending}").text
    assert "from 2 selected messages" in preview and 'id="extend-case"' not in preview  # no case to extend yet
    opened = client.post("/cases", data={"messages": [str(world.listed), str(world.pending)], "tlp": "GREEN",
                                         "csrf_token": token})
    ref = re.search(r"<h1>(CASE-\d{4}-\d{4})", opened.text)[1]
    assert _left_out(opened.text) == {world.pending: UNCONFIRMED}
    preview = client.get(f"/cases/new?messages={world.phone_a}").text
    assert f'<option value="{ref}">' in preview
    extended = client.post("/cases/extend", data={"case": ref, "messages": str(world.phone_a), "csrf_token": token})
    assert _case_messages(world, ref) == sorted([world.listed, world.phone_a])
    assert re.search(rf"Added message <a href=\"/items/{world.phone_a}\">", extended.text)


def test_translations_and_masks_are_edited_on_the_case_page_and_reach_the_report(world):
    client, token = _client(world, "rita")
    opened = client.post("/cases", data={"messages": f"{world.listed},{world.hostile}", "tlp": "AMBER",
                                         "csrf_token": token}, follow_redirects=False)
    ref = opened.headers["location"].rsplit("/", 1)[1]
    saved = client.post(f"/cases/{ref}/translation", data={"message_id": str(world.listed), "csrf_token": token,
                                                            "translation": "<i>Layla</i>, 15, sold in Mosul"})
    assert saved.status_code == 200 and "&lt;i&gt;Layla&lt;/i&gt;, 15, sold in Mosul</textarea>" in saved.text
    missing = client.post(f"/cases/{ref}/translation", data={"message_id": str(world.pending), "csrf_token": token,
                                                              "translation": "x"})
    assert missing.status_code == 404

    masked = client.post(f"/cases/{ref}/masks", data={"values": "Layla\n\n0770 111 2222\n", "csrf_token": token})
    kinds = dict(re.findall(r"<td><bdi>([^<]*)</bdi></td><td class=\"mask-kind\">([^<]*)</td>", masked.text))
    assert kinds == {"Layla": NAME_MASK, "0770 111 2222": PHONE_MASK}
    report = client.post(f"/cases/{ref}/report", data={"format": "json", "redact": "on", "csrf_token": token})
    text = json.dumps(json.loads(report.content), ensure_ascii=False)
    assert "Layla" not in text and "0770 111 2222" not in text and NAME_MASK in text and PHONE_MASK in text

    kept = client.post(f"/cases/{ref}/unmask", data={"value": "0770 111 2222", "csrf_token": token})
    assert re.findall(r'<td class="mask-kind">', kept.text) == ['<td class="mask-kind">']
    with session_scope(world.engine) as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert case.masked == ["Layla"]
        assert {m.message_id: m.translation for m in case.messages}[world.listed] == "<i>Layla</i>, 15, sold in Mosul"
    refused = client.post(f"/cases/{ref}/unmask", data={"value": "never masked", "csrf_token": token})
    assert refused.status_code == 400


def test_message_text_and_notes_are_escaped_on_every_case_page(world):
    client, token = _client(world, "rita")
    pages = [client.get(f"/cases/new?entity={world.entity_id}").text]
    opened = client.post("/cases", data={"entity_id": str(world.entity_id), "tlp": "AMBER", "csrf_token": token,
                                         "summary": "<u>summary</u>"})
    pages += [opened.text, client.get("/cases").text]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>seen</b>" not in html
        assert "<u>summary</u>" not in html
    assert "&lt;script&gt;alert(&#34;text&#34;)&lt;/script&gt;" in pages[0] + pages[1]
    assert "&lt;b&gt;seen&lt;/b&gt;&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in pages[1]
    assert "&lt;u&gt;summary&lt;/u&gt;" in pages[2]


def test_ids_beyond_the_id_columns_are_refused_cleanly(world):
    client, token = _client(world, "rita")
    client.post("/cases", data={"messages": str(world.listed), "tlp": "AMBER", "csrf_token": token})
    huge = "9" * 30
    requests = [("GET", f"/cases/new?messages={huge}", {}), ("GET", f"/cases/new?cluster={huge}", {}),
                ("POST", "/cases/extend", {"case": "1", "messages": huge}),
                ("POST", "/cases/extend", {"case": "1", "entity_id": huge}), ("POST", "/cases/extend", {"case": huge}),
                ("POST", f"/cases/{huge}/remove", {"messages": "1"}), ("POST", "/cases/1/remove", {"messages": huge}),
                ("POST", "/cases/1/translation", {"message_id": huge}), ("POST", f"/cases/{huge}/masks", {"values": "x"}),
                ("POST", "/cases/extend", {"messages": "1"})]
    for method, path, form in requests:
        response = client.request(method, path, data={**form, "csrf_token": token} if method == "POST" else None)
        assert response.status_code in (400, 404), (method, path[:50], response.status_code)
