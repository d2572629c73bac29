"""The synthetic corpus: determinism, balance, scripts, disjoint families, no train/test near-copies, safety."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.synthetic.corpus import (
    ALL_LANGS, LISTING_KINDS, NEGATIVE_KINDS, NON_LISTING_KINDS, POSITIVE_KINDS, SPLITS, Example, generate_corpus,
    write_jsonl,
)
from detector.synthetic.corpus.commands import corpus as corpus_command
from detector.synthetic.corpus.generate import LEXICONS
from detector.synthetic.corpus.layouts import BULLETS, EMOJI_SETS, SEPARATORS
from detector.synthetic.corpus.obfuscate import STYLES
from detector.synthetic.corpus.partition import MIN_PARTITIONED, part
from detector.errors import InputError

N = 24000


@pytest.fixture(scope="module")
def corpus() -> list[Example]:
    return generate_corpus(N, seed=0)


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    first = generate_corpus(400, seed=7)
    assert first == generate_corpus(400, seed=7)
    other = generate_corpus(400, seed=8)
    assert [e.text for e in first] != [e.text for e in other]


def test_same_corpus_in_another_process_with_another_hash_seed() -> None:
    script = ("import hashlib; from detector.synthetic.corpus import generate_corpus; "
              "print(hashlib.sha256(repr(generate_corpus(300, seed=4)).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": str(h)},
                              capture_output=True, text=True, check=True).stdout for h in (1, 2)}
    assert digests == {hashlib.sha256(repr(generate_corpus(300, seed=4)).encode()).hexdigest() + "\n"}


def test_example_fields_and_dict(corpus: list[Example]) -> None:
    example = corpus[0]
    assert set(example.to_dict()) == {"text", "label", "lang", "kind", "family", "split", "context"}
    assert example.to_dict()["text"] == example.text
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.text = "x"  # type: ignore[misc]
    for e in corpus:
        assert e.text.strip() and e.label in (0, 1) and e.lang in ALL_LANGS and e.split in SPLITS
        assert e.kind in (LISTING_KINDS if e.label else NON_LISTING_KINDS)
        assert e.family.split("/")[:2] == [e.kind, e.lang]


def test_every_language_well_represented_in_every_split(corpus: list[Example]) -> None:
    by_lang = Counter(e.lang for e in corpus)
    assert len(corpus) == N
    assert min(by_lang[lang] for lang in ALL_LANGS if lang != "mixed") >= 3300
    assert by_lang["mixed"] >= 1700  # mixed messages come from layouts only (styles are written per language)
    cells = Counter((e.lang, e.split, e.label) for e in corpus)
    for lang in ALL_LANGS:
        positives, negatives = (60, 150) if lang == "mixed" else (130, 300)
        for split in SPLITS:
            assert cells[(lang, split, 1)] >= positives and cells[(lang, split, 0)] >= negatives, (lang, split)


def test_split_sizes_and_label_balance(corpus: list[Example]) -> None:
    splits = Counter(e.split for e in corpus)
    assert 0.67 < splits["train"] / N < 0.73
    assert 0.13 < splits["val"] / N < 0.17 and 0.13 < splits["test"] / N < 0.17
    positives = sum(e.label for e in corpus) / N
    assert 0.27 < positives < 0.33
    negatives = Counter(e.kind for e in corpus if not e.label)
    assert negatives["chat"] / sum(negatives.values()) < 0.15  # hard negatives dominate
    kinds_per_split = {s: {e.kind for e in corpus if e.split == s} for s in SPLITS}
    for split in SPLITS:
        assert kinds_per_split[split] == set(LISTING_KINDS) | set(NON_LISTING_KINDS)


def test_template_families_never_cross_splits(corpus: list[Example]) -> None:
    owner: dict[str, set[str]] = defaultdict(set)
    for e in corpus:
        owner[e.family].add(e.split)
    crossing = {f: s for f, s in owner.items() if len(s) > 1}
    assert not crossing
    families = defaultdict(set)
    for e in corpus:
        families[(e.kind, e.lang)].add(e.family)
    assert min(len(f) for f in families.values()) >= 5
    for key in families:  # every kind and language is tested on families of its own
        splits = {next(iter(owner[f])) for f in families[key]}
        assert splits == set(SPLITS), key


def _phrase_pools():
    for lexicon in LEXICONS.values():
        for field in dataclasses.fields(lexicon):
            value = getattr(lexicon, field.name)
            if isinstance(value, tuple) and len(value) >= MIN_PARTITIONED:
                yield f"{lexicon.lang}.{field.name}", value
    yield "separators", SEPARATORS
    yield "bullets", BULLETS
    yield "emoji", EMOJI_SETS
    yield "obfuscation", STYLES


def test_phrasings_are_partitioned_between_splits() -> None:
    pools = list(_phrase_pools())
    assert len(pools) > 6 * 30
    for name, pool in pools:
        shares = [set(part(pool, s)) for s in SPLITS]
        assert all(shares), name
        assert not (shares[0] & shares[1] or shares[0] & shares[2] or shares[1] & shares[2]), name


def _shingles(text: str, k: int = 5) -> set[str]:
    text = re.sub(r"\s+", " ", text.lower())
    return {text[i:i + k] for i in range(max(1, len(text) - k + 1))}


def _nearest(s: set[str], pool: list[set[str]]) -> float:
    """Highest Jaccard similarity of `s` to a set in `pool` (sets under half or over twice its size can't reach 0.5)."""
    n = len(s)
    return max((len(s & o) / len(s | o) for o in pool if n / 2 <= len(o) <= 2 * n and o is not s), default=0.0)


def test_test_texts_are_not_near_copies_of_train_texts(corpus: list[Example]) -> None:
    train_texts = {e.text for e in corpus if e.split == "train"}
    assert not train_texts & {e.text for e in corpus if e.split != "train"}
    train = defaultdict(list)
    for e in corpus:
        if e.split == "train":
            train[(e.lang, e.kind)].append(_shingles(e.text))
    sample = random.Random(0).sample([e for e in corpus if e.split == "test"], 250)
    nearest = [_nearest(_shingles(e.text), train[(e.lang, e.kind)]) for e in sample]
    assert max(nearest) < 0.5, max(nearest)
    # the same measure finds near-copies inside train, so it can fail
    inside = [e for e in random.Random(1).sample(corpus, 400) if e.split == "train"][:100]
    twins = [_nearest(_shingles(e.text), [o for o in train[(e.lang, e.kind)] if o != _shingles(e.text)])
             for e in inside]
    assert max(twins) > 0.6


ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")  # with presentation forms
SORANI_LETTERS = set("ێۆڕڵەڤ")
PERSIAN_ONLY = set("پچگژیک")
LINKS = re.compile(r"(t\.me/|wa\.me/|@)\S+")


def _letters(text: str) -> list[str]:
    return [c for c in LINKS.sub("", text) if c.isalpha()]


def test_each_text_is_in_its_declared_script(corpus: list[Example]) -> None:
    by_lang = defaultdict(list)
    for e in corpus:
        if e.kind not in ("romanized", "obfuscated"):  # Arabizi, Latin Sorani, Finglish: another script by design
            by_lang[e.lang].append(e.text)
    assert any(e.kind == "romanized" and e.lang == "ar" and not ARABIC_SCRIPT.search(e.text) for e in corpus)
    for lang in ("ar", "ckb", "fa"):
        for text in by_lang[lang]:
            letters = _letters(text)
            if len(letters) < 10:  # "مني 4.000.000 IQD 👍": a bid, too short to have a script of its own
                continue
            assert sum(bool(ARABIC_SCRIPT.match(c)) for c in letters) / len(letters) > 0.6, text
    assert not any(PERSIAN_ONLY & set(t) for t in by_lang["ar"])  # Arabic spells ي ك
    # a few informal Sorani messages lose ڕ and ڵ and keep no other Sorani letter
    assert sum(bool(SORANI_LETTERS & set(t)) for t in by_lang["ckb"]) / len(by_lang["ckb"]) > 0.995
    assert not any(SORANI_LETTERS & set(t) for t in by_lang["fa"])
    for lang in ("kmr", "tr", "en"):
        assert not any(ARABIC_SCRIPT.search(t) for t in by_lang[lang]), lang
    assert all(c.isascii() for t in by_lang["en"] for c in _letters(t))
    # most keep their letters; about a quarter are typed without them (noise.py)
    assert 0.6 < sum(bool(set("êîûçş") & set(t.lower())) for t in by_lang["kmr"]) / len(by_lang["kmr"]) < 0.9
    assert 0.6 < sum(bool(set("ğıüşöç") & set(t.lower())) for t in by_lang["tr"]) / len(by_lang["tr"]) < 0.9
    mixed_scripts = sum(bool(ARABIC_SCRIPT.search(t)) and any(c.isascii() and c.isalpha() for c in _letters(t))
                        for t in by_lang["mixed"])
    assert mixed_scripts / len(by_lang["mixed"]) > 0.3


def test_obfuscated_listings_are_obfuscated(corpus: list[Example]) -> None:
    obfuscated = [e.text for e in corpus if e.kind == "obfuscated"]
    marks = re.compile(r"(\w[.\-*_ ]){3,}\w|ـ|[a-z][0-9$@][a-z]"  # s.l.a.v.e, tatweel, sl4ve
                       r"|[\u200b-\u200d\u2060]\w|[\U0001d400-\U0001d7ff]|[a-z][\u0400-\u04ff]|[\u0400-\u04ff][a-z]"  # hidden, look-alike
                       r"|\w[^\w\s]\w[^\w\s]\w", re.IGNORECASE)  # letters between emoji
    assert sum(bool(marks.search(t)) for t in obfuscated) / len(obfuscated) > 0.9  # the rest break words at random


# Words that must never appear: sexual content and descriptions of abuse, in every language.
DENYLIST = {
    "sex", "sexy", "sexual", "rape", "raped", "virgin", "virginity", "nude", "naked", "torture", "tortured",
    "beaten", "bed", "beautiful", "pretty", "hot girl",
    "جنس", "جنسي", "جنسية", "اغتصاب", "اغتصبت", "عذراء", "بكر", "عارية", "تعذيب", "جميلة", "مثيرة",
    "سێکس", "دەستدرێژی", "ئەشکەنجە", "کچێنی",
    "seks", "destdirêjî", "îşkence", "bakîre", "xweşik", "bedew", "tazî", "بیکر", "جوانە", "حلوة",
    "سکس", "جنسی", "تجاوز", "باکره", "شکنجه", "برهنه", "زیبا",
    "tecavüz", "bakire", "çıplak", "işkence", "güzel", "seksi",
}


def test_no_sexual_or_abuse_words_anywhere(corpus: list[Example]) -> None:
    single = {w for w in DENYLIST if " " not in w}
    phrases = DENYLIST - single
    for e in corpus + generate_corpus(6000, seed=99):
        tokens = set(re.findall(r"\w+", e.text.lower()))
        assert not tokens & single, (tokens & single, e.text)
        assert not any(p in e.text.lower() for p in phrases), e.text


def test_write_jsonl_round_trip_and_bad_folder(tmp_path, corpus: list[Example]) -> None:
    out = tmp_path / "c.jsonl"
    assert write_jsonl(corpus[:50], out) == 50
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [e.to_dict() for e in corpus[:50]]
    assert "\\u" not in out.read_text(encoding="utf-8")  # UTF-8, not escaped
    with pytest.raises(InputError, match="folder does not exist"):
        write_jsonl(corpus[:5], tmp_path / "missing" / "c.jsonl")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(InputError, match=r"cannot write here \(File name too long\)"):
        write_jsonl(corpus[:5], tmp_path / ("x" * 300 + ".jsonl"))
    assert [p.name for p in tmp_path.iterdir()] == ["c.jsonl"]  # no temporary left behind


def test_corpus_command_writes_one_split(tmp_path) -> None:
    out = tmp_path / "test.jsonl"
    result = CliRunner().invoke(corpus_command, ["--out", str(out), "--n", "1500", "--seed", "3", "--split", "test"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = [e.to_dict() for e in generate_corpus(1500, seed=3) if e.split == "test"]
    assert rows == expected and 150 < len(rows) < 300
    assert f"Wrote {len(rows)} messages" in result.output


def test_corpus_command_rejects_missing_folder(tmp_path) -> None:
    from detector.cli import main

    target = tmp_path / "no" / "x.jsonl"
    result = CliRunner().invoke(main, ["corpus", "--out", str(target), "--n", "10"])
    assert result.exit_code == 1
    assert result.output.strip().endswith(f"Error: {target}: folder does not exist")
    assert "Traceback" not in result.output and not target.parent.exists()


HANDWRITTEN = Path(__file__).parent / "data" / "handwritten_eval.jsonl"
HANDWRITTEN_TEST = Path(__file__).parent / "data" / "handwritten_test"


def test_handwritten_set_is_balanced_and_unlike_any_template(corpus: list[Example]) -> None:
    rows = [json.loads(line) for line in HANDWRITTEN.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 240 and len({r["text"] for r in rows}) == len(rows)
    assert all(set(r) == {"text", "label", "lang", "kind"} and r["text"].strip() for r in rows)
    by_lang = Counter(r["lang"] for r in rows)
    assert all(by_lang[lang] >= 40 for lang in ("ar", "ckb", "kmr", "fa", "tr", "en")) and by_lang["mixed"] >= 10
    assert 0.28 < sum(r["label"] for r in rows) / len(rows) < 0.4
    assert {r["kind"] for r in rows} == set(POSITIVE_KINDS) | set(NEGATIVE_KINDS)
    assert all(r["kind"] in (POSITIVE_KINDS if r["label"] else NEGATIVE_KINDS) for r in rows)
    generated = defaultdict(list)
    for e in corpus[:8000]:  # every family many times over
        generated[e.lang].append(_shingles(e.text))
    for r in rows:  # none of them is a near-copy of anything the generator writes
        assert _nearest(_shingles(r["text"]), generated[r["lang"]]) < 0.5, r["text"]


def test_held_out_test_set_is_large_varied_and_unlike_anything_generated(corpus: list[Example]) -> None:
    rows = [json.loads(line) for path in sorted(HANDWRITTEN_TEST.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]
    assert len({r["text"] for r in rows}) == len(rows) == len({r["id"] for r in rows})
    for lang in ("ar", "ckb", "kmr", "fa", "tr", "en"):
        mine = [r for r in rows if r["lang"] == lang]
        assert len(mine) >= 100 and len({r["kind"] for r in mine}) >= 15, lang
        listings = [r for r in mine if r["label"] == 1]
        assert sum(bool(r.get("minor")) for r in listings) >= 0.45 * len(listings), lang
    assert all(set(r) <= {"id", "text", "label", "lang", "kind", "minor", "context"} for r in rows)
    assert all(r["context"] for r in rows if r["kind"] == "auction_followup")
    generated = defaultdict(list)
    for e in corpus[:12000]:  # every template many times over
        generated[e.lang].append(_shingles(e.text))
    near = [r["id"] for r in rows if len(r["text"].split()) > 3  # "1800 ji min" is every bid, not a copy
            and _nearest(_shingles(r["text"]), generated[r["lang"]]) >= 0.5]
    assert not near  # the generator never learnt the test set's phrasing


def test_informal_spelling_spares_links_numbers_and_obfuscation() -> None:
    from detector.synthetic.corpus.noise import informal

    rng = random.Random(0)
    texts = [informal("Keça êzidî: ji bo firotinê. @Şeng_1 t.me/Êzî wa.me/9647701234567 0770 123 4567 s.l.a.v.e",
                      ("kmr",), rng) for _ in range(30)]
    assert any("keca ezidi" in t for t in texts) and any("ê" in t for t in texts)  # sometimes, not always
    for t in texts:
        assert "@Şeng_1" in t and "t.me/Êzî" in t and "wa.me/9647701234567" in t and "0770 123 4567" in t
        assert "s.l.a.v.e" in t
    arabic = {informal("أسيرة للبيع، إيزيدية", ("ar",), random.Random(seed)) for seed in range(20)}
    assert {"اسيره للبيع، ايزيديه", "اسيره للبيع ايزيديه"} & arabic
