"""Transformer tier: a small classification head on multilingual-e5-small sentence embeddings.

A scikit-learn style estimator (fit returns self, learned attributes end in `_`,
`predict_proba` columns follow `classes_`):

    tier = TransformerTier().fit(texts, labels)          # embeds with e5 (memoised), trains the head
    tier.predict_proba(texts)                            # (n, len(classes_)), rows sum to 1
    tier.predict(texts); tier.reasons(texts)             # reasons: [{"kind": "transformer", ...}]
    tier.fit_embeddings(X, y) / predict_proba_embeddings(X)   # when vectors are at hand
    tier.save(folder); TransformerTier.load(folder)      # head.json + head.safetensors, no pickle
    tier.to_files() / TransformerTier.from_files(files)  # the same as {name: bytes} for a model folder

Heads: "logistic" (default; L2-regularised logistic regression on standardised embeddings, the
scaling folded into the weights) or "mlp" (one hidden ReLU layer, trained with torch). Both are
stored as a stack of affine layers and applied with numpy. `quantize_int8` picks the dynamic int8
encoder (about twice as fast on CPU, as accurate here); it is saved with the head, together with the
encoder's model id (`encoder_id_`), so inference embeds like training or refuses with a ModelError.
Fine-tuning e5's upper layers is not offered: at tens of texts per second forward-only on two
cores, back-propagation over a few thousand texts costs more than the whole training budget.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..errors import ModelError

HEAD_JSON = "head.json"
HEAD_WEIGHTS = "head.safetensors"
FORMAT = 1
HEADS = ("logistic", "mlp")


class TransformerTier:
    """e5 embeddings -> affine layers (ReLU between) -> softmax over `classes_`."""

    encoder_id_: str | None  # set by fit / load

    def __init__(
        self,
        *,
        head: str = "logistic",
        C: float = 0.1,
        hidden: int = 128,
        epochs: int = 60,
        quantize_int8: bool = True,
        batch_size: int = 32,
        memoise: bool = True,
        random_state: int = 0,
    ) -> None:
        self.head = head
        self.C = C
        self.hidden = hidden
        self.epochs = epochs
        self.quantize_int8 = quantize_int8
        self.batch_size = batch_size
        self.memoise = memoise
        self.random_state = random_state

    # -- scikit-learn plumbing
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        names = ("head", "C", "hidden", "epochs", "quantize_int8", "batch_size", "memoise", "random_state")
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> TransformerTier:
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    # -- embeddings
    def encoder(self) -> Any:
        """The process-wide e5 encoder with this tier's setting; a fitted tier insists on the
        encoder it was trained with (other weights or quantisation would shift its inputs)."""
        from .e5 import load_encoder

        encoder = load_encoder(quantize_int8=self.quantize_int8)
        trained_on = getattr(self, "encoder_id_", None)
        if trained_on and trained_on != encoder.model_id:
            raise ModelError(f"the transformer head was trained on {trained_on} embeddings but this installation "
                             f"gives {encoder.model_id}: retrain the model (detector train)")
        return encoder

    def embed(self, texts: Sequence[str], *, memoise: bool = False) -> np.ndarray:
        """e5 vectors of the texts with this tier's encoder setting."""
        from .embedding_memo import embed_memoised

        encoder = self.encoder()
        texts = [t if isinstance(t, str) else "" for t in texts]
        if memoise:
            return embed_memoised(texts, encoder, batch_size=self.batch_size)
        return encoder.embed(texts, batch_size=self.batch_size)

    # -- training
    def fit(self, texts: Sequence[str], y: Sequence[Any]) -> TransformerTier:
        self.encoder_id_ = None
        X = self.embed(texts, memoise=self.memoise)
        return self.fit_embeddings(X, y, encoder_id=self.encoder().model_id)

    def fit_embeddings(self, X: np.ndarray, y: Sequence[Any], *, encoder_id: str | None = None) -> TransformerTier:
        """Train the head on given vectors; `encoder_id` (an E5Encoder.model_id) pins the encoder."""
        X = np.asarray(X, dtype=np.float32)
        labels = np.asarray(y)
        if X.ndim != 2 or len(X) != len(labels):
            raise ValueError(f"expected one embedding row per label, got {X.shape} and {len(labels)} labels")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, not {self.head!r}")
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("the transformer head needs examples of at least two classes")
        fit = _fit_logistic if self.head == "logistic" else _fit_mlp
        self.layers_ = fit(self, X, codes)
        self.n_features_in_ = X.shape[1]
        self.encoder_id_ = encoder_id
        return self

    # -- prediction
    def predict_proba_embeddings(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected embeddings of width {self.n_features_in_}, got shape {X.shape}")
        return _softmax(_forward(self.layers_, X))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.predict_proba_embeddings(self.embed(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    def reasons(self, texts: Sequence[str] | None = None, *, proba: np.ndarray | None = None) -> list[list[dict]]:
        """Per text: the tier's own probability of the last class (the positive one for 0/1)."""
        proba = self.predict_proba(list(texts if texts is not None else [])) if proba is None else np.asarray(proba)
        feature = f"multilingual-e5-small {self.head} head"
        return [[{"kind": "transformer", "feature": feature, "weight": round(float(row[-1]), 4)}] for row in proba]

    def _check_fitted(self) -> None:
        if not hasattr(self, "layers_"):
            raise ValueError("this TransformerTier is not fitted yet: call fit first")

    # -- persistence (safe formats only)
    def to_files(self) -> dict[str, bytes]:
        """{"head.json": ..., "head.safetensors": ...} for a model folder."""
        from safetensors.numpy import save

        self._check_fitted()
        classes = self.classes_.tolist()
        meta = {"format": FORMAT, "params": self.get_params(), "classes": classes, "layers": len(self.layers_),
                "n_features_in": int(self.n_features_in_), "encoder": self.encoder_id_}
        arrays = {f"{kind}{i}": array for i, (w, b) in enumerate(self.layers_) for kind, array in (("w", w), ("b", b))}
        return {HEAD_JSON: (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode(), HEAD_WEIGHTS: save(arrays)}

    @classmethod
    def from_files(cls, files: dict[str, bytes], where: str = "transformer head") -> TransformerTier:
        from safetensors import SafetensorError
        from safetensors.numpy import load

        try:
            meta = json.loads(files[HEAD_JSON])
            arrays = load(files[HEAD_WEIGHTS])
            if meta["format"] != FORMAT:
                raise ModelError(f"{where}: head format {meta['format']} is not supported (expected {FORMAT})")
            tier = cls(**meta["params"])
            tier.classes_ = np.asarray(meta["classes"])
            tier.layers_ = [(arrays[f"w{i}"].astype(np.float32), arrays[f"b{i}"].astype(np.float32))
                            for i in range(meta["layers"])]
            tier.n_features_in_ = int(meta["n_features_in"])
            tier.encoder_id_ = meta.get("encoder")
        except (KeyError, TypeError, ValueError, SafetensorError) as exc:
            raise ModelError(f"{where}: unreadable transformer head ({exc})") from exc
        _check_shapes(tier, where)
        return tier

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.to_files().items():
            (folder / name).write_bytes(data)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> TransformerTier:
        folder = Path(folder)
        try:
            files = {name: (folder / name).read_bytes() for name in (HEAD_JSON, HEAD_WEIGHTS)}
        except OSError as exc:
            raise ModelError(f"{folder}: transformer head missing ({exc.strerror}: {exc.filename})") from exc
        return cls.from_files(files, str(folder))


def _check_shapes(tier: TransformerTier, where: str) -> None:
    width = tier.n_features_in_
    for w, b in tier.layers_:
        if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],):
            raise ModelError(f"{where}: transformer head weights have inconsistent shapes")
        width = w.shape[0]
    if width != len(tier.classes_):
        raise ModelError(f"{where}: transformer head has {width} outputs for {len(tier.classes_)} classes")


def _forward(layers: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> np.ndarray:
    for i, (w, b) in enumerate(layers):
        X = X @ w.T + b
        if i < len(layers) - 1:
            X = np.maximum(X, 0.0)
    return X


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _fit_logistic(tier: TransformerTier, X: np.ndarray, codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Logistic regression on standardised inputs, folded back into one affine layer of logits."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
    model = LogisticRegression(C=tier.C, max_iter=2000, random_state=tier.random_state)
    model.fit((X - mean) / scale, codes)
    coef, intercept = model.coef_ / scale, model.intercept_ - (model.coef_ / scale) @ mean
    if coef.shape[0] == 1:  # binary: logits (0, z) give softmax (1 - sigmoid(z), sigmoid(z))
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return [(coef.astype(np.float32), intercept.astype(np.float32))]


def _fit_mlp(tier: TransformerTier, X: np.ndarray, codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """One hidden ReLU layer, AdamW with weight decay 1/C, minibatches of 64, fixed epochs."""
    import torch

    generator = torch.Generator().manual_seed(tier.random_state)
    torch.manual_seed(tier.random_state)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], tier.hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(tier.hidden, int(codes.max()) + 1),
    )
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1.0 / tier.C)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(codes.astype(np.int64))
    net.train()
    for _ in range(tier.epochs):
        for batch in torch.randperm(len(X), generator=generator).split(64):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(net(inputs[batch]), targets[batch]).backward()
            optimiser.step()
    first, last = cast(torch.nn.Linear, net[0]), cast(torch.nn.Linear, net[3])
    return [(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()) for layer in (first, last)]
