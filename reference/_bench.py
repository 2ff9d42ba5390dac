"""``cachespec bench``: the reference caches' throughput against the raw file-system floor and torch.

For small (~100 B) and large (~100 KB) bytes values it measures ops/s of

* the raw floor -- get: ``open`` + ``read`` + ``pickle.loads`` of the same pickled value, no lock;
  insert: ``pickle.dumps`` + ``open(path, "xb")`` + ``write``, to fresh paths;
* the reference ``OnDiskCache.get``/``insert`` (insert always to fresh keys);
* torch's ``torch._inductor.cache.OnDiskCache`` when torch is installed;
* the reference ``InMemoryCache``;

and prints the ratios the reference is held to. Each get figure is the best of a few interleaved
rounds and each insert figure the median of three times as many shorter ones (inserts stall on
write-back at random), so a burst of noise in one round does not decide it.
Timings are reported, never asserted: only
``--check`` turns a missed target into exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any, Callable

SIZES = {"small": 100, "large": 100_000}
GET_KEYS = 256  #: distinct present keys cycled through by the get benchmarks
MAX_INSERTS = {"small": 20_000, "large": 1_500}  #: per round, to bound disk use (150 MB a round)

# (label, operation, subject) rows of the table, in print order.
ROWS = [
    ("raw get floor (open+read+loads)", "get", "raw"),
    ("reference OnDiskCache.get", "get", "reference"),
    ("torch OnDiskCache.get", "get", "torch"),
    ("reference InMemoryCache.get", "get", "memory"),
    ("raw insert floor (dumps+open xb+write)", "insert", "raw"),
    ("reference OnDiskCache.insert", "insert", "reference"),
    ("torch OnDiskCache.insert", "insert", "torch"),
    ("reference InMemoryCache.insert", "insert", "memory"),
]
# (description, numerator, denominator, limit, kind): ratio = ops/s(numerator) / ops/s(denominator).
TARGETS = [
    ("reference get time <= 1.5x raw get floor", ("get", "raw"), ("get", "reference"), 1.5, "max"),
    ("reference insert time <= 2x raw insert floor", ("insert", "raw"), ("insert", "reference"), 2.0, "max"),
    ("reference get >= 5x faster than torch get", ("get", "reference"), ("get", "torch"), 5.0, "min"),
]


def register(subparsers: Any) -> None:
    bench = subparsers.add_parser(
        "bench", help="benchmark the reference caches against the raw floor and torch",
        description="Measure ops/s of the reference OnDiskCache and InMemoryCache, the raw "
                    "open/read/write floor and torch's OnDiskCache, and print the ratios.")
    bench.add_argument("--seconds", type=float, default=0.5, metavar="S",
                       help="time per measurement round (default 0.5; three rounds each)")
    bench.add_argument("--quick", action="store_true", help="a fast smoke run: short rounds, one round")
    bench.add_argument("--rounds", type=int, default=3, help="interleaved rounds: the best get counts; inserts run 3x as many shorter rounds and the median counts")
    bench.add_argument("--no-torch", action="store_true", help="skip torch even if installed")
    bench.add_argument("--dir", type=Path, metavar="DIR", help="where to put cache files (default: a temp dir)")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    bench.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    bench.set_defaults(func=cmd_bench)


# -- subjects: each knows how to do one get or one insert, numbered ------------------------------


class _Raw:
    def __init__(self, root: str, value: bytes) -> None:
        self.value, self.root = value, root
        os.makedirs(os.path.join(root, "get"))
        self.paths = [os.path.join(root, "get", str(i)) for i in range(GET_KEYS)]
        for path in self.paths:
            with open(path, "xb") as fh:
                fh.write(pickle.dumps(value, 5))

    def get(self, i: int) -> Any:
        with open(self.paths[i % GET_KEYS], "rb") as fh:
            return pickle.loads(fh.read())

    def new_insert_dir(self, directory: str) -> None:
        os.makedirs(directory)
        self.insert_dir = directory

    def insert(self, i: int) -> Any:
        with open(f"{self.insert_dir}/{i}", "xb") as fh:
            fh.write(pickle.dumps(self.value, 5))


class _CacheSubject:
    """A torch-shaped cache; ``make(dir)`` builds an instance storing under ``dir`` (None: memory)."""

    def __init__(self, make: Callable[[str | None], Any], root: str | None, value: bytes) -> None:
        self.make, self.value = make, value
        self.getter = make(None if root is None else os.path.join(root, "get"))
        for i in range(GET_KEYS):
            self.getter.insert(("get", i), value)

    def get(self, i: int) -> Any:
        return self.getter.get(("get", i % GET_KEYS))

    def new_insert_dir(self, directory: str | None) -> None:
        self.inserter = self.make(directory)

    def insert(self, i: int) -> Any:
        return self.inserter.insert(("insert", i), self.value)


def _reference_disk(directory: str | None) -> Any:
    from cachespec.reference import OnDiskCache

    cache = OnDiskCache()
    cache.base_dir = directory  # type: ignore[assignment]
    return cache


def _reference_memory(directory: str | None) -> Any:
    from cachespec.reference import InMemoryCache

    return InMemoryCache()


def _torch_disk(directory: str | None) -> Any:
    from torch._inductor.cache import OnDiskCache

    cache = OnDiskCache()
    cache.base_dir = Path(directory)  # type: ignore[arg-type]  # shadows the cached_property
    os.makedirs(cache.base_dir / "locks", exist_ok=True)
    return cache


def _torch_note(skip: bool) -> str | None:
    if skip:
        return "torch skipped (--no-torch)"
    try:
        import torch._inductor.cache  # noqa: F401
    except Exception as err:  # not installed, or broken: either way there is nothing to compare
        return f"torch skipped ({type(err).__name__}: {err})"
    return None


# -- measuring -----------------------------------------------------------------------------------


def _rate(op: Callable[[int], Any], first: int, seconds: float, max_ops: int) -> float:
    """ops/s of ``op(first)``, ``op(first + 1)``, ... for about ``seconds`` (at most ``max_ops``)."""
    done, start = 0, perf_counter()
    deadline = start + seconds
    while done < max_ops:
        stop = min(done + 32, max_ops)
        for i in range(first + done, first + stop):
            op(i)
        done = stop
        if perf_counter() >= deadline:
            break
    return done / (perf_counter() - start)


def measure(root: str, seconds: float, rounds: int, with_torch: bool) -> dict[str, dict[str, dict[str, float]]]:
    """{size: {op: {subject: best ops/s}}}."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for size_name, size in SIZES.items():
        value = bytes(range(256)) * (size // 256) + bytes(size % 256)
        base = os.path.join(root, size_name)
        subjects: dict[str, Any] = {
            "raw": _Raw(os.path.join(base, "raw"), value),
            "reference": _CacheSubject(_reference_disk, os.path.join(base, "reference"), value),
            "memory": _CacheSubject(_reference_memory, None, value),
        }
        if with_torch:
            subjects["torch"] = _CacheSubject(_torch_disk, os.path.join(base, "torch"), value)
        for name, subject in subjects.items():
            # One insert directory per subject for all rounds: keys are always fresh, but
            # directories made in the first round are reused, as in a cache in steady use.
            subject.new_insert_dir(None if name == "memory" else os.path.join(base, f"{name}-insert"))
        best: dict[str, dict[str, float]] = {"get": {}, "insert": {}}
        # All gets before any timed insert, so that reads do not pay for the write-back of inserts;
        # within each, rounds interleave the subjects, so drift hits them all alike.
        for _round in range(rounds):
            for name, subject in subjects.items():
                best["get"][name] = max(best["get"].get(name, 0.0), _rate(subject.get, 0, seconds, 10**9))
        # Inserts stall now and then on the file system's write-back, whoever is running: they get
        # three times as many rounds, a third as long, and the median counts, not the best.
        names, insert_rates = list(subjects), {name: [] for name in subjects}
        for round_ in range(rounds * 3):
            # Rotate who goes first: the subject that follows another pays for the write-back of
            # that one's inserts, so a fixed order would always bill the same subject for it.
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                first = round_ * MAX_INSERTS[size_name]  # fresh keys every round
                insert_rates[name].append(
                    _rate(subjects[name].insert, first, seconds / 3, MAX_INSERTS[size_name]))
        best["insert"] = {name: statistics.median(rates) for name, rates in insert_rates.items()}
        shutil.rmtree(base)  # up to rounds * MAX_INSERTS large values per subject: free it now
        results[size_name] = best
    return results


def targets(results: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    out = []
    for description, (op_a, subj_a), (op_b, subj_b), limit, kind in TARGETS:
        for size_name, best in results.items():
            if subj_a not in best[op_a] or subj_b not in best[op_b]:
                continue
            ratio = best[op_a][subj_a] / best[op_b][subj_b]
            met = ratio <= limit if kind == "max" else ratio >= limit
            out.append({"target": description, "size": size_name, "ratio": ratio, "limit": limit, "met": met})
    return out


def render(results: dict[str, dict[str, dict[str, float]]], checks: list[dict[str, Any]], notes: list[str]) -> str:
    sizes = list(results)
    lines = [f"{'operation':<40}" + "".join(f"{f'{s} ops/s':>16}" for s in sizes)]
    for label, op, subject in ROWS:
        cells = [results[s][op].get(subject) for s in sizes]
        if all(c is None for c in cells):
            continue
        lines.append(f"{label:<40}" + "".join(f"{'-' if c is None else f'{c:,.0f}':>16}" for c in cells))
    lines += ["", f"{'target':<48}{'size':>7}{'ratio':>9}  result"]
    for check in checks:
        lines.append(f"{check['target']:<48}{check['size']:>7}{check['ratio']:>8.2f}x  "
                     f"{'met' if check['met'] else 'MISSED'}")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from cachespec._usage import EXIT_FAIL, EXIT_OK, UsageError

    seconds, rounds = (0.05, 1) if args.quick else (args.seconds, args.rounds)
    if not seconds > 0 or rounds < 1:
        raise UsageError("--seconds must be > 0 and --rounds >= 1")
    if args.json is not None and not args.json.resolve().parent.is_dir():
        raise UsageError(f"--json {args.json}: directory {args.json.resolve().parent} does not exist")
    if args.dir is not None and not args.dir.is_dir():
        raise UsageError(f"--dir {args.dir}: not a directory")
    torch_note = _torch_note(args.no_torch)
    notes = [torch_note] if torch_note else []
    root = tempfile.mkdtemp(prefix="cachespec-bench-", dir=args.dir)
    try:
        print(f"cachespec bench: {rounds} round(s) of {seconds:g} s per measurement, values of "
              + ", ".join(f"{k} {v:,} B" for k, v in SIZES.items()) + f", files under {root}", flush=True)
        results = measure(root, seconds, rounds, with_torch=torch_note is None)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    checks = targets(results)
    print(render(results, checks, notes))
    if args.json is not None:
        args.json.write_text(json.dumps({"seconds": seconds, "rounds": rounds, "sizes": SIZES,
                                         "results": results, "targets": checks, "notes": notes}, indent=2))
    sys.stdout.flush()
    return EXIT_FAIL if args.check and not all(c["met"] for c in checks) else EXIT_OK
