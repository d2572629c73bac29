"""Trafficking-relevant terms in the six languages: subtype -> canonical term -> spellings.

Subtypes: `person` (a human offered: captive, slave girl, maid, girl ...), `sale` (for sale),
`wanted` (wanted to buy), `auction`, `transfer` (a worker's sponsorship handed over).
The classifier weighs them; a term alone flags nothing.
"""

from __future__ import annotations

TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {
        "sabaya": ("sabaya", "sabiya", "sabiyya", "sabi", "سبايا", "سبية", "سبيه", "سبيّة", "السبي", "سەبایا", "سەبیە", "sebiye", "sebaya"),
        "jariya": ("jariya", "jariyah", "jariyeh", "jawari", "جارية", "جواري", "جاریە"),
        "slave girl": ("slave girl", "slave girls", "slave woman", "female slave", "köle kız", "cariye",
                       "cariyeler", "câriye", "کەنیزەک", "کەنیزە", "کنیز", "کنیزک", "کنیزان", "carîye", "cariyê",
                       "عبدة"),
        "slave": ("slave", "slaves", "köle", "köleler", "kole", "koleyan", "برده", "بردە",
                  "کۆیلە", "کۆیلەکان", "xulam"),
        "captive": ("captive", "captives", "prisoner woman", "esir", "esire", "esir kız", "esîr", "girtî", "=dîl", "=dîlan",
                    "أسيرة", "اسيرة", "أسيرات", "أسرى", "اسير", "أسير", "اسیر", "=دیل", "=دیلەکان"),
        "maid": ("maid", "maids", "housemaid", "house maid", "domestic worker", "domestic helper", "helper", "helpers",
                 "servant", "nanny", "hizmetçi",
                 "bakıcı", "xizmetkar", "karker", "خادمة", "خادمات", "خدامة", "شغالة", "عاملة منزلية", "عاملة",
                 "مربية", "خدمتکار", "کارگر", "کلفت", "پرستار", "خزمەتکار", "کارەکەر"),
        "girl": ("girl", "girls", "young girl", "kız", "kızlar", "keç", "keçek", "keçeke", "keça", "keçik",
                 "بنت", "بنات", "فتاة", "فتيات", "صبية", "دختر", "دخترها", "کچ", "کچێک", "کچە",
                 "کچەکە", "کیژ", "کچۆڵە", "کچۆڵانە", "کیژۆڵە"),
        "woman": ("woman", "women", "kadın", "bayan", "jin", "jinek", "jinan", "امرأة", "مرأة", "امراة", "نساء",
                  "زن", "زنان", "ژن", "ژنێک", "خاتون", "ئافرەت"),
        "child": ("child", "children", "boy", "boys", "çocuk", "oğlan", "erkek çocuk", "zarok", "kurik",
                  "طفل", "طفلة", "أطفال", "اطفال", "ولد", "صبي", "کودک", "پسر", "بچه", "منداڵ", "کوڕ"),
    },
    "sale": {
        "for sale": ("for sale", "on sale", "selling", "sell", "to sell", "sale", "للبيع", "بيع", "يباع", "نبيع", "ابيع",
                     "معروض للبيع", "satılık", "satılır", "satıyorum", "satış", "satilik", "firotin", "firotinê",
                     "tê firotin", "difroşim", "difroşe", "ji bo firotinê", "فروش", "فروشی", "می‌فروشم",
                     "برای فروش", "بفروش", "فرۆشتن", "بۆ فرۆشتن", "دەفرۆشرێت", "دەفرۆشم", "فرۆشراوە"),
    },
    "wanted": {
        "wanted": ("wanted", "want to buy", "will buy", "looking to buy", "looking for", "buying", "wtb", "seeking", "searching for",
                   "to buy", "to purchase", "مطلوب", "مطلوبة",
                   "ابحث عن", "أبحث عن", "نبحث عن", "دور لي", "ابي اشتري", "ابغى اشتري", "اريد", "أريد", "نريد", "اريد شراء", "أريد شراء", "مطلوب شراء", "ارغب بشراء", "للشراء", "aranıyor", "arıyorum",
                   "alınır", "satın alırım", "almak istiyorum", "aranmaktadır", "arıyoruz", "peşindeyim", "peşindeyiz",
                   "dixwazim bikirim", "digerim", "digerin", "tê xwestin", "در جستجوی", "می‌خرم", "میخرم",
                   "خریدارم", "خریدار", "دنبال", "می‌خواهم بخرم", "میخواهم بخرم", "دەمەوێت بیکڕم",
                   "داواکراوە", "داوای", "دەگەڕێم", "دەگەڕێین", "کڕیار", "دەکڕدرێت", "دەکڕم", "بکڕم", "بیکڕم", "dikirim"),
    },
    "auction": {
        "auction": ("auction", "auctions", "bidding", "bid", "mezat", "mezad", "açık artırma", "artırma", "مزاد",
                    "مزاد علني", "مزايدة", "المزايدة", "مزایده", "حراج", "مەزاد", "هەراج", "muzayede"),
    },
    "transfer": {
        "transfer": ("transfer", "for transfer", "sponsorship transfer", "kafala transfer", "release", "releasing", "تنازل",
                     "للتنازل", "نقل كفالة", "نقل كفاله", "نقل الكفالة", "تنازل عن", "devir", "devredilir", "devren", "veguhastin",
                     "واگذاری", "واگذار", "انتقال", "منتقل", "گواستنەوە", "دەگوازرێتەوە", "تەنازول"),
    },
}
