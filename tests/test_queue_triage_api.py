"""The triage loop through HTTP (TestClient) on SQLite and PostgreSQL: stale decisions, undo,
an expired session that keeps the decision, a long scripted session; and the number isolation
rules of detector.text.display."""

from __future__ import annotations

import html
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, Case, CaseMessage, Label, QueueItem
from detector.text.display import Segment, is_number_run, segments
from labeling.app import create_app
from labeling_support import PASSWORD, Item, client_for, csrf_of, make_users, store_items

SECRET = "q" * 40


@pytest.fixture
def app(db_url, tmp_path):
    application = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key=SECRET))
    make_users(application.state.engine, ("ann", "analyst"), ("bob", "analyst"))
    yield application
    application.state.engine.dispose()




def version_on(client: TestClient, message_id: int) -> int:
    found = re.search(r'name="version" value="(\d+)"', client.get(f"/items/{message_id}").text)
    assert found, "the item page carries no version"
    return int(found.group(1))


def as_form(fields: list[tuple[str, str]], **more: str) -> dict[str, list[str]]:
    """Form fields (repeated names kept) as TestClient takes them."""
    form: dict[str, list[str]] = {}
    for name, value in [*fields, *more.items()]:
        form.setdefault(name, []).append(value)
    return form


def decide(client: TestClient, message_id: int, decision: str, **extra):
    data = {"decision": decision, "role": "analyst", "csrf_token": csrf_of(client, "/settings"), **extra}
    return client.post(f"/items/{message_id}/decision", data=data, follow_redirects=False)


def undo(client: TestClient):
    return client.post("/decisions/undo", data={"csrf_token": csrf_of(client, "/settings")}, follow_redirects=False)


def decisions(engine) -> list[tuple[int, str, str]]:
    with session_scope(engine) as s:
        return [(lab.message_id, lab.user.name, lab.decision) for lab in s.scalars(select(Label).order_by(Label.id))]


def test_a_decision_on_an_outdated_page_is_refused_and_stores_nothing(app):
    engine = app.state.engine
    (mid,) = store_items(engine, [Item("girl for sale", 0.9)])
    ann, bob = client_for(app, "ann"), client_for(app, "bob")
    seen = version_on(ann, mid)
    assert seen == version_on(bob, mid) == 0
    assert decide(bob, mid, "listing", version=str(seen)).status_code == 303
    stale = decide(ann, mid, "not_listing", version=str(seen), note="kept")
    assert stale.status_code == 409 and "latest: listing by bob" in stale.text and ">kept</textarea>" in stale.text
    assert decisions(engine) == [(mid, "bob", "listing")]
    now = version_on(ann, mid)
    assert now > seen and decide(ann, mid, "not_listing", version=str(now)).status_code == 303
    assert decisions(engine)[-1] == (mid, "ann", "not_listing")
    token = {"X-CSRF-Token": csrf_of(bob, "/settings")}
    body = {"decision": "listing", "role": "analyst", "version": seen}
    answer = bob.post(f"/api/items/{mid}/decision", json=body, headers=token)
    assert answer.status_code == 409 and answer.json()["latest"] == {"by": "ann", "decision": "not_listing"}
    current = answer.json()["version"]
    made = bob.post(f"/api/items/{mid}/decision", json={**body, "version": current}, headers=token)
    assert made.status_code == 200 and made.json()["version"] > current
    assert bob.post(f"/api/items/{mid}/decision", json={**body, "version": "x"}, headers=token).status_code == 400
    assert decide(ann, mid, "listing", version="-1").status_code == 400
    assert len(decisions(engine)) == 3


def test_undo_takes_back_only_this_sessions_decisions_and_never_a_referred_one(app):
    engine = app.state.engine
    first, second = store_items(engine, [Item("girl for sale", 0.9), Item("boy for sale", 0.8, minutes=1)])
    ann = client_for(app, "ann")
    assert decide(ann, first, "listing").status_code == 303
    assert decide(ann, first, "not_listing").status_code == 303  # a change of mind
    answer = undo(ann)
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/items/{first}")
    assert decisions(engine) == [(first, "ann", "listing")]  # the earlier decision counts again
    with session_scope(engine) as s:
        assert s.get(QueueItem, first).state == "awaiting_review"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "undo_decision")).one()
        assert event.before["decision"] == "not_listing" and event.after == {"state": "awaiting_review"}
    again = client_for(app, "ann")  # a new login: the earlier session's decisions are not offered
    assert undo(again).status_code == 409 and decisions(engine) == [(first, "ann", "listing")]
    assert decide(again, second, "listing").status_code == 303
    with session_scope(engine) as s:
        case = Case(ref="CASE-2024-0001", tlp="AMBER", summary="s", created_by="rev")
        s.add(case)
        s.flush()
        s.add(CaseMessage(case_id=case.id, message_id=second))
    refused = undo(again)
    assert refused.status_code == 409 and "has been referred" in refused.text
    assert decisions(engine)[-1] == (second, "ann", "listing")
    assert undo(again).status_code == 409  # and it is no longer offered


def test_a_really_expired_session_keeps_the_decision_through_login(db_url, tmp_path):
    application = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "ev", secret_key=SECRET),
                             session_hours=2 / 3600)
    engine = application.state.engine
    make_users(engine, ("ann", "analyst"))
    (mid,) = store_items(engine, [Item("girl for sale", 0.9)])
    ann = client_for(application, "ann")
    token, seen = csrf_of(ann, "/settings"), version_on(ann, mid)
    time.sleep(2.2)  # the two-second session is over
    forged = ann.post(f"/items/{mid}/decision", data={"decision": "listing", "role": "analyst", "note": "forged"},
                      headers={"Origin": "https://elsewhere.example"}, follow_redirects=False)
    assert forged.status_code == 401 and "forged" not in forged.text  # another site's post is not offered
    forged = ann.post(f"/items/{mid}/decision", data={"decision": "listing", "role": "analyst", "note": "forged"},
                      headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert forged.status_code == 401 and "forged" not in forged.text
    note = 'سعرها <script>alert(1)</script> "x"'
    answer = ann.post(f"/items/{mid}/decision?state=open", follow_redirects=False, data={
        "decision": "listing", "role": "analyst", "csrf_token": token, "version": str(seen), "note": note,
        "tags": ["minor", "auction"]})
    assert answer.status_code == 401 and "not saved yet" in answer.text and "<script>alert" not in answer.text
    fields = [(k, html.unescape(v)) for k, v in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', answer.text)]
    assert ("pending_note", note) in fields and ("pending_tags", "auction") in fields and ("next", "/next?state=open") in fields
    logged = ann.post("/login", data=as_form(fields, name="ann", password=PASSWORD), follow_redirects=False)
    assert logged.status_code == 303 and logged.headers["location"] == "/next?state=open"
    with session_scope(engine) as s:
        label = s.scalars(select(Label)).one()
        assert (label.decision, label.tags, label.note) == ("listing", ["auction", "minor"], note)
    application.state.engine.dispose()


def test_a_scripted_session_of_200_decisions_with_undos_and_an_expiry_loses_nothing(app):
    engine = app.state.engine
    ids = store_items(engine, [Item(f"offer {n}", 0.95, minutes=-n) for n in range(202)])
    ann = client_for(app, "ann")
    expected: dict[int, str] = {}
    page = ann.get("/next", follow_redirects=True)
    for n in range(200):
        mid = int(re.search(r"/items/(\d+)", str(page.url)).group(1))
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
        choice = ("listing", "not_listing", "unsure")[n % 3]
        data = {"decision": choice, "role": "analyst", "version": version, "note": f"note {n}",
                "csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)}
        if n == 120:  # the session ends while this item is open: log in, and it is saved
            ann.cookies.clear()
            data["csrf_token"] = csrf_of(ann, "/login")
            kept = ann.post(f"/items/{mid}/decision", data=data, follow_redirects=False)
            fields = [(k, html.unescape(v)) for k, v in
                      re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', kept.text)]
            page = ann.post("/login", data=as_form(fields, name="ann", password=PASSWORD), follow_redirects=True)
        else:
            page = ann.post(f"/items/{mid}/decision", data=data, follow_redirects=True)
        expected[mid] = choice
        if n in (50, 150):  # a wrong key: undo, and decide again the other way
            page = ann.post("/decisions/undo", follow_redirects=True,
                            data={"csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)})
            assert f"/items/{mid}" in str(page.url)
            del expected[mid]
            page = ann.post(f"/items/{mid}/decision", follow_redirects=True, data={
                "decision": "skip", "role": "analyst", "version": re.search(r'name="version" value="(\d+)"', page.text).group(1),
                "csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)})
            expected[mid] = "skip"
    assert "2 of 82 left" in page.text  # progress counts this login's 80 decisions (from number 120 on)
    with session_scope(engine) as s:
        rows = s.scalars(select(Label).order_by(Label.id)).all()
        assert {lab.message_id: lab.decision for lab in rows} == expected and len(rows) == 200
        assert {lab.note for lab in rows if lab.decision != "skip"} == {f"note {n}" for n in range(200) if n not in (50, 150)}
        assert len(set(expected)) == 200 and set(expected) <= set(ids)


@pytest.mark.parametrize(("text", "runs"), [
    ("اتصل +964 770 555 0199 الآن", ["+964 770 555 0199"]),
    ("نشر 22:53 07-03-2025", ["22:53 07-03-2025"]),
    ("رقم ٠٧٧٠ ٥٥٥ ٠١٩٩", ["٠٧٧٠ ٥٥٥ ٠١٩٩"]),
    ("عمرها 15 والسعر 500", []),  # single numbers keep their place among the words
    ("عمرها 15 500 دولار", []),  # two numbers in a row: two words, not one
    ("كود +964", ["+964"]),
])
def test_number_runs_are_isolated_left_to_right(text, runs):
    segs = segments(text, None)
    assert "".join(s.text for s in segs) == text
    assert [s.text for s in segs if s.direction == "ltr"] == runs
    assert not is_number_run("15 500") and is_number_run("07/03/2025")


def test_contact_signals_are_left_to_right_and_other_signals_keep_their_direction():
    text = "بنت 15 سنة @abu_ali"
    signals = [{"type": "age", "value": {"min": 15, "max": 15, "minor": True}, "start": 4, "end": 6},
               {"type": "contact", "subtype": "username", "value": "@abu_ali", "start": 11, "end": 19}]
    assert segments(text, signals) == [
        Segment("بنت "), Segment("15", "age", "age 15 (minor)"), Segment(" سنة "),
        Segment("@abu_ali", "contact", "contact username: @abu_ali", "ltr")]
