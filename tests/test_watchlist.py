"""Missing-person watchlists: hashes only (from photos or hash files), matched on every listing photo,
critical queue items, and the item page's panel (escaped). Real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image, ImageOps
from sqlalchemy import func, select

from detector.cli import main as cli
from detector.config import Settings
from detector.db import session_scope
from detector.link.photos import fingerprint
from detector.link.run import link_pending
from detector.queue_rows import WATCHLIST_PRIORITY
from detector.schema import AuditEvent, Base, Partner, QueueItem, WatchlistEntry, WatchlistMatch
from detector.synthetic.sample import sample_photo
from detector.watchlist.hashes import BadLine, parse_line
from labeling.app import create_app
from labeling.queue import refresh_queue
from labeling_support import Item, add_photo, age_signal, login, make_users, store_items
from photo_support import centre_crop, encoded

SECRET = "s" * 40


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key=SECRET)


def _photo(seed: int) -> Image.Image:
    """A synthetic picture (coloured shapes, never a person), as the linking tests use."""
    return sample_photo(random.Random(seed), (640, 480))


def _cli(settings: Settings, *args: str):
    env = {"DETECTOR_EVIDENCE_DIR": str(settings.evidence_dir), "DETECTOR_ACTOR": "ann"}
    return CliRunner().invoke(cli, ["watchlist", *args, "--db", settings.database_url], env=env)


def _partner(engine, name: str = "Rescue Network") -> None:
    with session_scope(engine) as s:
        s.add(Partner(name=name, channel="email", address="desk@example.org"))


def _list_of_two_photos(engine, settings, folder, name: str = "Sinjar families") -> list[Image.Image]:
    _partner(engine)
    assert _cli(settings, "add", name, "--owner", "Rescue Network").exit_code == 0
    folder.mkdir()
    photos = [_photo(1), _photo(2)]
    (folder / "MP-0001.png").write_bytes(encoded(photos[0]))
    (folder / "MP-0002.jpg").write_bytes(encoded(photos[1], "JPEG", quality=90))
    result = _cli(settings, "import", name, str(folder))
    assert result.exit_code == 0, result.output
    return photos


def _stored_values(engine):
    """Every value of every row of every table, as bytes."""
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    yield value if isinstance(value, bytes) else str(value).encode()


def test_hash_lines_parse_and_bad_ones_say_why():
    hex_ = "f" * 32 + "0" * 32
    entry = parse_line(f" {hex_.upper()} , 87 , MP-0042 ")
    assert (entry.pdq, entry.quality, entry.reference, entry.origin) == (hex_, 87, "MP-0042", "hash_file")
    assert entry.words.shape == (1, 4) and parse_line("# comment") is None and parse_line("  ") is None
    for line, words in ((f"{hex_[:-1]},90,MP-1", "64 hexadecimal digits"), (f"{hex_},49,MP-1", "below 50"),
                        (f"{hex_},90,Layla", "never a name"), (f"{hex_},90", "3 fields"),
                        (f"{'g' * 64},90,MP-1", "64 hexadecimal digits"), (f"{hex_},high,MP-1", "whole number")):
        with pytest.raises(BadLine, match=words):
            parse_line(line)


def test_import_keeps_hashes_never_photos_and_refuses_bad_lines_one_each(engine, settings, tmp_path):
    _partner(engine)
    assert _cli(settings, "add", "Sinjar families", "--owner", "Rescue Network").exit_code == 0
    folder = tmp_path / "from-family"
    folder.mkdir()
    photos = {"MP-0001.png": encoded(_photo(1)), "MP-0002.jpg": encoded(_photo(2), "JPEG", quality=90),
              "Layla.png": encoded(_photo(3))}
    for name, data in photos.items():
        (folder / name).write_bytes(data)
    (folder / "MP-0003.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    third = fingerprint(_photo(8))
    (folder / "shared.txt").write_text(
        f"# hashes from a partner\n{third.pdq},{third.quality},MP-0100\nabc,90,MP-0101\n"
        f"{third.pdq},12,MP-0102\n{third.pdq},90,Layla\n")
    result = _cli(settings, "import", "Sinjar families", str(folder), "--json")
    assert result.exit_code == 1
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 5 and "Traceback" not in result.output, "\n".join(p[-90:] for p in problems)
    assert [p.split(": ")[0].rsplit("/", 1)[1] for p in problems] == [
        "Layla.png", "MP-0003.jpg", "shared.txt:3", "shared.txt:4", "shared.txt:5"]
    assert json.loads(result.stdout) == {"files": 5, "added": 3, "already": 0, "refused": 5}
    again = _cli(settings, "import", "Sinjar families", str(folder), "--json")
    assert json.loads(again.stdout) == {"files": 5, "added": 0, "already": 3, "refused": 5}
    with session_scope(engine) as s:
        entries = s.scalars(select(WatchlistEntry).order_by(WatchlistEntry.reference)).all()
        assert [(e.reference, e.origin, e.added_by) for e in entries] == [
            ("MP-0001", "photo", "ann"), ("MP-0002", "photo", "ann"), ("MP-0100", "hash_file", "ann")]
        assert all(e.quality >= 50 and len(e.hashes) % 32 == 0 for e in entries)
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "watchlist_entry_add")).all()
        assert sorted(e.after["reference"] for e in events) == ["MP-0001", "MP-0002", "MP-0100"]
        assert all(e.actor == "ann" for e in events)
    # no byte of the photo files, no pixel run of the pictures and no file name is kept anywhere
    assert not settings.evidence_dir.exists() or not any(p.is_file() for p in settings.evidence_dir.rglob("*"))
    needles = [data[i:i + 24] for data in photos.values() for i in range(64, len(data) - 24, max(len(data) // 8, 1))]
    needles += [_photo(seed).tobytes()[i:i + 24] for seed in (1, 2, 3) for i in range(0, 640 * 480 * 3, 97_000)]
    needles += [b"Layla", b"from-family"]
    stored = list(_stored_values(engine))
    assert not [n for n in needles for value in stored if n in value]


def test_listing_photos_on_a_watchlist_become_critical_items_whatever_their_score(engine, settings, tmp_path):
    photos = _list_of_two_photos(engine, settings, tmp_path / "list")
    text = "new arrivals, ask for prices"
    ids = store_items(engine, [
        Item(text + " 1", probability=0.05, flagged=False),  # recompressed copy of MP-0001
        Item(text + " 2", probability=0.6),  # MP-0002 cropped 10%, rotated, recompressed
        Item(text + " 3", probability=0.2, flagged=False),  # MP-0001 mirrored and shrunk
        Item(text + " 4", probability=0.95),  # an unrelated photo
        Item("girl 15 for sale", probability=0.99, signals=[age_signal("girl 15 for sale", 15)]),
    ])
    add_photo(engine, settings.evidence_dir, ids[0], encoded(photos[0], "JPEG", quality=40), "image/jpeg")
    add_photo(engine, settings.evidence_dir, ids[1], encoded(centre_crop(photos[1], 0.1).rotate(90, expand=True),
                                                              "JPEG", quality=60), "image/jpeg")
    add_photo(engine, settings.evidence_dir, ids[2], encoded(ImageOps.mirror(photos[0]).resize((320, 240))))
    add_photo(engine, settings.evidence_dir, ids[3], encoded(_photo(9)))
    summary = link_pending(engine, settings)
    assert summary.watchlist_matches == 3
    with session_scope(engine) as s:
        refresh_queue(s)  # the queue's own refresh keeps them critical
        matches = {m.message_id: (m.entry.reference, m.distance, m.variant) for m in s.scalars(select(WatchlistMatch))}
        items = {i.message_id: i for i in s.scalars(select(QueueItem))}
    assert sorted(matches) == ids[:3] and [matches[i][0] for i in ids[:3]] == ["MP-0001", "MP-0002", "MP-0001"]
    assert all(distance <= 31 for _, distance, _ in matches.values())
    assert "rotated" in matches[ids[1]][2] and "flipped" in matches[ids[2]][2], matches
    for message_id in ids[:3]:
        assert items[message_id].flagged and items[message_id].priority >= WATCHLIST_PRIORITY
    assert items[ids[4]].priority < WATCHLIST_PRIORITY and ids[3] in items and ids[3] not in matches
    assert link_pending(engine, settings).watchlist_matches == 0  # nothing is matched twice


def test_the_backfill_matches_photos_stored_before_the_list(engine, settings, tmp_path):
    ids = store_items(engine, [Item("posted last year", probability=0.3, flagged=False), Item("other", probability=0.3)])
    add_photo(engine, settings.evidence_dir, ids[0], encoded(_photo(11).rotate(270, expand=True), "JPEG", quality=50))
    add_photo(engine, settings.evidence_dir, ids[1], encoded(_photo(6)))
    link_pending(engine, settings)
    _partner(engine)
    assert _cli(settings, "add", "Partner list", "--owner", "Rescue Network").exit_code == 0
    upright = fingerprint(_photo(11))
    hashes = tmp_path / "hashes.pdq"
    hashes.write_text(f"{upright.pdq},{upright.quality},CASE:77\n")
    assert _cli(settings, "import", "Partner list", str(hashes)).exit_code == 0
    assert link_pending(engine, settings).watchlist_matches == 0  # stored photos wait for the backfill
    assert _cli(settings, "match").exit_code == 2  # --all is asked for, never implied
    result = _cli(settings, "match", "--all", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"photos": 2, "matches_new": 1, "critical_items": 1, "skipped": {}}
    assert json.loads(_cli(settings, "match", "--all", "--json").stdout)["matches_new"] == 0
    with session_scope(engine) as s:
        match = s.scalars(select(WatchlistMatch)).one()
        assert (match.message_id, match.entry.reference) == (ids[0], "CASE:77")
        assert "the listed hash" in match.variant
        assert s.get(QueueItem, ids[0]).priority >= WATCHLIST_PRIORITY
    listed = json.loads(_cli(settings, "list", "--json").stdout)
    assert [(r["name"], r["owner"], r["entries"], r["matches"], r["created_by"]) for r in listed] == [
        ("Partner list", "Rescue Network", 1, 1, "ann")]


def test_bad_commands_say_one_line(engine, settings):
    _partner(engine)
    unknown = _cli(settings, "add", "L1", "--owner", "Nobody")
    assert unknown.exit_code == 1 and "no partner 'Nobody'" in unknown.stderr and "Traceback" not in unknown.output
    program = CliRunner().invoke(cli, ["watchlist", "add", "L1", "--owner", "Rescue Network", "--actor", "detector",
                                       "--db", settings.database_url])
    assert program.exit_code == 1 and "names a program" in program.stderr
    assert _cli(settings, "add", "L1", "--owner", "Rescue Network").exit_code == 0
    assert "already exists" in _cli(settings, "add", "L1", "--owner", "Rescue Network").stderr
    missing = _cli(settings, "import", "L2", str(settings.evidence_dir))
    assert missing.exit_code != 0
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "watchlist_add")) == 1


def test_the_item_page_shows_the_match_escaped(settings, tmp_path):
    app = create_app(settings)
    engine = app.state.engine
    make_users(engine, ("ann", "analyst"))
    hostile = '<b>Families</b> & "friends"'
    photos = _list_of_two_photos(engine, settings, tmp_path / "list", name=hostile)
    ids = store_items(engine, [Item("ask for prices", probability=0.1, flagged=False)])
    add_photo(engine, settings.evidence_dir, ids[0], encoded(photos[1], "JPEG", quality=50), "image/jpeg")
    link_pending(engine, settings)
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    page = client.get(f"/items/{ids[0]}").text
    assert "watchlist match: &lt;b&gt;Families&lt;/b&gt; &amp; &#34;friends&#34; / MP-0002" in page
    assert "<b>Families</b>" not in page and "Rescue Network" in page and "distance" in page
    assert "listing whole, upright" in page
