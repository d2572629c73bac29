"""Watchlist matching speed: one listing photo against 1k, 10k and 100k watchlist entries.

    python bench/watchlist.py                    # 1,000 / 10,000 / 100,000 entries
    python bench/watchlist.py --sizes 300000     # any sizes
    python bench/watchlist.py --smoke            # 1,000 entries only: CI runs it so the bench cannot rot

Each entry is a photo entry as `detector watchlist import` makes it: 8 hashes (the whole picture
and 7 crops). Entries are random 256-bit hashes (PDQ hashes of unrelated photos are spread about
as evenly); one in a thousand of them is the crop set of a listing photo, so there are matches to
name. Listing photos are synthetic sample pictures of PDQ quality 20 or more (matching skips the
others), hashed as linking hashes them (8 crops x 8 orientations = 64 queries). Prints, per size:
the index's build time, and per photo the wall and CPU milliseconds of `WatchIndex.find` with the
multi-index and with the brute-force scan it replaced (on fewer photos at large sizes), after
checking that both find the same.
The CPU is shared: wall time grows with other load, CPU time does not.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from detector.link.photos import MAX_DISTANCE, MIN_QUALITY, PhotoPrint, fingerprint
from detector.synthetic.sample import sample_photo
from detector.watchlist.hashes import nearest_hits
from detector.watchlist.index import MultiIndex
from detector.watchlist.match import Found, WatchIndex

ROWS_PER_ENTRY = 8
PHOTOS = 20
SCAN_ROWS_BUDGET = 2_000_000  # stored rows x photos for the scan (it takes ~7 s a photo at 100k entries)


def listing_prints(n: int, seed: int) -> list[PhotoPrint]:
    """`n` listing photos that matching does not skip (PDQ quality at least MIN_QUALITY)."""
    rng, prints = random.Random(seed), []
    while len(prints) < n:
        print_ = fingerprint(sample_photo(rng, (640, 480)))
        if print_.quality >= MIN_QUALITY:
            prints.append(print_)
    return prints


def watch_index(entries: int, prints: list[PhotoPrint], seed: int) -> tuple[WatchIndex, float]:
    """A WatchIndex of `entries` photo entries (some of them the listing photos' crops) and its build seconds."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64, size=(entries * ROWS_PER_ENTRY, 4), dtype=np.uint64)
    for k, print_ in enumerate(prints[: max(1, entries // 1000)]):
        at = (k * 997 % entries) * ROWS_PER_ENTRY
        words[at:at + ROWS_PER_ENTRY] = print_.crops
    entry_ids = np.repeat(np.arange(1, entries + 1), ROWS_PER_ENTRY)
    starts = {e: (e - 1) * ROWS_PER_ENTRY for e in range(1, entries + 1)}
    started = time.perf_counter()
    index = WatchIndex(MultiIndex(words, MAX_DISTANCE), entry_ids, starts, dict.fromkeys(starts, "photo"))
    return index, time.perf_counter() - started


def timed(find, prints: list[PhotoPrint]) -> tuple[list[list[Found]], float, float]:  # type: ignore[no-untyped-def]
    """Results and (wall, CPU) milliseconds per photo."""
    wall, cpu = time.perf_counter(), time.process_time()
    found = [find(p) for p in prints]
    return found, (time.perf_counter() - wall) * 1e3 / len(prints), (time.process_time() - cpu) * 1e3 / len(prints)


def bench(entries: int, prints: list[PhotoPrint], seed: int) -> None:
    index, build = watch_index(entries, prints, seed)
    found, wall, cpu = timed(index.find, prints)
    sample = prints[: max(1, min(len(prints), SCAN_ROWS_BUDGET // len(index)))]
    multi = index.index
    index.index = _Scan(multi.words)  # the same find, through the brute-force scan
    scanned, scan_wall, scan_cpu = timed(index.find, sample)
    index.index = multi
    assert scanned == found[: len(sample)], "the index and the scan disagree"
    matches = sum(map(len, found))
    print(f"{entries:>8,} entries ({len(multi):>9,} hashes): build {build:6.2f} s | index {wall:7.2f} ms/photo "
          f"(CPU {cpu:7.2f}) | scan {scan_wall:8.1f} ms/photo (CPU {scan_cpu:8.1f}, {len(sample)} photos) | "
          f"{matches} matches in {len(prints)} photos")


class _Scan:
    """The brute-force scan behind MultiIndex's interface (what matching did before the index)."""

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def __len__(self) -> int:
        return len(self.words)

    def hits(self, queries: np.ndarray):  # type: ignore[no-untyped-def]
        return nearest_hits(queries, self.words, MAX_DISTANCE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="entry counts")
    parser.add_argument("--photos", type=int, default=PHOTOS, help="listing photos matched at each size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="1,000 entries and 5 photos")
    args = parser.parse_args()
    sizes, photos = ([1_000], 5) if args.smoke else (args.sizes, args.photos)
    prints = listing_prints(photos, args.seed)
    for entries in sizes:
        bench(entries, prints, args.seed)


if __name__ == "__main__":
    main()
