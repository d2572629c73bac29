import dataclasses
from .lexicon_ar import LEXICON as _B
LEXICON = dataclasses.replace(_B, lang="ckb")
