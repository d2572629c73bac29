"""Assemble synthetic messages: pick split, label, kind, language and layout, then fill the parts."""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass

from . import fields
from .example import Example
from .layouts import LISTING_LAYOUTS, PROSE_LAYOUTS, Parts
from .lexicon import PLACES, Lexicon
from .noise import informal
from .obfuscate import obfuscate
from .partition import SPLIT_WEIGHTS, layouts_for, pick, split_of_position
from .styles import LISTING_STYLES, NEGATIVE_STYLES, Style

LANGS = ("ar", "ckb", "kmr", "fa", "tr", "en")
ALL_LANGS = LANGS + ("mixed",)
MIXED_PAIRS = (
    ("ar", "en"), ("kmr", "tr"), ("ckb", "ar"), ("fa", "en"), ("tr", "en"), ("kmr", "en"), ("ckb", "en"), ("ar", "tr"),
)
POSITIVE_RATE = 0.3
STYLE_RATE = 0.45  # share of messages written from the free-form styles (styles.py) rather than layouts
INFORMAL_RATE = 0.3  # share of messages typed informally (see noise.py)
POSITIVE_KINDS = {"sale": 0.32, "auction": 0.12, "wanted": 0.16, "domestic_transfer": 0.2, "obfuscated": 0.2}
NEGATIVE_KINDS = {
    "animal": 0.12, "goods": 0.08, "vehicle": 0.07, "weapon": 0.1, "missing_person": 0.11, "news": 0.11,
    "advocacy": 0.08, "rescue_appeal": 0.06, "donation": 0.05, "job_offer": 0.08, "recruitment": 0.05, "chat": 0.09,
}
LISTING_KINDS = tuple(dict.fromkeys((*POSITIVE_KINDS, *LISTING_STYLES)))  # every kind a listing may have
NON_LISTING_KINDS = tuple(dict.fromkeys((*NEGATIVE_KINDS, *NEGATIVE_STYLES)))
PROSE_KINDS = {"news": "news", "advocacy": "advocacy", "rescue_appeal": "rescue", "donation": "donation", "chat": "chat"}
_LISTING_NAMES = tuple(LISTING_LAYOUTS)
_PROSE_NAMES = tuple(PROSE_LAYOUTS)
_GULF = ("Dubai", "Riyadh", "Kuwait", "Doha", "Jeddah")
_GULF_CURRENCIES = ("SAR", "KWD", "AED")
_GULF_LANGS = ("ar", "en")  # domestic-worker ads in these languages are mostly placed in the Gulf


def _load_lexicons() -> dict[str, Lexicon]:
    return {lang: importlib.import_module(f"{__package__}.lexicon_{lang}").LEXICON for lang in LANGS}


def _load_styles() -> dict[tuple[str, int, str], tuple[tuple[Style, str], ...]]:
    """(language, label, kind) -> every (style, template) of that kind, in the order written.

    A kind's templates are partitioned between splits by their position in this list (see
    partition.py), whichever `Style` entry holds them, so no template reaches two splits.
    """
    out: dict[tuple[str, int, str], list[tuple[Style, str]]] = {}
    for lang in LANGS:
        for style in importlib.import_module(f"{__package__}.styles_{lang}").STYLES:
            out.setdefault((lang, style.label, style.kind), []).extend((style, t) for t in style.templates)
    return {key: tuple(pool) for key, pool in out.items()}


LEXICONS = _load_lexicons()
STYLES = _load_styles()
_ANIMAL_KINDS = ("animal", "goods_auction")


class _Writer:
    """Writes one message in one or two languages (the first leads; the second fills some slots)."""

    def __init__(self, rng: random.Random, split: str, langs: tuple[str, ...]) -> None:
        self.rng = rng
        self.split = split
        self.lead = LEXICONS[langs[0]]
        self.lexes = tuple(LEXICONS[lang] for lang in langs)

    def any(self) -> Lexicon:
        return self.rng.choice(self.lexes)

    def pick(self, pool):
        return pick(self.rng, pool, self.split)

    def native(self, lex: Lexicon, text: str, rate: float | None = None) -> str:
        rate = lex.native_digit_rate if rate is None else rate
        return fields.to_digits(text, lex.digit_style) if self.rng.random() < rate else text

    def money(self, lex: Lexicon, usd_lo: float, usd_hi: float, gulf: bool = False) -> str:
        codes = [c for c in lex.currencies if c != "USD"]
        gulf_codes = [c for c in codes if c in _GULF_CURRENCIES]
        if gulf and gulf_codes and self.rng.random() < 0.7:
            code = self.rng.choice(gulf_codes)
        elif not codes or self.rng.random() < 0.5:
            code = "USD"
        else:
            code = self.rng.choice(codes)
        amount = fields.round_amount(self.rng.uniform(usd_lo, usd_hi) * fields.RATES[code])
        number = self.native(lex, fields.group_thousands(amount, self.rng.choice(lex.thousands)))
        return self.rng.choice(lex.currencies[code]).format(n=number)

    def place(self, lex: Lexicon, gulf: bool = False) -> str:
        names = PLACES[lex.lang]
        if gulf and (lex.lang in _GULF_LANGS or self.rng.random() < 0.4):
            index = list(PLACES["en"]).index(self.rng.choice(_GULF))
            return names[index]
        return self.rng.choice(names)

    def contact(self, lex: Lexicon) -> str:
        value = fields.contact(self.rng, lex.countries)
        if value[0].isdigit() or value.startswith("("):
            return self.native(lex, value, lex.native_digit_rate / 2)
        return value

    def age(self, lex: Lexicon, n: int, unit: str = "years") -> str:
        return self.native(lex, lex.years(n) if unit == "years" else lex.months(n))

    def field(self, parts: Parts, labels: tuple[str, ...], value: str, key: str) -> None:
        """Append a field: its value alone and with one of the split's labels."""
        parts.labelled.append(self.pick(labels).format(**{key: value}))
        parts.bare.append(value)


def _tag(text: str) -> str:
    return "#" + text.replace(" ", "_")


@dataclass(frozen=True)
class _Offer:
    """What a listing offers: its headline and the facts that go with it."""

    head: str
    extras: str  # name of the Lexicon pool of extra lines
    item: str = ""
    age: int | None = None
    age_unit: str = "years"
    usd: tuple[int, int] | None = None


def _offer(w: _Writer, kind: str) -> _Offer:
    """The headline: in mixed messages the frame may come from the other language ("سبية for sale")."""
    rng, lead, other = w.rng, w.lead, w.any()
    if kind in ("sale", "auction", "wanted", "obfuscated"):
        frames = {"sale": other.sell_heads, "auction": other.auction_heads, "wanted": other.want_heads}
        frame = frames.get(kind) or rng.choice(tuple(frames.values()))
        item = w.pick(lead.persons)
        return _Offer(w.pick(frame).format(item=item), "person_extras", item, rng.randint(9, 32), usd=(300, 15000))
    if kind in ("animal", "goods", "vehicle", "weapon"):
        frame = rng.choices((other.sell_heads, other.want_heads, other.auction_heads), (0.7, 0.15, 0.15))[0]
        if kind == "animal":
            item, unit, max_age, lo, hi = w.pick(lead.animals)
            return _Offer(w.pick(frame).format(item=item), "animal_extras", item, rng.randint(1, max_age), unit, (lo, hi))
        item, lo, hi = w.pick({"goods": lead.goods, "vehicle": lead.vehicles, "weapon": lead.weapons}[kind])
        return _Offer(w.pick(frame).format(item=item), f"{kind}_extras", item, usd=(lo, hi))
    if kind == "domestic_transfer":
        head = w.pick(other.domestic_heads).format(nat=w.pick(lead.nationalities))
        return _Offer(head, "domestic_extras", age=rng.randint(21, 45), usd=(1500, 7000))
    if kind == "job_offer":
        return _Offer(w.pick(other.job_heads).format(role=w.pick(lead.job_roles)), "job_extras", usd=(250, 1500))
    if kind == "recruitment":
        return _Offer(w.pick(lead.recruit_heads).format(name=rng.choice(fields.NAMES[lead.lang])), "recruit_extras")
    name = rng.choice(fields.NAMES_FEMALE[lead.lang])  # missing_person
    return _Offer(w.pick(lead.missing_heads).format(name=name), "missing_extras", age=rng.randint(6, 30))


def _listing(w: _Writer, kind: str) -> Parts:
    rng, lead = w.rng, w.lead
    gulf = kind in ("domestic_transfer", "job_offer", "recruitment")
    offer = _offer(w, kind)
    head = offer.head
    if kind == "obfuscated" or (kind == "weapon" and rng.random() < 0.25):
        head = obfuscate(head, rng, w.split)

    parts = Parts(head=head)
    if offer.age is not None and (kind != "wanted" or rng.random() < 0.6):
        lex = w.any()
        w.field(parts, lex.age_labels, w.age(lex, offer.age, offer.age_unit), "age")
    if offer.usd is not None and (kind != "wanted" or rng.random() < 0.5):
        lex = w.any()
        price = w.money(lex, *offer.usd, gulf=gulf)
        labels = {"domestic_transfer": lex.fee_labels, "job_offer": lex.salary_labels}.get(kind, lex.price_labels)
        w.field(parts, labels, price, "price")
        parts.price_bare = price
    lex = w.any()
    place = w.place(lex, gulf)
    place_labels = {"missing_person": lex.seen_labels, "job_offer": lex.work_labels, "recruitment": lex.work_labels}
    w.field(parts, place_labels.get(kind, lex.place_labels), place, "place")
    lex = w.any()
    parts.contact_bare = w.contact(lex)
    parts.contact_labelled = w.pick(lex.contact_labels).format(contact=parts.contact_bare)
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        extra = w.pick(getattr(w.any(), offer.extras))
        if extra not in parts.extras:
            parts.extras.append(extra.format(year=rng.randint(2005, 2023), km=w.native(lead, f"{rng.randint(20, 300)},000")))
    parts.opener = w.pick(w.any().openers)
    parts.closer = w.pick(w.any().closers)
    parts.tags = [_tag(place)] + ([_tag(offer.item)] if offer.item else [])
    return parts


def _prose(w: _Writer, kind: str) -> Parts:
    rng, lead = w.rng, w.lead
    pool = getattr(lead, PROSE_KINDS[kind])

    def sentence() -> str:
        return w.pick(pool).format(
            place=w.place(lead), price=w.money(lead, 500, 20000), n=w.native(lead, str(rng.randint(3, 3000))),
            year=w.native(lead, str(rng.randint(2014, 2024))), contact=w.contact(lead))

    parts = Parts(head=sentence())
    parts.second = sentence()
    if parts.second == parts.head:
        parts.second = ""
    other = w.any()
    parts.source = w.pick(other.sources).format(place=w.place(other))
    parts.tags = [_tag(w.place(other)), _tag(w.place(lead))]
    parts.contact_bare = "t.me/" + fields.handle(rng)
    parts.contact_labelled = w.pick(other.contact_labels).format(contact=w.contact(other))
    parts.opener = w.pick(other.openers)
    return parts


def _style_age(rng: random.Random, style: Style) -> int:
    """An age for a style's {age}: a child's or an adult's as the style says, else either."""
    if style.label == 0 and style.kind in _ANIMAL_KINDS:
        return rng.randint(1, 12)
    minor = style.minor if style.minor is not None else rng.random() < 0.5
    return rng.randint(6, 17) if minor else rng.randint(18, 34)


def _render(w: _Writer, style: Style, template: str) -> str:
    rng, lex = w.rng, w.lead
    listing = style.label == 1 or style.kind in ("news_quote", "ransom_appeal")
    low, high = (300, 15000) if listing else (20, 8000)
    slots = {
        "age": w.native(lex, str(_style_age(rng, style))),
        "age2": w.native(lex, str(_style_age(rng, style))),
        "price": w.money(lex, low, high, gulf=style.kind in ("domestic_transfer", "job_offer")),
        "num": w.native(lex, str(rng.randint(2, 99))),
        "place": w.place(lex, style.kind in ("domestic_transfer", "job_offer")),
        "contact": w.contact(lex),
        "name": rng.choice(fields.NAMES_FEMALE[lex.lang]),
    }
    return template.format(**slots)


def _styled(rng: random.Random, split: str, label: int, lang: str) -> Example:
    """One message written from a free-form style of `lang`: a kind, then one of the split's templates."""
    writer = _Writer(rng, split, (lang,))
    kind = rng.choice(sorted(k for (la, lb, k) in STYLES if la == lang and lb == label))
    pool = STYLES[(lang, label, kind)]
    index = rng.choice([i for i in range(len(pool)) if split_of_position(i) == split])
    style, template = pool[index]
    text = _render(writer, style, template).strip()
    context = (_render(writer, style, writer.pick(style.context)).strip(),) if style.context else ()
    if rng.random() < INFORMAL_RATE:
        text = informal(text, (lang,), rng)
    return Example(text=text, label=label, lang=lang, kind=kind, family=f"{kind}/{lang}/style{index}",
                   split=split, context=context)


def draft(rng: random.Random) -> Example:
    """One random message."""
    split = rng.choices(tuple(SPLIT_WEIGHTS), tuple(SPLIT_WEIGHTS.values()))[0]
    label = int(rng.random() < POSITIVE_RATE)
    if rng.random() < STYLE_RATE:
        return _styled(rng, split, label, rng.choice(LANGS))
    kinds = POSITIVE_KINDS if label else NEGATIVE_KINDS
    kind = rng.choices(tuple(kinds), tuple(kinds.values()))[0]
    lang = rng.choice(ALL_LANGS)
    langs = rng.choice(MIXED_PAIRS) if lang == "mixed" else (lang,)
    writer = _Writer(rng, split, langs)
    names, layouts = (_PROSE_NAMES, PROSE_LAYOUTS) if kind in PROSE_KINDS else (_LISTING_NAMES, LISTING_LAYOUTS)
    layout = names[rng.choice(layouts_for(kind, lang, split, len(names)))]
    parts = _prose(writer, kind) if kind in PROSE_KINDS else _listing(writer, kind)
    text = layouts[layout](parts, rng, split).strip()
    if rng.random() < INFORMAL_RATE:
        text = informal(text, langs, rng)
    return Example(text=text, label=label, lang=lang, kind=kind, family=f"{kind}/{lang}/{layout}", split=split)
