"""Generated listings with KNOWN near-duplicate clusters, to measure clustering.

Base listings are positives of the synthetic corpus; each is reposted as variants that
are re-priced, re-worded (synonym and translation swaps), re-ordered, shortened or
lengthened by a line, and mixed with another language, as a seller reposting in
another channel would. Unrelated corpus messages fill the rest. Everything is synthetic.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import cast

import numpy as np

from .corpus import Example, generate_corpus
from ..text import signals
from ..link import lsh
from ..link.sketch import Sketcher

# Same-language synonyms and cross-language swaps (a reposter mixing languages).
SWAPS = (
    ("للبيع", "معروضة للبيع"), ("السعر", "الثمن"), ("للتواصل", "للاستفسار"), ("عمرها", "العمر"),
    ("سعر", "fiyat"), ("دولار", "$"), ("for sale", "available"), ("price", "cost"), ("contact", "call"),
    ("years old", "yrs"), ("available", "للبيع"), ("فروش", "for sale"), ("قیمت", "price"),
    ("تماس", "contact"), ("ساله", "سال"), ("satılık", "for sale"), ("fiyat", "price"), ("yaş", "yaşında"),
    ("firotin", "for sale"), ("biha", "price"), ("salî", "sal"), ("فرۆشتن", "للبيع"), ("نرخ", "price"),
    ("تەمەن", "age"), ("تواصل", "contact"), ("واتساب", "WhatsApp"), ("whatsapp", "واتساب"),
)
EXTRA_LINES = (
    "serious buyers only", "price negotiable", "السعر قابل للنقاش", "للجادين فقط", "fiyat pazarlıklı",
    "تنها خریدار جدی", "تەنها کڕیاری جدی", "bi tenê kiriyarên cidî", "DM for details", "راسلني خاص",
    "first come first served", "التسليم فوري", "hemen teslim", "تحویل فوری", "radestkirina zû",
    "no time wasters", "العدد محدود", "acele", "فقط امروز", "تەنها ئەمڕۆ",
)
# A few words in another language, as a reposter switching languages mid-message.
MIXED_WORDS = ("for sale", "للبيع", "satılık", "فروش", "firotin", "فرۆشتن", "urgent", "عاجل", "acil", "فوری")
UNRELATED_BELOW = 0.2  # estimated Jaccard under which two messages count as unrelated
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


@dataclass(frozen=True, slots=True)
class LinkedText:
    """A generated message and the cluster it truly belongs to (unrelated messages: their own)."""

    text: str
    truth: int


def _reprice(text: str, rng: random.Random) -> str:
    """Change the amounts inside the text's price signals (phone numbers stay as they are)."""
    factor = rng.uniform(0.8, 1.2)

    def change(m: re.Match[str]) -> str:
        value = int(re.sub(r"\D", "", m.group()))
        return str(max(1, round(value * factor / 10) * 10)) if value >= 50 else m.group()

    for price in sorted((s for s in signals(text) if s.type == "price"), key=lambda s: -s.start):
        text = text[: price.start] + _NUMBER.sub(change, text[price.start : price.end]) + text[price.end :]
    return text


def _reword(text: str, rng: random.Random) -> str:
    found = [pair for pair in SWAPS if pair[0] in text.lower()]
    for old, new in rng.sample(found, min(len(found), rng.randint(1, 2))):
        text = re.sub(re.escape(old), new, text, count=1, flags=re.IGNORECASE)
    return text


def _reorder(lines: list[str], rng: random.Random) -> list[str]:
    head, rest = lines[:1], lines[1:]
    rng.shuffle(rest)
    return head + rest


EDITS = ("price", "words", "order", "drop", "add", "mix")


def repost(text: str, rng: random.Random, edits: tuple[str, ...] = EDITS) -> str:
    """One repost of `text`: each of `edits` a seller makes, at random, at least two of them."""
    ops = [op for op in edits if rng.random() < 0.5]
    while len(ops) < 2:
        ops.append(rng.choice(edits))
    if "price" in ops:
        text = _reprice(text, rng)
    if "words" in ops:
        text = _reword(text, rng)
    lines = [line for line in text.split("\n") if line.strip()]
    if "order" in ops and len(lines) > 2:
        lines = _reorder(lines, rng)
    if "drop" in ops and len(lines) > 3:
        lines.pop(rng.randrange(1, len(lines)))
    if "add" in ops:
        lines.insert(rng.randrange(1, len(lines) + 1), rng.choice(EXTRA_LINES))
    if "mix" in ops:
        at = rng.randrange(len(lines))
        lines[at] = f"{lines[at]} {rng.choice(MIXED_WORDS)}"
    return "\n".join(lines)


def _distinct(examples: list[Example]) -> list[Example]:
    """Examples no two of which are near-duplicates (the corpus's prose templates repeat whole
    sentences; such pairs would rightly cluster, so they cannot serve as unrelated messages)."""
    sketcher = Sketcher()
    sketches = [sketcher.sketch(e.text).signature for e in examples]
    rows = [i for i, sig in enumerate(sketches) if sig is not None]
    signatures = np.stack(cast(list[np.ndarray], [sketches[i] for i in rows]))  # rows hold a signature
    near = lsh.similar_pairs(signatures, lsh.candidate_pairs(lsh.band_keys(signatures), np.ones(len(rows), bool)),
                             UNRELATED_BELOW)
    dropped: set[int] = set()
    for i, j in sorted(map(tuple, near.tolist())):
        if rows[i] not in dropped:
            dropped.add(rows[j])
    return [e for i, e in enumerate(examples) if i not in dropped]


def generate_linked(clusters: int = 200, unrelated: int = 1000, *, seed: int = 0,
                    variants: tuple[int, int] = (1, 4)) -> list[LinkedText]:
    """`clusters` base listings with 1-4 reposts each, plus `unrelated` non-listings; shuffled.

    Base listings and unrelated messages are pairwise distinct (estimated Jaccard under 0.2).
    """
    rng = random.Random(seed)
    distinct = _distinct(generate_corpus((clusters + unrelated) * 4, seed=seed))
    bases = [e for e in distinct if e.label][:clusters]
    others = [e for e in distinct if e not in bases][:unrelated]
    out = []
    for truth, base in enumerate(bases):
        out.append(LinkedText(base.text, truth))
        out.extend(LinkedText(repost(base.text, rng), truth) for _ in range(rng.randint(*variants)))
    out.extend(LinkedText(e.text, len(bases) + i) for i, e in enumerate(others))
    rng.shuffle(out)
    return out
