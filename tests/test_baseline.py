"""The keyword baseline: a sale word AND a person word, nothing more."""

from __future__ import annotations

import pytest

from detector.classify.baseline import keyword_alert
from detector.synthetic.corpus import generate_corpus


@pytest.mark.parametrize("text", [
    "سبية للبيع ٥٠٠٠$",
    "Yazidi GIRL for sale, 3000$, DM @x",
    "Satılık kız 17 yaşında 2.000 dolar",
    "کچ بۆ فرۆشتن ٣٠٠٠ دۆلار",
    "keça êzidî ji bo firotinê 3000$",
    "دختر فروشی ۱۷ ساله",
    "خادمة إثيوبية للتنازل 12000 ريال",
])
def test_flags_plain_listings(text: str) -> None:
    assert keyword_alert(text)


@pytest.mark.parametrize("text", [
    "Persian kittens for sale, 3 months, 150$",
    "مفقودة: نادية 14 سنة، للتواصل 07701234567",
    "Jummah Mubarak everyone",
    "",
])
def test_needs_both_a_sale_word_and_a_person_word(text: str) -> None:
    assert not keyword_alert(text)


def test_misses_obfuscation_and_fires_on_news() -> None:
    """The two failures the classifier exists to fix."""
    assert not keyword_alert("s.l.a.v.e f.o.r s.a.l.e 3000$ @x")
    assert not keyword_alert("س ب ي ة ل ل ب ي ع")
    assert keyword_alert("Reports say ISIS fighters were selling Yazidi women in Raqqa for $1,500.")


def test_on_the_synthetic_corpus_it_is_a_weak_detector() -> None:
    corpus = generate_corpus(6000, seed=5)

    def rate(kind: str) -> float:
        texts = [e.text for e in corpus if e.kind == kind]
        return sum(map(keyword_alert, texts)) / len(texts)

    assert rate("sale") > 0.35  # it does catch many plain listings
    assert rate("obfuscated") < rate("sale") - 0.2  # misses spelled-out words
    assert rate("news") > 0.2 and rate("advocacy") + rate("missing_person") > 0.05  # fires on reporting
    assert rate("animal") < 0.05
