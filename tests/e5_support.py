"""Shared pieces of the e5 tests: multilingual sentences and one encoder per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

SENTENCES = {
    "ar": [
        "للبيع قطط صغيرة عمرها شهرين، السعر ٥٠ دولار",
        "مطلوب عاملة منزلية للتنازل، العمر ٢٥ سنة",
        "الطقس اليوم مشمس في بغداد",
        "نبحث عن طفل مفقود عمره ١٠ سنوات، الرجاء الاتصال",
    ],
    "ckb": [
        "ئەمڕۆ کەشوهەوا زۆر گەرمە لە هەولێر",
        "ئۆتۆمبێلێکی نوێ بۆ فرۆشتن، نرخ ١٠٠٠٠ دۆلار",
        "منداڵێکی ون بووە، تکایە پەیوەندی بکەن",
    ],
    "kmr": [
        "Îro hewa li Duhokê pir germ e",
        "Erebeyek nû ji bo firotanê, biha 10000 dolar",
        "Zarokek winda bûye, ji kerema xwe têkilî bikin",
    ],
    "fa": [
        "امروز هوا در تهران آفتابی است",
        "فروش ماشین نو، قیمت ۱۰۰۰۰ دلار",
        "کودک گمشده، لطفا با این شماره تماس بگیرید",
    ],
    "tr": [
        "Bugün İstanbul'da hava çok güzel",
        "Satılık yeni araba, fiyatı 10000 dolar",
        "Kayıp çocuk aranıyor, lütfen iletişime geçin",
    ],
    "en": [
        "The weather in Erbil is sunny today",
        "Kittens for sale, two months old, 50 dollars",
        "Missing child, ten years old, please call 0750 123 4567",
        "Domestic worker available for transfer, age 25, contact on WhatsApp",
    ],
    "mixed": [
        "Satılık iPhone 13 — للبيع 😀 +964 750 123 4567 @seller_1",
        "tab\tand  double  spaces\nnew line, می\u200cخواهم, \ufefb and \u200d joiner",
    ],
}
ALL_SENTENCES = [text for texts in SENTENCES.values() for text in texts]


def session_encoder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The fp32 encoder built once per session into a private cache, strictly offline.

    Test modules wrap this in a session fixture; they share one build because the cache
    folder and `load_encoder`'s memo are keyed by the same path.
    """
    from detector.classify.e5 import load_encoder

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.delenv("DETECTOR_E5_MODEL", raising=False)
        patch.setenv("DETECTOR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "e5-cache"))
        yield load_encoder()
