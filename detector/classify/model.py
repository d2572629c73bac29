"""A loaded model: the fast tier, the optional transformer tier, the cascade and its threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import ModelError
from ..gc_pause import cyclic_gc_paused
from ..text import Analysis
from .cascade import CascadeParams, cascade_scores
from .fast_tier import FastTier
from .features import analyse_all

if TYPE_CHECKING:
    from .registry import ModelFolder

FAST_WEIGHTS = "fast_tier.npz"
FAST_PARAMS = "fast_tier.json"
TRANSFORMER_DIR = "transformer"


@dataclass
class Prediction:
    """The model's verdict on one message."""

    probability: float
    flagged: bool
    tier: str  # fast | transformer
    reasons: list[dict[str, Any]] = field(default_factory=list)
    language: str = "und"
    language_confidence: float = 0.0
    signals: list[dict[str, Any]] = field(default_factory=list)


class Model:
    """Scores texts with the cascade and flags them at the threshold chosen on validation."""

    def __init__(self, card: dict[str, Any], fast: FastTier, params: CascadeParams,
                 transformer_loader: Any = None) -> None:
        self.card = card
        self.fast = fast
        self.params = params
        self._transformer_loader = transformer_loader

    @property
    def version(self) -> str:
        return str(self.card["version"])

    @property
    def threshold(self) -> float:
        return float(self.card["threshold"])

    @cached_property
    def transformer(self) -> Any:
        """The transformer tier, loaded on first need (most batches never need it)."""
        return self._transformer_loader() if self._transformer_loader else None

    @classmethod
    def from_folder(cls, folder: ModelFolder) -> "Model":
        card = folder.card
        try:
            fast = FastTier.from_arrays(folder.read_arrays(FAST_WEIGHTS), folder.read_json(FAST_PARAMS))
            params = CascadeParams(**card["cascade"])
            float(card["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{folder.path}: incomplete model ({exc})") from exc
        loader = None
        if card.get("transformer"):
            def loader() -> Any:
                from .transformer_tier import TransformerTier

                prefix = f"{TRANSFORMER_DIR}/"
                files = {name[len(prefix):]: folder.file(name).read_bytes()
                         for name in card["files"] if name.startswith(prefix)}
                return TransformerTier.from_files(files, str(folder.path / TRANSFORMER_DIR))
        return cls(card, fast, params, loader)

    def predict(self, texts: Sequence[str | Analysis], *, explain: bool = True) -> list[Prediction]:
        """One Prediction per text, with reasons when `explain`.

        An item may be an `Analysis` instead (a stored message's language and signals, see
        `scoring.stored_analysis`): it is not analysed again.
        """
        with cyclic_gc_paused():  # many small dicts, no cycles: collections would walk every live object
            return self._predict(texts, explain)

    def _predict(self, texts: Sequence[str | Analysis], explain: bool) -> list[Prediction]:
        items = [t if isinstance(t, (str, Analysis)) else "" for t in texts]
        analyses = analyse_all(items)
        texts = [t if isinstance(t, str) else t.normalised.original for t in items]
        transformer = self.transformer if self.params.w_transformer else None
        if explain:
            p_fast, all_reasons = self.fast.proba_and_reasons(analyses)
        else:
            p_fast, all_reasons = self.fast.predict_proba(analyses)[:, 1], [[] for _ in analyses]
        final, mask = cascade_scores(p_fast, transformer, self.params, texts)
        predictions = []
        for analysis, probability, by_transformer, reasons in zip(analyses, final, mask, all_reasons):
            if by_transformer:
                reasons.insert(0, {"kind": "transformer", "feature": "multilingual-e5 re-score", "weight": round(float(probability), 4)})
            predictions.append(
                Prediction(
                    probability=round(float(probability), 6),
                    flagged=bool(probability >= self.threshold),
                    tier="transformer" if by_transformer else "fast",
                    reasons=reasons,
                    language=analysis.language.code,
                    language_confidence=round(float(analysis.language.confidence), 4),
                    signals=[s.to_dict() for s in analysis.signals],
                )
            )
        return predictions
