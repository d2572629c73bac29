import dataclasses
from .lexicon_en import LEXICON as _B
LEXICON = dataclasses.replace(_B, lang="tr")
