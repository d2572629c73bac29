"""Layout families: how the parts of a message are arranged on the page.

Listing layouts arrange a headline and labelled fields (age, price, place,
contact); prose layouts arrange one or two sentences with a source, tags or a
link. Both labels share every layout, separator, bullet and emoji set, so none
of them gives the label away. Separators, bullets and emoji sets are
partitioned between splits like phrasings.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .partition import pick

SEPARATORS = (" - ", " | ", " / ", " • ", ", ", " + ", " ~ ", " ▪ ", " :: ", " — ")
BULLETS = ("🔹", "▪️", "✅", "🔸", "➖", "👉", "⭐", "•", "📌", "✔️")
EMOJI_SETS = ("🔥💯", "⚡✨", "💥🚨", "🌟👑", "💎💰", "📢📣", "🟢🔴", "🎯✅", "🌹🌸", "⭐💫")
ALERTS = ("🔴", "🚨", "📰", "⚡", "❗", "🔵", "📌", "🟠", "🛑", "💬")


@dataclass
class Parts:
    """The pieces of one message before layout."""

    head: str
    labelled: list[str] = field(default_factory=list)  # "Price: 3000$", ...
    bare: list[str] = field(default_factory=list)  # "3000$", ... (same order)
    extras: list[str] = field(default_factory=list)
    opener: str = ""
    closer: str = ""
    tags: list[str] = field(default_factory=list)
    contact_labelled: str = ""
    contact_bare: str = ""
    price_bare: str = ""
    second: str = ""  # prose: a second sentence
    source: str = ""  # prose: attribution


Layout = Callable[[Parts, random.Random, str], str]


def _lines(*chunks: str | list[str]) -> list[str]:
    out: list[str] = []
    for chunk in chunks:
        out.extend([chunk] if isinstance(chunk, str) else chunk)
    return [c for c in out if c]


def _with_contact(p: Parts) -> list[str]:
    return p.labelled + ([p.contact_labelled] if p.contact_labelled else [])


def _emojis(rng: random.Random, split: str) -> str:
    chars = list(pick(rng, EMOJI_SETS, split))
    return "".join(rng.choice(chars) for _ in range(rng.randint(1, 3)))


def l_lines(p: Parts, rng: random.Random, split: str) -> str:
    return "\n".join(_lines(p.head, _with_contact(p), p.extras))


def l_oneline(p: Parts, rng: random.Random, split: str) -> str:
    return pick(rng, SEPARATORS, split).join(_lines(p.head, p.extras, _with_contact(p)))


def l_bullets(p: Parts, rng: random.Random, split: str) -> str:
    bullet = pick(rng, BULLETS, split)
    return "\n".join([p.head] + [f"{bullet} {x}" for x in _lines(_with_contact(p), p.extras)])


def l_hashtags(p: Parts, rng: random.Random, split: str) -> str:
    return "\n".join(_lines(f"{p.head} {' '.join(p.bare)}", " ".join(p.tags), p.contact_labelled))


def l_price_first(p: Parts, rng: random.Random, split: str) -> str:
    rest = [x for x, b in zip(p.labelled, p.bare) if b != p.price_bare]
    return "\n".join(_lines(f"{p.price_bare} {p.head}".strip(), rest, p.extras, p.contact_labelled))


def l_short(p: Parts, rng: random.Random, split: str) -> str:
    tail = p.contact_bare if rng.random() < 0.5 else ""
    return " ".join(_lines(p.head, p.price_bare or (p.bare[0] if p.bare else ""), tail))


def l_long(p: Parts, rng: random.Random, split: str) -> str:
    return "\n".join(_lines(p.opener, p.head, p.extras, _with_contact(p), p.closer))


def l_emoji(p: Parts, rng: random.Random, split: str) -> str:
    lines = [f"{_emojis(rng, split)} {p.head} {_emojis(rng, split)}"]
    lines += [f"{_emojis(rng, split)} {x}" for x in _lines(_with_contact(p), p.extras)]
    return "\n".join(lines)


def l_bare(p: Parts, rng: random.Random, split: str) -> str:
    return " ".join(_lines(p.head, p.bare, p.extras, p.contact_bare))


def l_numbered(p: Parts, rng: random.Random, split: str) -> str:
    items = _lines(_with_contact(p), p.extras)
    return "\n".join([p.head] + [f"{i}- {x}" for i, x in enumerate(items, 1)])


def l_contact_first(p: Parts, rng: random.Random, split: str) -> str:
    sep = pick(rng, SEPARATORS, split)
    return "\n".join(_lines(p.contact_labelled, sep.join(_lines(p.head, p.bare, p.extras))))


def _comma(text: str) -> str:
    return "، " if any("\u0600" <= c <= "\u06ff" for c in text) else ", "


def l_sentence(p: Parts, rng: random.Random, split: str) -> str:
    body = _comma(p.head).join(_lines(p.head, p.labelled, p.extras))
    return " ".join(_lines(body + ".", p.closer, p.contact_labelled))


LISTING_LAYOUTS: dict[str, Layout] = {
    "lines": l_lines, "oneline": l_oneline, "bullets": l_bullets, "hashtags": l_hashtags,
    "price_first": l_price_first, "short": l_short, "long": l_long, "emoji": l_emoji,
    "bare": l_bare, "numbered": l_numbered, "contact_first": l_contact_first, "sentence": l_sentence,
}


def p_plain(p: Parts, rng: random.Random, split: str) -> str:
    return p.head


def p_alert(p: Parts, rng: random.Random, split: str) -> str:
    return f"{pick(rng, ALERTS, split)} {p.head}"


def p_two(p: Parts, rng: random.Random, split: str) -> str:
    return " ".join(_lines(p.head, p.second))


def p_tags(p: Parts, rng: random.Random, split: str) -> str:
    return "\n".join(_lines(p.head, " ".join(p.tags)))


def p_source(p: Parts, rng: random.Random, split: str) -> str:
    return "\n".join(_lines(p.head, p.source))


def p_link(p: Parts, rng: random.Random, split: str) -> str:
    return " ".join(_lines(p.head, p.contact_bare))


def p_quote(p: Parts, rng: random.Random, split: str) -> str:
    return f"«{p.head}» {p.source}".strip()


def p_emoji(p: Parts, rng: random.Random, split: str) -> str:
    return f"{p.head} {_emojis(rng, split)}"


def p_contact(p: Parts, rng: random.Random, split: str) -> str:
    return "\n\n".join(_lines(p.head, p.second, p.contact_labelled))


def p_opener(p: Parts, rng: random.Random, split: str) -> str:
    return "\n".join(_lines(p.opener, p.head, p.tags[0] if p.tags else ""))


PROSE_LAYOUTS: dict[str, Layout] = {
    "plain": p_plain, "alert": p_alert, "two": p_two, "tags": p_tags, "source": p_source,
    "link": p_link, "quote": p_quote, "emoji": p_emoji, "contact": p_contact, "opener": p_opener,
}
