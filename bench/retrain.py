"""Time retraining from N analyst labels plus the synthetic corpus (target: 5,000 labels < 15 min).

    python bench/retrain.py [--labels 5000] [--no-transformer]

Stores N synthetic messages (a corpus seed the shipped model never saw) with analyst
labels in a fresh SQLite database, then runs `train_candidate` once and prints the time.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from detector.synthetic.corpus import generate_corpus
from detector.classify.retrain import RetrainConfig, train_candidate
from detector.db import open_database, session_scope
from detector.schema import ExportFile, Label, Message, Source, User


def store_labelled(engine, n: int, seed: int) -> None:
    examples = generate_corpus(n, seed)
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with session_scope(engine) as s:
        user = User(name="bench-analyst", role="analyst", password_hash="-", settings={})
        source = Source(platform="telegram", chat_id="bench", name="bench")
        export = ExportFile(sha256="0" * 64, name="bench.json", size=1, format="telegram_json", stored_path="x")
        s.add_all([user, source, export])
        s.flush()
        for index, example in enumerate(examples):
            raw = example.text.encode()
            message = Message(source_id=source.id, external_id=str(index), export_file_id=export.id,
                              sent_at=t0 + timedelta(minutes=index), text=example.text, raw=raw,
                              raw_sha256=hashlib.sha256(raw).hexdigest(), language=example.lang)
            s.add(message)
            s.flush()
            s.add(Label(message_id=message.id, user_id=user.id, role="analyst",
                        decision="listing" if example.label else "not_listing"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=5000)
    parser.add_argument("--no-transformer", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    args = parser.parse_args()
    if args.smoke:
        args.labels, args.no_transformer = 200, True
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        store_labelled(engine, args.labels, seed=101)
        stored = time.perf_counter()
        card = train_candidate(engine, RetrainConfig(out=Path(tmp) / "candidate", transformer=not args.no_transformer,
                                                       n=2_000 if args.smoke else RetrainConfig.n))
        done = time.perf_counter()
    labels = card["training_data"]["labels"]
    test = card["metrics"].get("labels_test", {}).get("overall", {}).get("model", {})
    print(f"stored {args.labels} labelled messages in {stored - started:.0f} s")
    print(f"retrained on {labels['count']} labels + {card['training_data']['synthetic']['count']} synthetic "
          f"(transformer: {card['transformer']}) in {done - stored:.0f} s ({(done - stored) / 60:.1f} min)")
    print(f"held-out labels: n={test.get('n')} F1={test.get('f1')}")


if __name__ == "__main__":
    main()
