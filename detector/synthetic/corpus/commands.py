"""`detector corpus`: write the synthetic corpus as JSON Lines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table

from . import ALL_LANGS, SPLITS, iter_corpus, write_jsonl


@click.command("corpus")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON Lines file to write (text, label, lang, kind, family, split).")
@click.option("--n", "n", default=24000, show_default=True, type=click.IntRange(min=1),
              help="Messages to generate (before --split filtering).")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed; same seed, same corpus.")
@click.option("--split", "split", default="all", show_default=True, type=click.Choice(SPLITS + ("all",)),
              help="Keep only one split.")
def corpus(out: Path, n: int, seed: int, split: str) -> None:
    """Generate the seeded synthetic corpus of listings and hard negatives."""
    console = Console(stderr=True)
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
        task = progress.add_task(f"Generating (seed {seed})", total=n)
        examples = []
        for example in iter_corpus(n, seed):
            progress.advance(task)
            if split in ("all", example.split):
                examples.append(example)
    written = write_jsonl(examples, out)
    console.print(_summary(examples))
    console.print(f"Wrote {written} messages to {out}")


def _summary(examples: list) -> Table:
    table = Table(title="Synthetic corpus", show_footer=True)
    counts = Counter((e.lang, e.label) for e in examples)
    table.add_column("language", footer="all")
    for name, label in (("listings", 1), ("others", 0)):
        total = sum(v for (lang, lab), v in counts.items() if lab == label)
        table.add_column(name, justify="right", footer=str(total))
    for lang in ALL_LANGS:
        table.add_row(lang, str(counts[(lang, 1)]), str(counts[(lang, 0)]))
    return table
