"""Linking: near-duplicate clusters, shared contacts and photos, incremental runs, the queue pages, the graph."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner
from datasketch import MinHash
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from detector.cli import main as cli
from detector.config import Settings
from detector.db import session_scope
from detector.link import sketch as sk
from detector.link.contacts import entity_key, entity_keys
from detector.link.queries import cluster_message_ids, entity_message_ids, entity_view, item_links
from detector.link.run import link_pending
from detector.synthetic.links import generate_linked
from detector.link.template import SLOT, common_template, varying_values
from detector.schema import AuditEvent, ClusterMember, Entity, LinkPhoto, LinkSketch, Media
from detector.text import signals
from labeling.app import create_app
from labeling_support import Item, add_photo, csrf_of, login, make_users, store_items
from photo_support import centre_crop, encoded

SECRET = "s" * 40


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key=SECRET)


@pytest.fixture(scope="module")
def linked_texts():
    return generate_linked(clusters=120, unrelated=900, seed=5)


def _contacts(text: str) -> list[dict]:
    return [s.to_dict() for s in signals(text)]


def _clusters_of(engine, ids: list[int]) -> dict[int, int]:
    with session_scope(engine) as s:
        return dict(s.execute(select(ClusterMember.message_id, ClusterMember.cluster_id)
                              .where(ClusterMember.message_id.in_(ids))).all())


def pairwise(predicted: list[int], truth: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against the true clusters."""
    def pairs(counts: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together = pairs(Counter(zip(predicted, truth)))
    return together / max(pairs(Counter(predicted)), 1), together / max(pairs(Counter(truth)), 1)


def _predicted(engine, ids: list[int]) -> list[int]:
    clusters = _clusters_of(engine, ids)
    return [clusters.get(i, -i) for i in ids]  # unclustered messages are their own cluster


def test_reposts_cluster_with_high_pairwise_precision_and_recall(engine, settings, linked_texts):
    ids = store_items(engine, [Item(t.text, channel=f"c{i % 3}") for i, t in enumerate(linked_texts)])
    summary = link_pending(engine, settings)
    precision, recall = pairwise(_predicted(engine, ids), [t.truth for t in linked_texts])
    assert precision >= 0.95 and recall >= 0.90, (precision, recall)
    assert summary.messages_linked == len(ids) and summary.clusters >= 100


def test_new_messages_join_existing_clusters_without_relinking_old_ones(engine, settings, linked_texts):
    half = len(linked_texts) // 2
    first = store_items(engine, [Item(t.text) for t in linked_texts[:half]])
    link_pending(engine, settings)
    before = _clusters_of(engine, first)
    with session_scope(engine) as s:
        sketched_at = dict(s.execute(select(LinkSketch.message_id, LinkSketch.linked_at)).all())
    second = store_items(engine, [Item(t.text, channel="later") for t in linked_texts[half:]], model_version="test-2")
    summary = link_pending(engine, settings)
    assert summary.messages_linked == len(second)
    with session_scope(engine) as s:
        assert dict(s.execute(select(LinkSketch.message_id, LinkSketch.linked_at)
                              .where(LinkSketch.message_id.in_(first))).all()) == sketched_at
    after = _clusters_of(engine, first + second)
    joined = [m for m in second if after.get(m) in set(before.values())]
    assert joined, "no new message joined a cluster made by the first run"
    assert {before[m] for m in before} - {after[m] for m in before} <= set(), "a cluster lost its messages"
    precision, recall = pairwise([after.get(i, -i) for i in first + second], [t.truth for t in linked_texts])
    assert precision >= 0.95 and recall >= 0.90, (precision, recall)
    assert link_pending(engine, settings).messages_linked == 0


PART_P = "Yazidi girl for sale, fifteen years old, price three thousand dollars"
PART_Q = "pickup in Raqqa after payment, serious buyers only, contact the admin"
PART_R = "Kurdish woman offered, twenty five years, nine thousand, delivery Mosul"


def _two_clusters_then(engine, settings, a: str, b: str, bridge: str) -> tuple[dict[int, int], list[int], object]:
    first = store_items(engine, [Item(a), Item(a + " now"), Item(b), Item(b + " now")])
    link_pending(engine, settings)
    assert len(set(_clusters_of(engine, first).values())) == 2
    added = store_items(engine, [Item(bridge, channel="later")], model_version="test-2")
    summary = link_pending(engine, settings)
    return _clusters_of(engine, first + added), first, summary


def test_a_message_bridging_two_similar_clusters_merges_them(engine, settings):
    # the clusters' representatives share PART_Q (estimated Jaccard 0.33): one listing, merged
    clusters, first, summary = _two_clusters_then(
        engine, settings, f"{PART_P} {PART_Q}", f"{PART_Q} {PART_R}", f"{PART_P} {PART_Q} {PART_R}")
    assert len(set(clusters.values())) == 1 and len(clusters) == 5
    assert summary.clusters_merged == 1 and summary.clusters == 1


def test_a_message_bridging_two_unrelated_clusters_does_not_chain_them(engine, settings):
    clusters, first, summary = _two_clusters_then(engine, settings, PART_P, PART_R, f"{PART_P} {PART_R}")
    assert len(set(clusters.values())) == 2 and len(clusters) == 5  # the bridge joined one of them
    assert summary.clusters_merged == 0 and summary.clusters == 2


def test_shared_phone_links_messages_across_channels(engine, settings):
    texts = ("girl for sale 16 years, 4000$, call +964 770 555 0199",
             "بنت للبيع عمرها ١٦ سنة واتساب wa.me/9647705550199",
             "kittens for sale, two months, 30$, call 0750 123 4567")
    ids = store_items(engine, [Item(texts[0], channel="raqqa", signals=_contacts(texts[0])),
                               Item(texts[1], channel="mosul", signals=_contacts(texts[1])),
                               Item(texts[2], channel="mosul", signals=_contacts(texts[2]))])
    summary = link_pending(engine, settings)
    assert summary.entities == 1
    with session_scope(engine) as s:
        phone = s.scalars(select(Entity).where(Entity.kind == "phone", Entity.key == "+9647705550199")).one()
        assert entity_message_ids(s, phone.id) == ids[:2]
        view = entity_view(s, phone.id)
        assert view.channels == 2 and {m.channel for m in view.members} == {"raqqa", "mosul"}
        assert [e.id for e, channels in item_links(s, ids[1]).entities] == [phone.id]
        assert item_links(s, ids[2]).entities == []


def test_contact_keys_unify_the_ways_of_writing_one_identity():
    assert entity_key("whatsapp_link", "https://wa.me/9647705550199") == ("phone", "+9647705550199")
    assert entity_key("telegram_link", "https://t.me/Trade_Pro2") == entity_key("username", "@trade_pro2")
    assert entity_key("telegram_link", "https://t.me/+AbCd12") == ("telegram_invite", "AbCd12")
    found = entity_keys(_contacts("call +964 770 555 0199 or wa.me/9647705550199, @seller_one, x@y.com, 4000$"))
    assert set(found) == {("phone", "+9647705550199"), ("telegram", "seller_one"), ("email", "x@y.com")}


# --------------------------------------------------------------------------- photos


def _photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Abstract shapes with texture (never a person)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x, y, x + rng.randrange(40, 260), y + rng.randrange(40, 200))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


VARIANTS = {
    "copy": lambda im: encoded(im),
    "cropped 10%": lambda im: encoded(centre_crop(im, 0.10)),
    "resized": lambda im: encoded(im.resize((320, 240))),
    "jpeg q50": lambda im: encoded(im, "JPEG", quality=50),
    "rotated 90": lambda im: encoded(im.rotate(90, expand=True)),
    "all at once": lambda im: encoded(centre_crop(im, 0.10).resize((400, 300)).rotate(90, expand=True), "JPEG", quality=50),
}


def _photo_entity(engine, media_id: int) -> int | None:
    with session_scope(engine) as s:
        return s.get(LinkPhoto, media_id).entity_id


def test_altered_copies_of_a_photo_link_to_it_and_different_photos_do_not(engine, settings):
    names = ["original", *VARIANTS, "other 1", "other 2"]
    ids = store_items(engine, [Item(f"photo post {n}", channel=f"ch{i % 2}") for i, n in enumerate(names)])
    original = _photo(1)
    media = {"original": add_photo(engine, settings.evidence_dir, ids[0], encoded(original))}
    for message_id, (name, make) in zip(ids[1:], VARIANTS.items()):
        media[name] = add_photo(engine, settings.evidence_dir, message_id, make(original))
    media["other 1"] = add_photo(engine, settings.evidence_dir, ids[-2], encoded(_photo(2)))
    media["other 2"] = add_photo(engine, settings.evidence_dir, ids[-1], encoded(_photo(3), "JPEG", quality=50))
    summary = link_pending(engine, settings)
    assert summary.photos_hashed == len(names) and summary.skipped == {}
    entity = {name: _photo_entity(engine, m) for name, m in media.items()}
    assert all(entity[name] == entity["original"] for name in VARIANTS), entity
    assert len({entity["original"], entity["other 1"], entity["other 2"]}) == 3
    with session_scope(engine) as s:
        assert entity_message_ids(s, entity["original"]) == ids[: 1 + len(VARIANTS)]
        stored = s.get(Media, media["original"])
        assert len(stored.pdq) == 64 and stored.pdq_quality >= 50


def test_a_photo_added_later_joins_the_entity_of_its_original(engine, settings):
    first = store_items(engine, [Item("first post")])
    add_photo(engine, settings.evidence_dir, first[0], encoded(_photo(7)))
    link_pending(engine, settings)
    later = store_items(engine, [Item("repost", channel="later")], model_version="test-2")
    media = add_photo(engine, settings.evidence_dir, later[0], encoded(_photo(7).rotate(90, expand=True), "JPEG", quality=50))
    summary = link_pending(engine, settings)
    assert summary.photos_hashed == 1 and summary.entities == 1
    with session_scope(engine) as s:
        assert entity_message_ids(s, _photo_entity(engine, media)) == first + later


def test_bad_photos_and_huge_messages_are_counted_and_skipped_not_fatal(engine, settings, monkeypatch, caplog):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # Pillow's limit, lowered so a small bomb trips it
    ids = store_items(engine, [Item("not an image"), Item("bomb"), Item("gone"), Item("fine"),
                               Item("x" * (sk.MAX_CHARS + 1))])
    add_photo(engine, settings.evidence_dir, ids[0], b"<html>this is not an image</html>")
    add_photo(engine, settings.evidence_dir, ids[1], encoded(Image.new("L", (400, 400))))
    missing = add_photo(engine, settings.evidence_dir, ids[2], encoded(_photo(4)))
    with session_scope(engine) as s:
        (Path(settings.evidence_dir) / s.get(Media, missing).stored_path).unlink()
    good = add_photo(engine, settings.evidence_dir, ids[3], encoded(_photo(5, (90, 90))))
    summary = link_pending(engine, settings)
    assert summary.skipped == {"not_an_image": 1, "decompression_bomb": 1, "missing_file": 1, "huge_message": 1}
    assert summary.photos_hashed == 1 and summary.messages_linked == len(ids)
    assert _photo_entity(engine, good) is not None
    assert "decompression_bomb" in caplog.text and "huge message" in caplog.text
    assert link_pending(engine, settings).skipped == {}  # recorded once, not retried every run


# --------------------------------------------------------------------------- pure parts


def test_signatures_are_datasketch_minhashes_of_the_character_shingles():
    folded = sk.fold("للبيع سبية ١٦ سنة بسعر ٤٢٠٠$ التسليم في الموصل")
    assert "16" in folded and "4200" in folded  # normalised: Arabic-Indic digits folded
    reference = MinHash(num_perm=sk.NUM_PERM, seed=sk.SEED, hashfunc=int)
    reference.update_batch(sk.shingle_hashes(folded).tolist())
    signature = sk.Sketcher().signature_of(folded)
    assert np.array_equal(signature, reference.hashvalues)
    assert np.array_equal(sk.from_bytes([sk.to_bytes(signature)])[0], signature)
    assert sk.Sketcher().sketch("ok thanks").skipped == "short"


def test_cluster_template_marks_varying_slots_and_lists_what_varies():
    texts = ["Girl for sale 15 years price 3000$ Raqqa call +964 770 555 0199",
             "Girl for sale 15 years price 3500$ Mosul call +964 770 555 0199",
             "Girl for sale 16 years price 3000$ Raqqa call +964 770 555 0199"]
    template = common_template(texts)
    assert template.startswith("girl for sale") and "price" in template and "0199" in template
    assert SLOT in common_template(["a b c d", "a b x d"]) and "x" not in common_template(["a b c d", "a b x d", "a b c d"])
    varying = varying_values([_contacts(t) for t in texts])
    assert sorted(varying["price"]) == ["3000 USD", "3500 USD"] and varying["contact"] == ["+9647705550199"]
    assert set(varying["age"]) == {"15", "16"}


# --------------------------------------------------------------------------- commands


def test_link_and_graph_commands(engine, settings, db_url, tmp_path):
    texts = ["Yazidi girl for sale, 15 years old, 3000 dollars, Raqqa, call +964 770 555 0199",
             "Yazidi girl for sale, 15 years, 3200 dollars, Mosul, call +964 770 555 0199"]
    store_items(engine, [Item(t, channel=c, signals=_contacts(t)) for t, c in zip(texts, ("a", "b"))])
    runner = CliRunner()
    env = {"DETECTOR_EVIDENCE_DIR": str(settings.evidence_dir)}
    result = runner.invoke(cli, ["link", "--db", db_url], env=env)
    assert result.exit_code == 0, result.output
    assert "Linked 2 message(s)" in result.output and "1 near-duplicate cluster(s)" in result.output
    again = json.loads(runner.invoke(cli, ["link", "--db", db_url, "--json"], env=env).output)
    assert again["messages_linked"] == 0 and again["clusters"] == 1 and again["entities"] == 1
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        out = tmp_path / f"links.{fmt}"
        result = runner.invoke(cli, ["graph", "--db", db_url, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        graph = reader(out)
        kinds = Counter(data["kind"] for _, data in graph.nodes(data=True))
        assert kinds == {"message": 2, "cluster": 1, "phone": 1} and graph.number_of_edges() == 4
    with session_scope(engine) as s:
        assert s.scalars(select(AuditEvent.action).where(AuditEvent.action == "export_graph")).all() == ["export_graph"] * 2
    result = runner.invoke(cli, ["graph", "--db", db_url, "--out", str(tmp_path / "no" / "g.graphml")])
    assert result.exit_code == 1 and "folder does not exist" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- the queue


HOSTILE = 'girl for sale <script>alert("x")</script> 15 years 3000$ call +964 770 555 0199'


def test_queue_item_shows_cluster_and_entities_and_pages_are_escaped(settings):
    app = create_app(settings)
    engine = app.state.engine
    make_users(engine, ("ann", "analyst"))
    texts = [HOSTILE, HOSTILE.replace("3000", "3300") + " today",
             "two kittens, vaccinated and house-trained, 40$ each, delivery in Erbil, call +964 770 555 0199"]
    ids = store_items(engine, [Item(t, channel=c, signals=_contacts(t)) for t, c in zip(texts, ("raqqa", "mosul", "pets"))])
    link_pending(engine, settings)
    anonymous = TestClient(app)
    assert anonymous.get("/clusters/1", follow_redirects=False).status_code in (303, 401)
    assert anonymous.get("/entities/1", follow_redirects=False).status_code in (303, 401)
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    page = client.get(f"/items/{ids[0]}").text
    assert "Same listing posted 2 times" in page and "Phone number" in page and "+9647705550199" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    with session_scope(engine) as s:
        cluster_id = s.scalar(select(ClusterMember.cluster_id).where(ClusterMember.message_id == ids[0]))
        phone_id = s.scalar(select(Entity.id).where(Entity.kind == "phone"))
        assert cluster_message_ids(s, cluster_id) == ids[:2]
    assert f'href="/items/{ids[1]}"' in page  # the other post is flagged: one click to its item page
    token = csrf_of(client, f"/items/{ids[1]}")
    decided = client.post(f"/items/{ids[1]}/decision", data={"decision": "listing", "role": "analyst", "csrf_token": token},
                          follow_redirects=False)
    assert decided.status_code == 303
    cluster_page = client.get(f"/clusters/{cluster_id}").text
    assert "Same listing, posted 2 times" in cluster_page and "3300 USD" in cluster_page
    assert "<td>listing</td>" in cluster_page and "<td>not labelled</td>" in cluster_page
    assert "<script>" not in cluster_page.split("</head>")[1]
    entity_page = client.get(f"/entities/{phone_id}").text
    assert all(channel in entity_page for channel in ("raqqa", "mosul", "pets")) and "3 channels" in entity_page
    assert "<script>alert" not in entity_page
    assert client.get("/entities/999999").status_code == 404
    app.state.engine.dispose()


def test_sample_reposts_are_one_listing_and_one_phone_spans_two_channels(engine, settings):
    from detector.ingest.run import ingest_paths
    from detector.synthetic.sample import REPOST_PHONE, SAMPLE_DIR

    ingest_paths(engine, settings, [SAMPLE_DIR])
    link_pending(engine, settings)
    phone = "+" + "".join(ch for ch in REPOST_PHONE if ch.isdigit())
    with session_scope(engine) as s:
        entity = s.scalars(select(Entity).where(Entity.kind == "phone", Entity.key == phone)).one()
        view = entity_view(s, entity.id)
        assert view.channels == 2
        reposts = [m.id for m in view.members]
        links = item_links(s, reposts[0])
        assert links.cluster is not None and [m.id for m in links.others] == reposts[1:]
        assert {e.kind for e, _ in links.entities} == {"phone", "photo"}


def test_the_watch_job_links_after_scoring(engine, settings, tiny_model_dir, tmp_path):
    import shutil

    from detector.synthetic.sample import SAMPLE_DIR
    from detector.schedule import InboxState, watch_pass

    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_DIR / "telegram-souq-raqqa", inbox / "raqqa")
    shutil.copytree(SAMPLE_DIR / "telegram-mosul-bazaar", inbox / "mosul")
    settings = settings.with_(models_dir=tiny_model_dir.parent, model_name=tiny_model_dir.name)
    result = watch_pass(engine, settings, inbox, InboxState(), settle_seconds=0)
    assert "flagged" in result.scoring and f"{result.messages_new} linked" in result.linking
    assert "; 0 linked, " in watch_pass(engine, settings, inbox, InboxState(), settle_seconds=0).line()
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(LinkSketch)) == result.messages_new
        assert s.scalars(select(Entity.key).where(Entity.kind == "phone", Entity.size == 2)).all().count("+9647705550199") == 1


def test_sketching_in_worker_processes_gives_the_same_signatures(monkeypatch, linked_texts):
    from detector.link import run

    # Texts with letters split by two fillers in equal numbers (s_e_r..b_e_s) are left out: normalise
    # breaks that tie by set order, which differs between processes (reported to the text module).
    texts = [t.text for t in linked_texts if not re.search(r"\w[_.]\w[_.]", t.text)][:60]
    with run.SketchWorkers(workers=1) as workers:
        alone = workers.sketch(texts)
    monkeypatch.setattr(run, "PARALLEL_FROM", 10)
    monkeypatch.setattr(run, "WORK_CHUNK", 16)
    with run.SketchWorkers(workers=2) as workers:
        together = workers.sketch(texts) + workers.sketch(texts[:20])  # one pool serves both batches
    texts += texts[:20]
    alone += alone[:20]
    assert [s.skipped for s in together] == [s.skipped for s in alone]
    assert all(np.array_equal(a.signature, b.signature) for a, b in zip(alone, together) if a.signature is not None)


def test_the_index_stays_in_id_order_when_a_lower_id_arrives_late():
    from detector.link.clusters import Index

    index = Index()
    index.add(np.array([1, 5, 9]), np.arange(3 * sk.NUM_PERM, dtype=np.uint32).reshape(3, -1))
    index.add(np.array([7]), np.full((1, sk.NUM_PERM), 99, dtype=np.uint32))
    assert index.ids.tolist() == [1, 5, 7, 9] and (index.signatures[2] == 99).all() and index.signatures[3][0] == 128


def test_batched_sketches_equal_datasketch_text_by_text(linked_texts):
    texts = [t.text for t in linked_texts[:300]] + ["ok", "x" * (sk.MAX_CHARS + 1), "abc " * 8]
    sketches = sk.Sketcher().sketch_many(texts)
    for text, sketch in zip(texts, sketches):
        if len(text) > sk.MAX_CHARS:
            assert sketch.skipped == "huge_message"
            continue
        folded = sk.fold(text)
        if len(folded) < sk.MIN_CHARS:
            assert sketch.skipped == "short" and sketch.signature is None
            continue
        reference = MinHash(num_perm=sk.NUM_PERM, seed=sk.SEED, hashfunc=int)
        reference.update_batch(sk.shingle_hashes(folded).tolist())
        assert np.array_equal(reference.hashvalues.astype(np.uint32), sketch.signature)


def test_appending_to_band_buckets_finds_the_pairs_a_full_resort_finds():
    from detector.link import lsh

    rng = np.random.default_rng(3)
    for _ in range(200):
        old, first, second = (int(rng.integers(0, 60)) for _ in range(3))
        keys = rng.integers(0, int(rng.integers(1, 30)), (old + first + second, 3)).astype(np.uint64)
        buckets = lsh.Buckets(keys[:old])
        for before, added in ((old, first), (old + first, second)):
            is_new = np.arange(before + added) >= before
            expected = lsh.candidate_pairs(keys[: before + added], is_new)
            assert np.array_equal(buckets.append(keys[before : before + added]).reshape(-1, 2), expected.reshape(-1, 2))


def test_a_late_lower_id_gives_the_pairs_of_a_full_resort():
    from detector.link import lsh
    from detector.link.clusters import Index

    signatures = np.repeat(np.arange(4, dtype=np.uint32)[:, None] % 2, sk.NUM_PERM, axis=1)  # rows alike in pairs
    index = Index(np.array([2, 4, 8]), signatures[:3])
    pairs = index.add(np.array([6]), signatures[3:])
    assert index.ids.tolist() == [2, 4, 6, 8]
    expected = lsh.candidate_pairs(lsh.band_keys(index.signatures), index.ids == 6)
    assert np.array_equal(pairs, expected) and index.ids[pairs].tolist() == [[4, 6]]
    assert index.add(np.array([10]), signatures[:1]).tolist() == [[0, 4], [3, 4]]  # rebuilt buckets: with 2 and 8
