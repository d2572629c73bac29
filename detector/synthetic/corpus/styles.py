"""Free-form styles: whole-message phrasings beyond the headline-and-fields layouts.

The layouts in `layouts.py` teach the model our lexicon's nouns and labelled fields. Real
channels also write listings with no person noun at all ("she", "fresh", an age), with
passive or future verbs, as barter, as a "gift" or "transfer", as terse posts, romanized,
and as auction replies that only read as a sale in their thread; and they carry news and
appeals that quote an age and a price without selling anyone. Each `Style` is one such
family: a kind, a label and whole-message templates written per language in
`styles_<lang>.py`.

Slots a template may use (every one optional):
  {age} {age2}  ages as bare numbers        {price}  a money phrase ("$3,000", "٣٠٠٠ دولار")
  {num}         a bare number 2..99          {place}  a place name
  {contact}     a phone number or @handle    {name}   a first name
Templates of a kind `auction_followup` (or any style with `context`) are replies: the
generator puts one rendered `context` template before them as the thread they answer.
"""

from __future__ import annotations

from dataclasses import dataclass

# kinds of listing (label 1) and of hard negative (label 0) written as styles
LISTING_STYLES = ("attributes", "group", "barter", "euphemism", "auction_followup", "terse", "romanized",
                  "obfuscated", "domestic_transfer", "wanted", "sale")
NEGATIVE_STYLES = ("news_quote", "advocacy", "ransom_appeal", "rescue_appeal", "missing_person", "donation",
                   "goods_priced", "animal", "weapon", "vehicle", "goods_auction", "job_offer", "chat", "wedding_family")


@dataclass(frozen=True)
class Style:
    """One family of whole-message templates."""

    kind: str
    label: int
    templates: tuple[str, ...]
    context: tuple[str, ...] = ()  # thread openers a reply answers (one is drawn per message)
    minor: bool | None = None  # True: the {age} is a child's; False: an adult's; None: either
