"""The referral buttons in the queue: reviewers open a case from a confirmed item and download its report."""

from __future__ import annotations

import json

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.db import open_database, session_scope
from detector.schema import AuditEvent
from labeling.app import create_app
from labeling.referrals import router
from labeling_support import csrf_of, login, make_users
from reports.schema import schema_errors


@pytest.fixture
def app(world, tmp_path):
    make_users(open_database(world.url), ("rita", "reviewer"), ("ann", "analyst"))
    return create_app(world.settings, secret_file=tmp_path / "secret")


def test_every_referral_route_needs_a_login_and_a_reviewer(app):
    anonymous = TestClient(app)
    token = csrf_of(anonymous)
    routes = [(m, r.path.format(ref="CASE-2026-0001")) for r in router.routes if isinstance(r, APIRoute) for m in r.methods]
    assert len(routes) == 5
    for method, path in routes:
        response = anonymous.request(method, path, headers={"Accept": "application/json", "X-CSRF-Token": token})
        assert response.status_code == 401, path
    analyst = TestClient(app)
    login(analyst, "ann")
    assert analyst.get("/cases").status_code == 403
    token = csrf_of(analyst, "/queue")
    refused = analyst.post("/cases", data={"messages": "1", "tlp": "RED", "csrf_token": token})
    assert refused.status_code == 403


def test_reviewer_opens_a_case_from_the_item_page_and_downloads_reports(app, world):
    client = TestClient(app)
    assert login(client, "rita").status_code == 303
    item = client.get(f"/items/{world.reposts[0]}")
    assert item.status_code == 200 and 'id="open-case"' in item.text and "Open a case and report" in item.text
    token = csrf_of(client, "/cases")
    refused = client.post("/cases", data={"messages": str(world.unconfirmed), "tlp": "RED", "csrf_token": token},
                          headers={"Accept": "application/json"})
    assert refused.status_code == 400 and "is not confirmed by an analyst and a reviewer" in refused.json()["error"]
    opened = client.post("/cases", data={"messages": str(world.reposts[0]), "tlp": "AMBER", "summary": "<b>seller</b>",
                                         "csrf_token": token}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/cases/CASE-")
    ref = opened.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200 and "&lt;b&gt;seller&lt;/b&gt;" in page.text and 'id="case-report"' in page.text
    assert ref in client.get(f"/items/{world.reposts[0]}").text  # the item links to its case

    pdf = client.post(f"/cases/{ref}/report", data={"format": "pdf", "photos": "blurred", "csrf_token": token})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f'filename="{ref}.pdf"' in pdf.headers["content-disposition"]
    report = client.post(f"/cases/{ref}/report", data={"format": "json", "redact": "on", "csrf_token": token})
    parsed = json.loads(report.content)
    assert schema_errors(parsed) == [] and parsed["redaction"]["redacted"]
    assert [e["action"] for e in parsed["chain_of_custody"]["events"] if e["object"] == f"case {ref}"] == [
        "case_open", "case_view", "report_export", "report_export"]
    with session_scope(open_database(world.url)) as s:
        exports = s.scalars(select(AuditEvent).where(AuditEvent.action == "report_export")).all()
        assert [(e.actor, e.after["format"], e.after["via"]) for e in exports] == [("rita", "pdf", "web"), ("rita", "json", "web")]
