"""Photo blur is done on the server: before a reveal only a blurred derivative leaves it; originals
go only to the session that revealed them, and every original served is an audit event."""

from __future__ import annotations

import hashlib
import io
import random
import time
from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageStat
from sqlalchemy import select

from detector.db import session_scope
from detector.schema import AuditEvent

from labeling_support import Item, add_photo, csrf_of, store_items
from test_labeling_api import app, client_for, engine, events, settings  # noqa: F401 (fixtures)
from test_labeling_browser import CHROMIUM, browser, log_in, page, site  # noqa: F401 (fixtures)


def noisy_png(size: int = 96, seed: int = 7) -> bytes:
    """A photo full of fine detail (seeded random pixels): blurring removes nearly all of it."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def high_frequency_energy(data: bytes) -> float:
    """Mean edge response of the grey image: high for fine detail, near zero once blurred."""
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L")
        return ImageStat.Stat(grey.filter(ImageFilter.FIND_EDGES)).mean[0]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reveal(client, media: int) -> None:
    token = csrf_of(client, "/settings")
    response = client.post(f"/media/{media}/reveal", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert response.status_code == 204


@pytest.fixture
def photo(app, engine):  # noqa: F811
    """(message id, media id, original bytes, evidence file) of one stored photo."""
    [mid] = store_items(engine, [Item("offer with photo")])
    data = noisy_png()
    media = add_photo(engine, app.state.settings.evidence_dir, mid, data)
    stored = Path(app.state.settings.evidence_dir) / f"media/{sha(data)[:2]}/{sha(data)}"
    return mid, media, data, stored


def test_before_a_reveal_only_a_blurred_derivative_is_served(app, engine, photo):  # noqa: F811
    mid, media, original, stored = photo
    ann = client_for(app, "ann")
    html = ann.get(f"/items/{mid}").text
    assert f'src="/media/{media}" alt="Photo attached to the message" class="blurred"' in html
    served = ann.get(f"/media/{media}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert "no-store" in served.headers["cache-control"]
    assert served.content != original and sha(served.content) != sha(original)
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG" and image.size == (96, 96)
        image.load()  # a whole, valid image
    assert high_frequency_energy(served.content) < high_frequency_energy(original) / 10
    assert ann.get(f"/media/{media}?original=1").status_code == 403  # the original needs a reveal
    assert ann.get(f"/items/{mid}?reveal={media}").text.count('class="blurred"') == 1  # a URL is not a reveal
    assert stored.read_bytes() == original  # the evidence file is untouched
    assert events(engine, "serve_original_photo") == []


def test_after_a_reveal_the_original_is_served_and_each_one_audited(app, engine, photo):  # noqa: F811
    mid, media, original, stored = photo
    ann = client_for(app, "ann")
    reveal(ann, media)
    assert f'src="/media/{media}" alt="Photo attached to the message" class=""' in ann.get(f"/items/{mid}").text
    first = ann.get(f"/media/{media}")
    assert first.content == original and first.headers["content-type"] == "image/png"
    assert ann.get(f"/media/{media}?original=1").content == original
    served = events(engine, "serve_original_photo")
    assert [(e.actor, e.object_type, e.object_id) for e in served] == [("ann", "media", str(media))] * 2
    assert all(e.at is not None and e.after["message_id"] == mid and e.after["sha256"] == sha(original)
               and e.after["why"] == "revealed" for e in served)
    assert [e.actor for e in events(engine, "reveal_photo")] == ["ann"]
    again = client_for(app, "ann")  # a reveal lasts for its session only
    assert again.get(f"/media/{media}").content != original
    assert again.get(f"/media/{media}?original=1").status_code == 403
    assert len(events(engine, "serve_original_photo")) == 2
    assert stored.read_bytes() == original


def test_another_users_reveal_does_not_unblur_the_photo_for_you(app, engine, photo):  # noqa: F811
    mid, media, original, _ = photo
    bob, ann = client_for(app, "bob"), client_for(app, "ann")
    reveal(bob, media)
    assert bob.get(f"/media/{media}").content == original
    seen = ann.get(f"/media/{media}")
    assert seen.status_code == 200 and seen.content != original
    assert high_frequency_energy(seen.content) < high_frequency_energy(original) / 10
    assert ann.get(f"/media/{media}?original=1").status_code == 403
    assert 'class="blurred"' in ann.get(f"/items/{mid}").text
    assert [e.actor for e in events(engine, "serve_original_photo")] == ["bob"]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium")
def test_the_browser_never_receives_the_original_before_the_reveal(page, site):  # noqa: F811
    _, app = site
    [mid] = store_items(app.state.engine, [Item("offer with photo")])
    original = noisy_png()
    media = add_photo(app.state.engine, app.state.settings.evidence_dir, mid, original)
    responses = []
    page.on("response", lambda response: responses.append(response) if "/media/" in response.url else None)
    log_in(page)
    page.goto(f"/items/{mid}")
    page.wait_for_load_state("load")
    photo = page.locator(f"img[data-media='{media}']")
    assert photo.evaluate("el => el.complete && el.naturalWidth") == 96  # the blurred copy is shown
    before = [sha(r.body()) for r in responses if r.request.method == "GET"]
    assert before and sha(original) not in before
    page.keyboard.press("p")  # the reveal shortcut
    deadline = time.monotonic() + 5
    while not any(r.request.method == "GET" and r.status == 200 and sha(r.body()) == sha(original)
                  for r in list(responses)):
        assert time.monotonic() < deadline, "the original never arrived after the reveal"
        time.sleep(0.05)
    while photo.evaluate("el => getComputedStyle(el).filter") != "none":
        assert time.monotonic() < deadline, "the photo stayed blurred"
        time.sleep(0.05)
    with session_scope(app.state.engine) as s:
        actions = [(e.action, e.actor, e.object_id) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "media").order_by(AuditEvent.id))]
    assert actions == [("reveal_photo", "ann", str(media)), ("serve_original_photo", "ann", str(media))]
