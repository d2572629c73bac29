"""Disputes and agreement (HTTP on SQLite and PostgreSQL, and the pure statistics): who said what on a
disputed item, the decision that counts in History, final decisions apart from changes of mind, and
kappa for analysts against reviewers and per language."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from detector.config import Settings
from labeling.app import create_app
from labeling.stats import (Agreement, LabelRow, PairAgreement, agreement_of, analyst_pairs, final_decisions,
                            language_agreements, per_person, reviewer_agreements, reviewer_pairs)
from labeling_support import Item, client_for, csrf_of, make_users, store_items


def row(mid: int, name: str, decision: str, role: str = "analyst", language: str = "ar") -> LabelRow:
    return LabelRow(mid, name, role, decision, language)


def test_a_skip_after_a_decision_does_not_replace_it_and_both_count_as_one_item():
    rows = [row(1, "ann", "listing"), row(1, "ann", "not_listing"), row(1, "ann", "skip"),
            row(2, "ann", "skip"), row(2, "ann", "skip"), row(3, "bob", "unsure")]
    assert [(r.message_id, r.decision) for r in final_decisions(rows) if r.name == "ann"] == [
        (1, "not_listing"), (2, "skip")]
    counts = per_person(rows)
    assert dict(counts["ann"].final) == {"not_listing": 1, "skip": 1} and counts["ann"].items == 2
    assert counts["ann"].changes == 3 and counts["bob"].changes == 0


def test_analysts_against_reviewers_and_per_language():
    finals = final_decisions([
        row(1, "ann", "listing"), row(1, "bob", "listing"), row(1, "rev", "listing", "reviewer"),
        row(2, "ann", "listing", language="fa"), row(2, "rev", "not_listing", "reviewer", "fa"),
        row(3, "bob", "not_listing", language="fa"), row(3, "rev", "not_listing", "reviewer", "fa"),
        row(4, "ann", "skip", language="fa"), row(4, "rev", "listing", "reviewer", "fa"),
    ])
    assert sorted(reviewer_pairs(finals)) == sorted([("listing", "listing"), ("listing", "listing"),
                                                     ("listing", "not_listing"), ("not_listing", "not_listing")])
    assert analyst_pairs(finals) == [("listing", "listing")]
    # ann: (l, l), (l, n) -> agreement 1/2; p_e = (2*1)/4 = 0.5 -> kappa 0
    assert reviewer_agreements(finals) == [PairAgreement("ann", "reviewers", 2, 0.5, 0.0),
                                           PairAgreement("bob", "reviewers", 2, 1.0, 1.0)]
    by_language = {a.language: a for a in language_agreements(finals)}
    assert by_language["ar"].analysts == Agreement(1, 1.0, 1.0)
    assert by_language["fa"].analysts is None and by_language["fa"].reviewers == agreement_of(
        [("listing", "not_listing"), ("not_listing", "not_listing")])
    assert by_language["fa"].reviewers.kappa == pytest.approx(0.0)


@pytest.fixture
def app(db_url, tmp_path):
    application = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key="r" * 40))
    make_users(application.state.engine, ("ann", "analyst"), ("bob", "analyst"), ("rev", "reviewer"))
    yield application
    application.state.engine.dispose()




def decide(client: TestClient, mid: int, decision: str, role: str = "analyst") -> None:
    answer = client.post(f"/items/{mid}/decision", data={"decision": decision, "role": role,
                                                         "csrf_token": csrf_of(client, "/settings")},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def words(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_review_page_and_history_show_who_said_what_and_what_counts(app):
    disputed, agreed = store_items(app.state.engine, [Item("girl for sale", 0.95), Item("maid offered", 0.9)])
    ann, bob, rev = client_for(app, "ann"), client_for(app, "bob"), client_for(app, "rev")
    decide(ann, disputed, "not_listing")
    decide(ann, disputed, "listing")  # a change of mind: only this one counts
    decide(bob, disputed, "not_listing")
    decide(bob, disputed, "skip")  # a skip never replaces a decision
    decide(ann, agreed, "listing")
    row_of = {m.group(1): m.group(0) for m in re.finditer(r'<tr[^>]*>.*?href="/items/(\d+)\?.*?</tr>',
                                                          rev.get("/review").text, re.S)}
    assert "ann : listing" in words(row_of[str(disputed)]) and "bob : not listing" in words(row_of[str(disputed)])
    assert "ann" not in words(row_of[str(agreed)])  # only disputed rows say who said what
    decide(rev, disputed, "listing", "reviewer")
    history = re.search(r'<ol class="history">(.*?)</ol>', rev.get(f"/items/{disputed}").text, re.S).group(1)
    entries = re.findall(r'<li class="(counts|superseded)">(.*?)</li>', history, re.S)
    assert [(cls, words(body).split()[0], "does not count" in words(body)) for cls, body in entries] == [
        ("superseded", "ann", True), ("counts", "ann", False), ("counts", "bob", False),
        ("superseded", "bob", True), ("counts", "rev", False)]
    assert [body.count("<s ") for _, body in entries] == [1, 0, 0, 1, 0]


def test_stats_page_counts_final_decisions_and_agreement_with_reviewers_per_language(app):
    en, fa = store_items(app.state.engine, [Item("girl for sale", 0.95), Item("دختر برای فروش", 0.9, language="fa")])
    ann, rev = client_for(app, "ann"), client_for(app, "rev")
    decide(ann, en, "not_listing")
    decide(ann, en, "listing")
    decide(ann, fa, "listing")
    decide(rev, en, "listing", "reviewer")
    decide(rev, fa, "not_listing", "reviewer")
    page = ann.get("/stats").text
    ann_row = re.search(r'<tr data-user="ann">.*?</tr>', page).group(0)
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', ann_row) == ["2", "0", "0", "0", "2", "1"]
    pair = words(re.search(r'<tr data-pair="reviewers:ann\|reviewers">.*?</tr>', page, re.S).group(0))
    assert pair.split() == ["ann", "·", "the", "reviewers", "2", "50%", "0.00"]
    by_language = re.search(r'<table class="plain" id="by-language">.*?</table>', page, re.S).group(0)
    assert [words(r).split() for r in re.findall(r"<tr data-language.*?</tr>", by_language, re.S)] == [
        ["English", "—", "—", "1", "·", "100%", "1.00"], ["Persian", "—", "—", "1", "·", "0%", "0.00"]]
    api = ann.get("/api/stats").json()
    assert api["changes_of_mind"] == {"ann": 1, "rev": 0}
    assert [a["language"] for a in api["languages"]] == ["en", "fa"]

