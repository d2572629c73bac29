"""One synthetic message and its labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Example:
    """One synthetic message. label 1 = a human-sale listing, 0 = anything else."""

    text: str
    label: int
    lang: str  # ar | ckb | kmr | fa | tr | en | mixed
    kind: str  # sale, auction, wanted, domestic_transfer, obfuscated; animal, news, ...
    family: str  # "kind/lang/layout": the template family; each belongs to one split
    split: str  # train | val | test
    context: tuple[str, ...] = ()  # earlier messages of the thread (replies)

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"context": list(self.context)}
