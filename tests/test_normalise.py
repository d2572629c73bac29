"""normalise(): folding, de-obfuscation and the exact map back to original offsets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from detector.text import Normalised, normalise
from detector.text.normalise import DIGITS, HOMOGLYPHS, LETTER_FOLD, LOOKALIKE_MAP

DATA = Path(__file__).parent / "data"


def corpus() -> list[str]:
    """Every hand-written message of the text tables plus hostile extras."""
    texts = [line.split("\t", 1)[1] for line in (DATA / "language_table.tsv").read_text("utf-8").splitlines()
             if line and not line.startswith("#")]
    texts += [json.loads(line)["text"] for line in (DATA / "signals_table.jsonl").read_text("utf-8").splitlines()]
    texts += ["ﻻ ﷲ ﬁne", "e\u0301te cafe\u0301", "ج\u0640\u0640ارية", "عُمْرُها", "a\u200bb\u200dc", "I\u0307stanbul",
              "\ud800x\udfff", "x\x00y\x07z", "𝐬𝐥𝐚𝐯𝐞 ｇｉｒｌ", "５ＯＯＯ ＄", "sl\u0430ve"]
    return texts


def _sources(segment: str) -> set[str]:
    """Characters a derived character may legitimately come from this original segment."""
    out: set[str] = set()
    for ch in segment:
        for piece in (unicodedata.normalize("NFKC", ch), ch):
            for c in piece.lower():
                out |= {c, LETTER_FOLD.get(c, c), DIGITS.get(c, c), LOOKALIKE_MAP.get(c, c), HOMOGLYPHS.get(c, c)}
        out.add(LETTER_FOLD.get(ch, ch))
    out |= {"0"} if "o" in out else set()
    composed = unicodedata.normalize("NFC", segment).lower()
    return out | set(composed) | {"i"}


def test_every_derived_character_maps_back_to_the_characters_that_produced_it() -> None:
    for text in corpus():
        _check_character_map(text)


def _check_character_map(text: str) -> None:
    norm = normalise(text)
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    previous = (0, 0)
    for i, ch in enumerate(norm.text):
        start, end = norm.to_original(i, i + 1)
        assert 0 <= start < end <= len(text)
        assert (start, end) >= previous and start >= previous[0] and end >= previous[1]
        assert start >= previous[1] or (start, end) == previous  # disjoint, or one expansion
        previous = (start, end)
        if ch.isalnum():
            assert ch in _sources(text[start:end]), (ch, text[start:end])


def test_a_derived_span_maps_to_the_original_span_covering_it() -> None:
    for text in corpus():
        norm = normalise(text)
        n = len(norm.text)
        for a in range(0, n, 3):
            for b in range(a, min(n, a + 7) + 1):
                start, end = norm.to_original(a, b)
                assert 0 <= start <= end <= len(text)
                if b > a:
                    assert (start, end) == (norm.to_original(a, a + 1)[0], norm.to_original(b - 1, b)[1])


@pytest.mark.parametrize(
    ("original", "derived"),
    [
        ("عُمْرُها ١٧ سنة", "عمرها 17 سنة"),  # harakat out, Arabic-Indic digits to ASCII
        ("جـــارية", "جارية"),  # tatweel
        ("أحمد إلى آخر", "احمد الي اخر"),  # alef and alef-maksura variants
        ("۳۰۰ میلیون تومان", "300 میلیون تومان"),  # Persian digits; Persian ی kept
        ("کچێک هەولێر ڕێگا ڵ ۆ ڤ", "کچێک هەولێر ڕێگا ڵۆڤ"),  # Sorani letters kept
        ("پ چ ژ گ ک ی", "پچژگکی"),  # Persian letters kept (the spaced-out run is joined)
        ("İSTANBUL IĞDIR ılık", "istanbul iğdir ılık"),  # Turkish İ and ı handled
        ("s.l.a.v.e", "slave"),
        ("s l a v e", "slave"),
        ("s-l-a-v-e", "slave"),
        ("s🔥l🔥a🔥v🔥e", "slave"),
        ("س ب ي ة", "سبية"),
        ("s..l a..v_e", "slave"),  # mixed fillers, a space inside the word
        ("c_a p..t..i_ve", "captive"),  # pairs of letters between fillers
        ("ک..چ ۆ..ڵ_ە", "کچۆڵە"),
        ("k.a.d.i.n m.e.z.a.t.a", "kadin mezata"),  # a space between two whole dotted words stays
        ("sell a g.i.r.l", "sell a girl"),  # ... and after a one-letter word
        ("ok..so..we", "ok..so..we"),  # ordinary two-letter words are no split run
        ("g1rl s@le sl4ve", "girl sale slave"),
        ("5OOO $ and 1O,OOO", "5000 $ and 10,000"),
        ("saaaale جاااارية", "sale جارية"),
        ("𝐬𝐥𝐚𝐯𝐞 ｇｉｒｌ", "slave girl"),  # NFKC
        ("sl\u200bave\u200d", "slave"),  # zero-width characters folded
        ("cafe\u0301", "café"),  # combining marks composed
        ("sl\u0430ve g\u0456rl", "slave girl"),  # Cyrillic look-alikes inside Latin words
        ("Привет, как дела", "привет, как дела"),  # ... but Russian stays Russian
    ],
)
def test_folds_and_undoes_obfuscation(original: str, derived: str) -> None:
    assert normalise(original).text == derived


@pytest.mark.parametrize(
    "text",
    ["iPhone 13 Galaxy S21", "2017", "120,000 km", "7.62", "+964 770 123 4567", "0770-123-4567", "12,500$",
     "user@mail.com", "@girl_2005", "t.me/abc12", "www.site.com", "call 0770 123 4567", "10 k"],
)
def test_numbers_links_and_usernames_survive(text: str) -> None:
    assert normalise(text).text == text.lower()


def test_zwnj_kept_inside_persian_and_sorani_words_only() -> None:
    assert normalise("می\u200cخواهم").text == "می\u200cخواهم"
    assert normalise("بە\u200cهێز").text == "بە\u200cهێز"
    assert normalise("ab\u200ccd \u200cx").text == "abcd x"


def test_obfuscated_word_maps_back_to_its_whole_original_spelling() -> None:
    text = "call s.l.a.v.e now, جاااارية and عُمْرُها"
    norm = normalise(text)
    for word, original in [("slave", "s.l.a.v.e"), ("جارية", "جاااارية"), ("عمرها", "عُمْرُها")]:
        i = norm.text.index(word)
        start, end = norm.to_original(i, i + len(word))
        assert text[start:end] == original


def test_empty_spans_and_out_of_range_offsets_are_clamped() -> None:
    norm = normalise("abc")
    assert norm.to_original(1, 1) == (1, 1)
    assert norm.to_original(3, 3) == (3, 3)
    assert norm.to_original(-5, 99) == (0, 3)
    assert norm.original_text(0, 2) == "ab"


@pytest.mark.parametrize(
    ("text", "derived"),
    [("", ""), ("😀🔥😀", "😀🔥😀"), ("\ud800", ""), ("a\ud800b\udfff", "ab"), ("ab\x00cd\x07\x1bef", "ab cd  ef"),
     ("\u202ehello\u202c", "hello"), ("\ufeff\u200b", "")],
)
def test_bad_input_gives_a_sensible_result(text: str, derived: str) -> None:
    norm = normalise(text)
    assert isinstance(norm, Normalised)
    assert norm.text == derived
    assert norm.original == text


def test_a_megabyte_is_normalised_in_linear_time() -> None:
    text = ("s.l.a.v.e g1rl جاااارية ١٧ 😀 \x00 \ud800 " * 40_000)[:1_000_000]
    norm = normalise(text)
    assert norm.text.startswith("slave girl جارية 17")
    assert len(norm.starts) == len(norm.text)
    assert norm.to_original(len(norm.text) - 1, len(norm.text))[1] <= len(text)


def test_joining_split_letters_does_not_depend_on_the_hash_seed() -> None:
    """A tie between two separators once went by set order, which changes per process."""
    code = "from detector.text import normalise; print(normalise('ب_ر_ده ل_ا..ز..م د ا..ر_ی م').text)"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "5", "9")
    }
    assert outputs == {"برده لازمداریم\n"}
