"""`detector classify`: JSON Lines or an export in, JSON Lines out; bad lines counted; model errors."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from detector.cli import main

LISTING = "بنت للبيع عمرها ١٥ سنة السعر ٣٠٠٠ دولار للتواصل 07701234567"
KITTEN = "Kitten for sale, 3 months old, vaccinated, price 50$, call 0770 765 4321"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def rows(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_json_lines_in_scores_out_with_fields_passed_through(tiny_model_dir, tmp_path) -> None:
    data = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "text": LISTING, "channel": "market"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b", "body": "no text field"}),
        json.dumps({"id": "c", "text": KITTEN}),
        json.dumps(["a list"]),
        "",
    ]
    data.write_text("\n".join(lines), encoding="utf-8")
    result = run("classify", str(data), "--model", str(tiny_model_dir))
    assert result.exit_code == 0, result.output
    out = rows(result.stdout)
    assert [r["id"] for r in out] == ["a", "c"]
    assert out[0]["channel"] == "market" and out[0]["text"] == LISTING
    for row in out:
        assert 0 <= row["score"] <= 1 and isinstance(row["flagged"], bool)
        assert row["reasons"] and {"kind", "feature", "weight"} <= set(row["reasons"][0])
    assert out[0]["score"] > out[1]["score"]
    assert out[0]["language"] == "ar" and any(s["type"] == "age" for s in out[0]["signals"])
    assert "2 messages classified" in result.stderr and "3 lines skipped" in result.stderr


def test_an_export_file_is_read_with_the_ingest_parsers(tiny_model_dir, tmp_path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text(
        f"12/9/20, 23:55 - Abu Ali: {LISTING}\n12/9/20, 23:56 - Pet shop: {KITTEN}\n"
        "12/9/20, 23:57 - Pet shop: second line follows\nof a multi-line message\n",
        encoding="utf-8",
    )
    result = run("classify", str(chat), "--model", str(tiny_model_dir))
    assert result.exit_code == 0, result.output
    out = rows(result.stdout)
    assert [r["sender_name"] for r in out] == ["Abu Ali", "Pet shop", "Pet shop"]
    assert out[2]["text"] == "second line follows\nof a multi-line message"
    assert all("score" in r and "external_id" in r for r in out)


def test_a_file_that_is_neither_is_one_clear_error(tiny_model_dir, tmp_path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes\nnothing else\n")
    result = run("classify", str(junk), "--model", str(tiny_model_dir))
    assert result.exit_code == 1
    assert "notes.txt" in result.output and "Traceback" not in result.output
    assert result.stdout.count("\n") <= 1


def test_missing_model_folder_is_a_clear_error(tmp_path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"text": KITTEN}))
    result = run("classify", str(data), "--model", str(tmp_path / "absent"))
    assert result.exit_code == 1
    assert "absent does not exist" in result.output and "Traceback" not in result.output


def test_altered_model_folder_is_a_clear_error(tiny_model_dir, tmp_path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    params = copy / "fast_tier.json"
    params.write_text(params.read_text().replace('"C"', '"C" ', 1))
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"text": KITTEN}))
    result = run("classify", str(data), "--model", str(copy))
    assert result.exit_code == 1
    assert "fast_tier.json was altered" in result.output and result.stdout.count("{") == 0


@pytest.mark.parametrize("text", ["", "x" * 1_000_000])
def test_empty_and_one_megabyte_texts_get_a_score(tiny_model_dir, tmp_path, text) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"text": text}))
    result = run("classify", str(data), "--model", str(tiny_model_dir))
    assert result.exit_code == 0, result.output
    (row,) = rows(result.stdout)
    assert 0 <= row["score"] <= 1


# Listings in phrasings the old model missed, written for this test (not from any data set),
# with the kind of news and appeal that it flagged.
NEVER_SEEN = [
    ("she is 14, quiet, will be sold to the highest offer on thursday, inbox me", 1, []),
    ("two sisters 12 and 16 together one price 7000$ Mosul", 1, []),
    ("swap: the young one 15 for a clean Glock or a Hilux, Tabqa", 1, []),
    ("hediye olarak verilecek 13 yaşında, hediye bedeli 2500 dolar, Urfa", 1, []),
    ("👧 14 | 3k | Raqqa | PM", 1, []),
    ("bnt 3omraha 15 lel be3 b 4000 dolar, el raqqa, 5as", 1, []),
    ("dokhtar 13 sale baraye foroosh 5000 dolar, pv", 1, []),
    ("ک چ ی ک ١٤ ساڵ بۆ ف ر ۆ ش ت ن ٣٠٠٠ دۆلار", 1, []),
    ("top bid on the younger one is 4,300, anyone higher?", 1,
     ["Auction tonight: two captive girls, 13 and 17, opening bid 2,000$, Raqqa, @mazad_x"]),
    ("Reporters saw an ad offering a 13-year-old girl for $4,000 in a Telegram group, the UN said on Monday.", 0, []),
    ("Our sister is 15, they are asking 9,000 dollars to free her. Please help us, call 0750 123 4567", 0, []),
    ("Persian kittens 2 months old, 60$ each, Erbil, call 0750 765 4321", 0, []),
]


def test_the_shipped_model_reads_listings_by_meaning_and_their_threads(tmp_path) -> None:
    data = tmp_path / "never_seen.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": y, "context": c}, ensure_ascii=False)
                              for t, y, c in NEVER_SEEN), encoding="utf-8")
    result = run("classify", str(data))
    assert result.exit_code == 0, result.output
    out = rows(result.stdout)
    caught = [r["text"] for r in out if r["label"] == 1 and r["flagged"]]
    missed = [r["text"] for r in out if r["label"] == 1 and not r["flagged"]]
    false_alarms = [r["text"] for r in out if r["label"] == 0 and r["flagged"]]
    assert len(caught) >= 8, missed  # of 9
    assert len(false_alarms) <= 1, false_alarms  # of 3
    bid = next(r for r in out if r["text"].startswith("top bid"))
    assert bid["flagged"] and bid["reasons"][0]["kind"] == "context"
    alone = run("classify", str(_write(tmp_path / "alone.jsonl", [{"text": bid["text"]}])))
    assert not rows(alone.stdout)[0]["flagged"]  # without its thread a bid is no listing


def _write(path, items: list[dict]):
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    return path
