"""Finding things in the queue over HTTP (TestClient) on SQLite and PostgreSQL: exact score order,
pages and jumping, score and tag filters, language names, state chips that link, and search."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from markupsafe import escape
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.config import Settings
from detector.db import session_scope
from detector.ingest.run import ingest_paths
from detector.schema import Message, Score
from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import write_telegram_json
from labeling.app import create_app
from labeling.queue import ORDER_HELP
from labeling_support import T0, Item, age_signal, csrf_of, login, make_users, store_items

SECRET = "s" * 40


@pytest.fixture
def app(db_url, tmp_path):
    application = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key=SECRET))
    make_users(application.state.engine, ("ann", "analyst"))
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> TestClient:
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    return client


def api_ids(client: TestClient, query: str) -> list[int]:
    response = client.get(f"/api/queue?{query}")
    assert response.status_code == 200, response.text
    return [item["message_id"] for item in response.json()["items"]]


def test_priority_and_score_orders_use_the_exact_score(app, client):
    text = "girl 15 for sale"
    ids = store_items(app.state.engine, [
        Item("exactly one", 1.0, minutes=0),
        Item("just below one", 0.999, minutes=10),
        Item("newest, lower", 0.94, minutes=20),
        Item(text, 0.8, signals=[age_signal(text, 15)], minutes=5),  # 0.8 + minor boost 0.3 = 1.1
    ])
    assert api_ids(client, "order=priority") == [ids[3], ids[0], ids[1], ids[2]]
    assert api_ids(client, "order=score") == [ids[0], ids[1], ids[2], ids[3]]
    for order, line in ORDER_HELP.items():
        page = client.get(f"/queue?order={order}").text
        assert str(escape(line)) in page and sum(str(escape(other)) in page for other in ORDER_HELP.values()) == 1
    assert "score band" not in client.get("/queue").text
    assert ">0.999<" in client.get("/queue").text  # 0.999 is not rounded up to 1.00


def test_pages_count_and_a_jump_keeps_the_filters(app, client):
    store_items(app.state.engine, [Item(f"offer {n}", 0.6 + n / 1000, language="ar" if n % 2 else "en", minutes=n)
                                   for n in range(130)])
    first = client.get("/queue?language=ar").text
    assert "65 items, page 1 of 2." in first
    jump = re.search(r'<form method="get" action="/queue" class="jump">(.*?)</form>', first, re.S).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', jump))
    assert hidden == {"state": "open", "order": "priority", "language": "ar"}
    last = client.get("/queue?" + "&".join(f"{k}={v}" for k, v in hidden.items()) + "&page=2").text
    assert "page 2 of 2." in last and len(re.findall(r'href="/items/\d+', last)) == 15
    assert 'href="/queue?state=open&amp;order=priority&amp;language=ar&amp;page=1"' in last  # First and Previous


def test_score_range_and_tag_filters(app, client):
    ids = store_items(app.state.engine, [Item("low", 0.55), Item("middle", 0.75), Item("high", 0.95)])
    assert sorted(api_ids(client, "score_min=0.7&score_max=0.8")) == [ids[1]]
    assert sorted(api_ids(client, "score_min=0.75")) == [ids[1], ids[2]]
    token = csrf_of(client, "/settings")
    saved = client.post(f"/items/{ids[2]}/decision", follow_redirects=False, data={
        "decision": "listing", "role": "analyst", "tags": ["auction"], "csrf_token": token})
    assert saved.status_code == 303
    assert api_ids(client, "state=any&tag=auction") == [ids[2]]
    assert api_ids(client, "state=any&tag=minor") == []
    for query, message in [("score_min=high", "score_min must be a score between 0 and 1, not 'high'"),
                           ("score_max=1.5", "score_max must be a score between 0 and 1, not '1.5'"),
                           ("score_min=nan", "score_min must be a score between 0 and 1, not 'nan'"),
                           ("tag=<b>", "unknown tag '<b>'")]:
        refused = client.get(f"/api/queue?{query}")
        assert refused.status_code == 400 and refused.json()["error"].startswith(message), query


def test_language_names_and_state_chips_that_link(app, client):
    ids = store_items(app.state.engine, [Item("a", language="ckb"), Item("b", language="kmr"), Item("c", language="xx")])
    page = client.get("/queue").text
    assert '<option value="ckb" >Sorani Kurdish</option>' in page
    assert '<option value="kmr" >Kurmanji Kurdish</option>' in page
    assert '<option value="xx" >xx</option>' in page  # an unknown code stays as it is
    token = csrf_of(client, "/settings")
    client.post(f"/items/{ids[0]}/decision", data={"decision": "not_listing", "role": "analyst", "csrf_token": token})
    chip = re.search(r'<li class="state-not_listing"><a href="([^"]+)"', page).group(1)
    assert html.unescape(chip) == "/queue?state=not_listing&order=priority"
    chosen = client.get(html.unescape(chip)).text
    assert len(re.findall(r'href="/items/\d+', chosen)) == 1 and f'href="/items/{ids[0]}?' in chosen
    assert '<li class="state-not_listing"><a href="/queue?state=not_listing&amp;order=priority" aria-current="true">' in chosen


def test_search_finds_words_phones_and_usernames_in_the_queue(app, client, tmp_path):
    texts = ["للبيع بنت عمرها ١٢ سنة، تواصل 0770 555 0199", "إعلان: خادمة للتنازل", "write @ali_sale for the kitten",
             "nothing here"]
    export = tmp_path / "export.json"
    with export.open("wb") as out:
        write_telegram_json(out, "Market", 42, [SynthMessage(t, "Seller", "u1", T0 + timedelta(minutes=i))
                                                for i, t in enumerate(texts)])
    engine = app.state.engine
    assert ingest_paths(engine, app.state.settings, [export]).errors == []
    with session_scope(engine) as s:
        ids = {m.text: m.id for m in s.scalars(select(Message))}
        s.add_all(Score(message_id=i, model_version="t", probability=0.9, flagged=True, tier="fast") for i in ids.values())
    assert api_ids(client, "search=اعلان") == [ids[texts[1]]]         # hamza folded in the message
    assert api_ids(client, "search=%2B964 770 555 0199") == [ids[texts[0]]]  # the local number as E.164
    assert api_ids(client, "search=@ali_sale") == [ids[texts[2]]]
    assert api_ids(client, "search=kitten&language=ar") == []            # search and filters combine
    hostile = '"><script>alert(1)</script>'
    page = client.get("/queue", params={"search": hostile})
    assert page.status_code == 200 and "<script>alert(1)" not in page.text and "0 items" in page.text
    assert str(escape(hostile)) in page.text
    nxt = client.get("/next?search=kitten", follow_redirects=False)  # the filter follows into the item pages
    assert nxt.headers["location"].startswith(f"/items/{ids[texts[2]]}?") and "search=kitten" in nxt.headers["location"]
