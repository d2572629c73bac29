"""Derived, matchable text with an exact map back to the original characters.

`normalise(text)` folds a message into one comparable form (NFKC, lower case, ASCII digits,
no Arabic diacritics or tatweel, unified Arabic letter variants, no invisible characters) and
undoes common keyword-filter dodges (split letters, look-alike digits and symbols, Cyrillic
look-alike letters, stretched letters); links, e-mails and @usernames are left alone.
Persian and Kurdish letters stay distinct so language identification still sees them.
Every derived character remembers which original characters produced it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detector.text.spans import SpanSet

__all__ = ["DIGITS", "HOMOGLYPHS", "LETTER_FOLD", "LOOKALIKE_MAP", "Normalised", "normalise"]

ZWNJ = "\u200c"

# Arabic-script letters whose variants collapse onto one form. Persian (پ چ ژ گ ک ی) and
# Kurdish (ڕ ڵ ێ ۆ ە ڤ ھ) letters are deliberately absent: they identify the language.
LETTER_FOLD = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ې": "ی", "ۍ": "ی", "ي\u0654": "ئ",
    "ڪ": "ک", "ػ": "ک", "ؼ": "ک",
    "ۀ": "ه", "ۂ": "ه", "ۃ": "ة",
    "İ": "i", "ẞ": "ss",
}
# Characters that carry no letters: dropped (ZWNJ is handled by context, see below).
_INVISIBLE = set(
    "\u00ad\u034f\u061c\u180e\u200b\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff\ufe0e\ufe0f\u0640"
)
DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
DIGITS |= {"٫": ".", "٬": ",", "٪": "%"}


def _is_arabic_mark(c: str) -> bool:
    o = ord(c)
    return 0x064B <= o <= 0x065F or o == 0x0670 or 0x06D6 <= o <= 0x06ED or 0x08D3 <= o <= 0x08FF


def _fold_char(c: str) -> str:
    """Fold one character on its own (context-free part of normalisation)."""
    if c in DIGITS:
        return DIGITS[c]
    if c in _INVISIBLE or _is_arabic_mark(c):
        return ""
    if "\ud800" <= c <= "\udfff":  # lone surrogate: not a character
        return ""
    if c in ("\n", "\t", "\r"):
        return " " if c != "\n" else "\n"
    cat = unicodedata.category(c)
    if cat == "Cc" or cat == "Cf" and c != ZWNJ:
        return " " if cat == "Cc" else ""
    if c in LETTER_FOLD:
        return LETTER_FOLD[c]
    out = []
    for ch in unicodedata.normalize("NFKC", c):
        ch = DIGITS.get(ch, LETTER_FOLD.get(ch, ch))
        if not _is_arabic_mark(ch) and ch not in _INVISIBLE:
            out.append(ch.lower()[:1] or ch)  # only İ lowers to two characters; it is folded above
    return "".join(out)


class _FoldCache(dict):
    def __missing__(self, c: str) -> str:
        value = self[c] = _fold_char(c)
        return value


class _FoldTable(dict):
    """The same folds keyed by code point, for `str.translate`; notes characters that do not fold to one."""

    def __missing__(self, code: int) -> str:
        value = self[code] = _FOLD[chr(code)]
        if len(value) != 1:
            _IRREGULAR.add(chr(code))
        return value


_FOLD = _FoldCache()
_FOLD_TABLE = _FoldTable()
_IRREGULAR: set[str] = set()  # characters seen that fold to nothing or to several


@dataclass(frozen=True, slots=True)
class Normalised:
    """A derived text; `starts[i]:ends[i]` are the original characters behind `text[i]`."""

    text: str
    original: str
    starts: Sequence[int]
    ends: Sequence[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the derived text to the span of original text that produced it."""
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        if start == end:
            pos = self.starts[start] if start < n else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]

    def original_text(self, start: int, end: int) -> str:
        """The original characters behind a derived span."""
        a, b = self.to_original(start, end)
        return self.original[a:b]


# ---------------------------------------------------------------- character pass

def _fold_text(text: str) -> tuple[str, Sequence[int], Sequence[int]]:
    out = text.translate(_FOLD_TABLE)  # also notes any character that does not fold to one
    if _IRREGULAR.isdisjoint(text) and unicodedata.is_normalized("NFC", out):
        return out, range(len(text)), range(1, len(text) + 1)  # identity map, no copies
    pieces = [_FOLD[c] for c in text]
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, (c, piece) in enumerate(zip(text, pieces)):
        if not piece:
            if chars and unicodedata.combining(c) and not _is_arabic_mark(c):
                composed = unicodedata.normalize("NFC", chars[-1] + c)
                if len(composed) == 1:
                    chars[-1] = _FOLD[composed] or chars[-1]
            if starts and unicodedata.combining(c):
                ends[-1] = i + 1  # a dropped mark belongs to the letter it sits on
            continue
        if len(piece) == 1 and unicodedata.combining(piece) and chars:
            composed = unicodedata.normalize("NFC", chars[-1] + piece)
            if len(composed) == 1:
                chars[-1] = composed
                ends[-1] = i + 1
                continue
        for ch in piece:
            chars.append(ch)
            starts.append(i)
            ends.append(i + 1)
    return "".join(chars), starts, ends


# ---------------------------------------------------------------- rewriting passes

# An edit replaces current characters [a, b) by `chars`; each new character takes the
# original span of the current characters [a + lo, a + hi) it came from.
Edit = tuple[int, int, list[tuple[str, int, int]]]


def _apply(text: str, starts: Sequence[int], ends: Sequence[int], edits: list[Edit]):
    if not edits:
        return text, starts, ends
    out: list[str] = []
    new_s: list[int] = []
    new_e: list[int] = []
    pos = 0
    for a, b, chars in edits:
        out.append(text[pos:a])
        new_s += starts[pos:a]
        new_e += ends[pos:a]
        for ch, lo, hi in chars:
            out.append(ch)
            new_s.append(starts[a + lo])
            new_e.append(ends[a + hi - 1])
        pos = b
    out.append(text[pos:])
    new_s += starts[pos:]
    new_e += ends[pos:]
    return "".join(out), new_s, new_e


_ARABIC_LETTER = "\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f"
_LETTER = rf"a-z\u00df-\u024f{_ARABIC_LETTER}"
_EMOJI = "\U0001F000-\U0001FAFF\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u25a0-\u25ff\u2300-\u23ff"

# Spans never rewritten by the anti-obfuscation passes: links, e-mail addresses, @usernames.
_PROTECTED = re.compile(
    r"(?:https?://|www\.)\S+|\b(?:t|wa|telegram)\.me/\S+|(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}\.[\w.]{2,64}"
    r"|(?<!\w)@\w+",
    re.ASCII | re.IGNORECASE,
)
_ZWNJ_STRAY = re.compile(rf"(?<![{_ARABIC_LETTER}])\u200c|\u200c(?![{_ARABIC_LETTER}])")
_STRETCH = re.compile(rf"([{_LETTER}])\1{{2,}}")
# A token mixing letters with look-alike digits/symbols; the look-alikes are rewritten
# only where a letter stands on both sides (g1rl, s@le, sl4ve), or on the edge of a word
# that already had such a rewrite (5l4v3).
_LOOKALIKE_TOKEN = re.compile(r"(?<![\w@$.!|])[a-z0-9@$!|]{3,40}(?![\w@$!|])", re.ASCII)
LOOKALIKE_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
_LOOKALIKE_INSIDE = re.compile(r"[a-z][013457@$!|][a-z]")
# Cyrillic and Greek letters that look Latin, rewritten inside words that mix them with
# Latin letters (slаve with a Cyrillic а).
HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ӏ": "l", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
}
_WORD_CHARS = "a-z\u00df-\u024f\u0250-\u02af\u0370-\u03ff\u0400-\u052f"
_HOMOGLYPH_TOKEN = re.compile(rf"(?<![{_WORD_CHARS}])[{_WORD_CHARS}]*[\u0250-\u02af\u0370-\u03ff\u0400-\u052f][{_WORD_CHARS}]*")
_CYRILLIC_OR_GREEK = re.compile(r"[\u0250-\u02af\u0370-\u03ff\u0400-\u052f]")
_LATIN_IN_TOKEN = re.compile(r"[a-z\u00df-\u024f]")
# Look-alike letters inside a number: 5OOO -> 5000, 1O,OOO -> 10,000.
_NUMBER_WITH_O = re.compile(r"(?<![a-z0-9])\d[\d,.]*o[o\d,.]*(?![a-z])|(?<![a-z0-9])o+\d[\d,.o]*(?![a-z])", re.ASCII)
# Letters held apart by fillers: s.l.a.v.e, س ب ي ة, and mixed fillers with pairs of letters
# between them (c_a p..t..i_ve). A run is three or more pieces of one or two letters.
_SEP = rf"(?:[\s.\-_*•·|/\\~+,]|[{_EMOJI}]){{1,3}}"
_SPLIT = re.compile(
    rf"(?<![{_LETTER}\d])[{_LETTER}]{{1,2}}(?:{_SEP}[{_LETTER}]{{1,2}}(?![{_LETTER}\d])){{2,}}"
)
_SPLIT_PIECE = re.compile(rf"[{_LETTER}]{{1,2}}")
_GLUE = set("._-*•·~+")
_ONE_LETTER_WORDS = {"a", "i", "o", "و"}  # fillers that join letters whatever the run's usual filler is


def _stretch_edits(m: re.Match) -> list[tuple[str, int, int]]:
    return [(m.group(1), 0, m.end() - m.start())]


def _lookalike_edits(m: re.Match) -> list[tuple[str, int, int]] | None:
    token = m.group()
    if token.startswith(("http", "www")) or token.isdigit() or not any(c.isalpha() for c in token):
        return None
    interior = [
        i for i in range(1, len(token) - 1)
        if token[i] in LOOKALIKE_MAP and token[i - 1].isalpha() and token[i + 1].isalpha()
    ]
    if not interior:
        return None
    chars = []
    for i, ch in enumerate(token):
        if ch in LOOKALIKE_MAP and (i in interior or i in (0, len(token) - 1)):
            ch = LOOKALIKE_MAP[ch]
        chars.append((ch, i, i + 1))
    return chars


def _homoglyph_edits(m: re.Match) -> list[tuple[str, int, int]] | None:
    token = m.group()
    if not _LATIN_IN_TOKEN.search(token):
        return None  # a Russian or Greek word stays itself
    return [(HOMOGLYPHS.get(ch, ch), i, i + 1) for i, ch in enumerate(token)]


def _number_o_edits(m: re.Match) -> list[tuple[str, int, int]]:
    return [("0" if ch == "o" else ch, i, i + 1) for i, ch in enumerate(m.group())]


def _split_joins(pieces: list[str], kinds: list[str]) -> list[bool]:
    """Which gaps of a split run join letters: the run's usual filler and glue punctuation
    always; a space only between fragments of a word (under three letters on one side), but
    not after a one-letter word before a longer one (a g.i.r.l, و س.ب.ي.ة). A two-letter
    piece not glued by punctuation is an ordinary word and stays apart."""
    usual = max(kinds, key=kinds.count)  # ties go to the first seen, never to set order
    glued = [k != " " and (k == usual or set(k) <= _GLUE) for k in kinds]
    join = [g or (k == " " and usual == " ") for g, k in zip(glued, kinds)]
    segments: list[int] = []  # letters of the glued word each piece belongs to
    start = 0
    for i in range(len(pieces)):
        if i == len(kinds) or not glued[i]:
            segments += [sum(map(len, pieces[start:i + 1]))] * (i + 1 - start)
            start = i + 1
    for i, k in enumerate(kinds):
        if k == " " and usual != " ":
            word = pieces[i] in _ONE_LETTER_WORDS and (i == 0 or not glued[i - 1]) and segments[i + 1] >= 3
            join[i] = min(segments[i], segments[i + 1]) < 3 and not word
    for i, piece in enumerate(pieces):
        if len(piece) == 2 and not (i and glued[i - 1]) and not (i < len(kinds) and glued[i]):
            if i:
                join[i - 1] = False
            if i < len(kinds):
                join[i] = False
    return join


def _split_edits(m: re.Match) -> list[tuple[str, int, int]] | None:
    """Join the letters a run holds apart; gaps that do not join become word breaks
    (k.a.d.i.n m.e.z.a.t.a -> kadin mezata, s..l a..v_e -> slave)."""
    run = m.group()
    found = list(_SPLIT_PIECE.finditer(run))
    pieces = [p.group() for p in found]
    if all(len(p) == 2 for p in pieces):
        return None  # ordinary two-letter words (ok..so..we)
    kinds = ["".join(sorted(set(run[a.end():b.start()].replace(" ", "")))) or " "
             for a, b in zip(found, found[1:])]
    join = _split_joins(pieces, kinds)
    if sum(join) < 2:
        return None
    out = []
    for k, pm in enumerate(found):
        if k and not join[k - 1]:
            out.append((" ", found[k - 1].end(), pm.start()))
        for j in range(pm.start(), pm.end()):
            last = j == pm.end() - 1
            hi = found[k + 1].start() if last and k + 1 < len(found) and join[k] else j + 1
            out.append((run[j], j, hi))
    return out


_Rewrite = Callable[[re.Match], "list[tuple[str, int, int]] | None"]
_PASSES: tuple[tuple[re.Pattern, _Rewrite], ...] = (
    (_HOMOGLYPH_TOKEN, _homoglyph_edits),
    (_NUMBER_WITH_O, _number_o_edits),
    (_STRETCH, _stretch_edits),
    (_LOOKALIKE_TOKEN, _lookalike_edits),
    (_SPLIT, _split_edits),
)


def _run_pass(text, starts, ends, pattern: re.Pattern, rewrite: _Rewrite, protect: bool):
    protected: SpanSet | None = None  # found at the first match: most passes match nothing
    edits: list[Edit] = []
    for m in pattern.finditer(text):
        if protect and protected is None:
            protected = SpanSet()
            for link in _PROTECTED.finditer(text):
                protected.add(*link.span())
        if protected is not None and protected.overlaps(m.start(), m.end()):
            continue
        chars = rewrite(m)
        if chars is not None:
            edits.append((m.start(), m.end(), chars))
    return _apply(text, starts, ends, edits)


def _drop_stray_zwnj(text, starts, ends):
    if ZWNJ not in text:
        return text, starts, ends
    edits = [(m.start(), m.end(), []) for m in _ZWNJ_STRAY.finditer(text)]
    return _apply(text, starts, ends, edits)


def normalise(text: str) -> Normalised:
    """Fold `text` into its matchable form, keeping an exact map to the original."""
    if not isinstance(text, str):
        text = str(text or "")
    folded, starts, ends = _fold_text(text)
    folded, starts, ends = _drop_stray_zwnj(folded, starts, ends)
    has_links = "@" in folded or "www." in folded or "://" in folded or ".me/" in folded
    for pattern, rewrite in _PASSES:
        if pattern is _HOMOGLYPH_TOKEN and not _CYRILLIC_OR_GREEK.search(folded):
            continue
        if pattern is _LOOKALIKE_TOKEN and not _LOOKALIKE_INSIDE.search(folded):
            continue  # no look-alike between two letters: no token of this pass can change
        folded, starts, ends = _run_pass(folded, starts, ends, pattern, rewrite, has_links)
    if isinstance(starts, list):
        starts, ends = tuple(starts), tuple(ends)
    return Normalised(folded, text, starts, ends)
