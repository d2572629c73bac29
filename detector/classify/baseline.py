"""The keyword alert analysts use today: a sale word AND a person word.

Plain substring search over lowercased text, in the six languages, with no
handling of obfuscation, spelling variants or context. It is the baseline the
classifier must beat: it misses s.l.a.v.e-style and many Kurdish listings and
fires on news and advocacy that quote sales.
"""

from __future__ import annotations

SALE_WORDS = (
    # ar
    "للبيع", "بيع", "مزاد", "للتنازل", "تنازل", "شراء",
    # ckb
    "فرۆشتن", "دەفرۆشرێت", "مەزاد", "هەراج", "بکڕم", "تەنازول",
    # kmr
    "firotin", "difroş", "mezad", "bikirim", "kirîn",
    # fa
    "فروش", "مزایده", "حراج", "خرید", "واگذار",
    # tr
    "satılık", "satış", "satıyorum", "mezat", "açık artırma", "devir", "alınır",
    # en
    "for sale", "selling", "sell", "auction", "buy", "wtb", "transfer",
)

PERSON_WORDS = (
    # ar
    "سبية", "سبايا", "جارية", "أسيرة", "فتاة", "امرأة", "بنت", "عبدة", "غلام", "خادمة", "شغالة", "عاملة منزلية",
    # ckb
    "کچ", "ژن", "دیل", "کۆیلە", "کەنیزەک", "خزمەتکار",
    # kmr
    "keç", "jin", "dîl", "kole", "cariye", "xizmetkar",
    # fa
    "دختر", "کنیز", "برده", "اسیر", "خدمتکار",
    # tr
    "kız", "kadın", "esir", "köle", "hizmetçi",
    # en
    "girl", "woman", "women", "captive", "slave", "maid", "sabaya",
)


def keyword_alert(text: str) -> bool:
    """True when the text holds a sale word and a person word (case-insensitive substrings)."""
    lowered = text.lower()
    return any(w in lowered for w in SALE_WORDS) and any(w in lowered for w in PERSON_WORDS)
