"""A loaded model: the fast tier, the optional transformer tier, the cascade and its threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import ModelError
from ..gc_pause import cyclic_gc_paused
from ..text import Analysis
from .cascade import CascadeParams, Structure, cascade_scores
from .fast_tier import FastParts, FastTier
from .features import analyse_all, meaning_view

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
            params = CascadeParams.from_dict(card["cascade"])
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

    def predict(self, texts: Sequence[str | Analysis], *, explain: bool = True,
                contexts: Sequence[Sequence[str]] | None = None) -> list[Prediction]:
        """One Prediction per text, with reasons when `explain`.

        An item may be an `Analysis` instead (a stored message's language and signals, see
        `scoring.stored_analysis`): it is not analysed again. `contexts` gives, per text, the
        earlier messages of its thread (the message a reply answers): a reply that carries a
        number or an auction or sale word, whose thread is flagged alone, is also judged joined to
        it and takes that score when it is flagged and higher than its own (its reasons say so).
        """
        with cyclic_gc_paused():  # many small dicts, no cycles: collections would walk every live object
            predictions = self._predict(texts, explain)
            if contexts is not None:
                self._with_context(texts, contexts, predictions, explain)
            return predictions

    def _predict(self, texts: Sequence[str | Analysis], explain: bool) -> list[Prediction]:
        items = [t if isinstance(t, (str, Analysis)) else "" for t in texts]
        analyses = analyse_all(items)
        fast = self.fast.parts_and_reasons(analyses) if explain else self.fast.parts(analyses)
        p_fast = self.fast.calibrated(fast.text + fast.signal)
        transformer = self.transformer if self.params.w_transformer else None
        final, mask, p_meaning = cascade_scores(p_fast, structure_of(fast), transformer, self.params,
                                                lambda i: meaning_view(analyses[i]),
                                                self.threshold)
        reasons = fast.reasons if explain else [[] for _ in analyses]
        predictions = []
        for i, (analysis, probability, by_transformer) in enumerate(zip(analyses, final, mask)):
            own = reasons[i]
            if by_transformer and explain:
                own.insert(0, {"kind": "transformer", "feature": "meaning (multilingual-e5)",
                               "weight": round(float(p_meaning[i]), 4)})
            predictions.append(
                Prediction(
                    probability=round(float(probability), 6),
                    flagged=bool(probability >= self.threshold),
                    tier="transformer" if by_transformer else "fast",
                    reasons=own,
                    language=analysis.language.code,
                    language_confidence=round(float(analysis.language.confidence), 4),
                    signals=[s.to_dict() for s in analysis.signals],
                )
            )
        return predictions

    def _with_context(self, texts: Sequence[str | Analysis], contexts: Sequence[Sequence[str]],
                      predictions: list[Prediction], explain: bool) -> None:
        """Raise a reply to its thread's score when the reply reads as a bid or an offer in it."""
        plain = [t if isinstance(t, str) else t.normalised.original for t in texts]
        rows = [i for i, (p, c) in enumerate(zip(predictions, contexts))
                if c and not p.flagged and _reads_as_bid(plain[i], p)]
        if not rows:
            return
        threads = ["\n".join(contexts[i][-CONTEXT_WINDOW:]) for i in rows]
        joined = [f"{thread}\n{plain[i]}" for i, thread in zip(rows, threads)]
        scored = self._predict(joined + threads, explain=False)
        for i, thread, alone in zip(rows, scored[: len(rows)], scored[len(rows) :]):
            # a bid on a listing: the thread is one, and the reply read in it too
            if alone.flagged and thread.flagged and thread.probability > predictions[i].probability:
                predictions[i].probability = thread.probability
                predictions[i].flagged = True
                if explain:
                    predictions[i].reasons.insert(0, {"kind": "context", "feature": "read with its thread",
                                                      "weight": round(thread.probability, 4)})


CONTEXT_WINDOW = 3  # earlier messages of a thread read with a reply


def _reads_as_bid(text: str, prediction: Prediction) -> bool:
    """A reply with a number or an auction or sale word: what a bid or an offer in a thread carries."""
    return any(c.isdigit() for c in text) or any(
        s["type"] == "term" and s["subtype"] in ("auction", "sale") for s in prediction.signals)


def structure_of(fast: FastParts) -> Structure:
    """Routing and floor inputs from the fast tier's reading of a batch."""
    person = fast.column("person term") | fast.column("hidden person word")
    return Structure(
        text_margin=fast.text,
        signal_margin=fast.signal,
        routed_by_structure=fast.column("age") | person,
        minor_for_money=fast.column("minor age") & fast.column("price"),
    )
