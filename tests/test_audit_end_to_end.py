"""Recall audits end to end on SQLite and PostgreSQL: a seeded database with listings planted among
the unflagged messages, `detector audit sample`, an analyst labelling the Audit list through the web
API, and `detector audit report`, whose interval must hold the planted count."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from detector.cli import main as cli
from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, AuditSample, QueueItem, Score
from labeling.app import create_app
from labeling_support import Item, csrf_of, login, make_users, store_items

HOSTILE = "<script>alert(1)</script>souk"
CHANNELS = (HOSTILE, "bazaar")
UNFLAGGED, PLANTED, FLAGGED, FLAGGED_LISTINGS = 1000, 24, 40, 30


@pytest.fixture
def world(db_url, tmp_path):
    """The app, its database, and which messages are listings (planted among the unflagged)."""
    app = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key="s" * 40))
    engine = app.state.engine
    make_users(engine, ("ann", "analyst"))
    rng = np.random.default_rng(3)
    probabilities = np.minimum(rng.beta(0.5, 20, UNFLAGGED), 0.139)
    lean = probabilities + 0.01  # planted listings lean to the higher scores, as misses do
    planted = set(rng.choice(UNFLAGGED, PLANTED, replace=False, p=lean / lean.sum()).tolist())
    items = [Item(f"{'planted listing' if i in planted else 'ordinary chat'} {i}", float(probabilities[i]), False,
                  ("ar", "en")[i % 2], channel=CHANNELS[(i // 2) % 2]) for i in range(UNFLAGGED)]
    items += [Item(f"{'flagged listing' if i < FLAGGED_LISTINGS else 'flagged chat'} {i}", 0.6 + i / 200, True,
                   ("ar", "en")[i % 2], channel=CHANNELS[(i // 2) % 2]) for i in range(FLAGGED)]
    ids = store_items(engine, items)
    truth = {mid: item.text.split()[1] == "listing" for mid, item in zip(ids, items)}
    yield app, db_url, truth, items, ids
    engine.dispose()


def run(*args: str):
    return CliRunner().invoke(cli, ["audit", *args])


def analyst(app) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    return client, {"X-CSRF-Token": csrf_of(client, "/settings")}


def label_all(client: TestClient, headers: dict[str, str], truth: dict[int, bool], query: str) -> int:
    """Decide every open item of a list the way a careful analyst would; returns how many."""
    done = 0
    while (page := client.get(f"/api/queue?{query}").json())["total"]:
        for item in page["items"]:
            decision = "listing" if truth[item["message_id"]] else "not_listing"
            made = client.post(f"/api/items/{item['message_id']}/decision", headers=headers,
                               json={"decision": decision, "role": "analyst"})
            assert made.status_code == 200, made.text
            done += 1
    return done


def test_audit_estimates_the_planted_missed_listings(world):
    app, db_url, truth, items, ids = world
    sampled = run("sample", "--n", "300", "--seed", "11", "--json", "--db", db_url)
    assert sampled.exit_code == 0, sampled.output
    summary = json.loads(sampled.output)
    assert summary == {"round": 1, "seed": 11, "population": UNFLAGGED, "strata": 16, "sampled": 300}
    with session_scope(app.state.engine) as s:
        rows = s.scalars(select(AuditSample)).all()
        assert sum(r.weight for r in rows) == pytest.approx(UNFLAGGED)  # inverse inclusion probabilities
        assert {r.message_id for r in rows} <= {mid for mid, item in zip(ids, items) if not item.flagged}
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "audit_sample")) == 1

    client, headers = analyst(app)
    assert client.get("/api/queue").json()["total"] == FLAGGED  # the audit items stay out of the main queue
    audit_page = client.get("/audit")
    assert audit_page.status_code == 200 and "Recall audit" in audit_page.text and "ordinary chat" in audit_page.text
    first = client.get("/next?audit=1", follow_redirects=False)
    first_id = int(first.headers["location"].split("/items/")[1].split("?")[0])
    assert "audit=1" in first.headers["location"] and first_id in {r.message_id for r in rows}
    item_page = client.get(first.headers["location"])
    assert item_page.status_code == 200 and 'href="/audit?' in item_page.text  # the item page leads back to the audit

    assert label_all(client, headers, truth, "audit=1") == 300
    assert label_all(client, headers, truth, "") == FLAGGED

    reported = run("report", "--json", "--db", db_url)
    assert reported.exit_code == 0, reported.output
    report = json.loads(reported.output)
    overall = report["overall"]
    assert overall["missed"]["labelled"] == 300 and overall["missed"]["uncovered"] == 0
    assert overall["missed"]["low"] <= PLANTED <= overall["missed"]["high"]
    true_recall = FLAGGED_LISTINGS / (FLAGGED_LISTINGS + PLANTED)
    assert overall["recall_low"] <= true_recall <= overall["recall_high"]
    assert overall["missed"]["high"] - overall["missed"]["low"] < 40  # informative, not just "0 to everything"
    for domain in report["channels"] + report["languages"]:
        members = [not it.flagged and truth[mid] and (str(it.language) == domain["key"] or it.channel == domain["name"])
                   for mid, it in zip(ids, items)]
        assert domain["missed"]["low"] <= sum(members) <= domain["missed"]["high"], domain["name"]
    assert {d["name"] for d in report["channels"]} == set(CHANNELS)

    table = run("report", "--db", db_url)
    assert table.exit_code == 0 and "Recall audit, round 1" in table.output and "Korn-Graubard" in table.output

    stats = client.get("/stats").text
    assert 'id="recall-audit"' in stats and "&lt;script&gt;alert(1)&lt;/script&gt;souk" in stats
    assert "<script>alert" not in stats
    assert f"{overall['missed']['missed']:.1f}" in stats
    assert client.get("/api/stats").json()["recall_audit"]["overall"] == overall


@pytest.fixture
def small_app(db_url, tmp_path):
    """The app on a database with 12 unflagged messages in 2 channels x 2 languages x 1 band (4 strata)."""
    app = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key="s" * 40))
    make_users(app.state.engine, ("ann", "analyst"))
    store_items(app.state.engine, [Item(f"chat {i}", 0.01, False, ("ar", "en")[i % 2], channel=CHANNELS[i // 6])
                                   for i in range(12)])
    yield app, db_url
    app.state.engine.dispose()


def test_bad_requests_are_one_line_and_store_nothing(small_app):
    app, db_url = small_app
    none_yet = run("report", "--db", db_url)
    assert none_yet.exit_code == 1 and "no recall audit sample yet" in none_yet.output
    assert "Traceback" not in none_yet.output
    too_small = run("sample", "--n", "3", "--db", db_url)
    assert too_small.exit_code == 1 and "cannot cover the 4 strata" in too_small.output
    bad_bands = run("sample", "--bands", "0.1,0.05", "--db", db_url)
    assert bad_bands.exit_code == 1 and "must increase strictly" in bad_bands.output
    with session_scope(app.state.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditSample)) == 0
        assert s.scalar(select(func.count()).select_from(QueueItem).where(QueueItem.flagged.is_(False))) == 0
    client, _ = analyst(app)
    assert client.get("/api/stats").json()["recall_audit"] is None
    assert "No recall audit yet" in client.get("/stats").text
    assert client.get("/audit?audit=maybe").status_code == 400


def test_model_version_audits_that_models_unflagged_messages(small_app):
    """A candidate model's newer scores neither hide the model in use's unflagged messages from its audit
    nor count as its flags."""
    app, db_url = small_app
    with session_scope(app.state.engine) as s:
        first = sorted(s.scalars(select(Score.message_id)))[:6]
        s.add_all(Score(message_id=mid, model_version="cand", probability=0.9, flagged=True, tier="fast", reasons=[])
                  for mid in first)
    newest = json.loads(run("sample", "--n", "12", "--seed", "1", "--json", "--db", db_url).output)
    assert newest["population"] == 6  # by default each message's newest score counts
    pinned = json.loads(run("sample", "--n", "12", "--seed", "1", "--model-version", "test-1", "--json",
                            "--db", db_url).output)
    assert pinned["population"] == 12 and pinned["sampled"] == 12
    report = json.loads(run("report", "--json", "--db", db_url).output)
    assert report["round"] == 2 and report["overall"]["flagged"]["flagged"] == 0  # test-1 flagged none of them
