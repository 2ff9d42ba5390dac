"""Throughput of the history checker (events/s), the history writer and the history reader.

Builds a valid synthetic history: ops on ``--keys`` keys from several processes and threads,
each op's interval drawn around its linearization point so that intervals overlap, results
from a sequential model run in linearization order, and a few indeterminate inserts. Prints
figures; asserts only that the checker accepts the history.

    python benchmarks/bench_checker.py [--events 2000000] [--keys 10000] [--repeat 3]
                                       [--writer 200000] [--read 500000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from typing import Any

from cachespec.stress import HistoryWriter, check_history, digest, read_history


def build_history(n_events: int, n_keys: int, seed: int = 0) -> list[dict[str, Any]]:
    """About ``n_events`` records, sorted by time, of a linearizable run."""
    rng = random.Random(seed)
    keys = [repr(f"key-{k}") for k in range(n_keys)]
    state: dict[str, str] = {}
    counters = [0] * 8  # per pid
    events: list[dict[str, Any]] = []
    t = 1_000_000
    for n in range(n_events // 2):
        t += rng.randrange(50, 500)  # linearization points, strictly increasing
        key = keys[rng.randrange(n_keys)]
        pid = rng.randrange(8)
        op_id = counters[pid]
        counters[pid] += 1
        inv = {"ev": "invoke", "t": t - rng.randrange(0, 5000), "pid": pid, "tid": pid * 10,
               "id": op_id, "key": key}
        if rng.random() < 0.4:
            inv["op"] = "insert" if n & 1 else "insert_async"
            value = inv["value"] = f"{n:016x}"
            if n % 997 == 0:  # a killed writer: indeterminate, and it takes no effect
                events.append(inv)
                continue
            result: Any = key not in state
            if result:
                state[key] = value
        else:
            inv["op"] = "get" if n & 1 else "get_async"
            result = state.get(key)
        events.append(inv)
        events.append({"ev": "ok", "t": t + rng.randrange(0, 5000), "pid": pid, "tid": pid * 10,
                       "id": op_id, "op": inv["op"], "key": key, "result": result})
    events.sort(key=lambda r: r["t"])
    return events


def bench_checker(n_events: int, n_keys: int, repeat: int = 3) -> tuple[float, float, int]:
    """Best (wall, CPU) events/s over ``repeat`` runs: CPU time is robust on a busy machine."""
    events = build_history(n_events, n_keys)
    wall = cpu = 0.0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        report = check_history(events)
        wall = max(wall, len(events) / (time.perf_counter() - start))
        cpu = max(cpu, len(events) / max(time.process_time() - start_cpu, 1e-9))
        if report.violations:
            raise SystemExit(f"checker rejected a valid history: {report.violations[0]}")
    return wall, cpu, len(events)


def bench_writer(n_records: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "h.jsonl")
        value = digest(b"x" * 100)
        with HistoryWriter(path) as w:
            start = time.process_time()  # includes the write syscalls' system time
            for n in range(n_records // 2):
                op_id = w.invoke("insert", "key-%d" % (n % 1000), value)
                w.ok(op_id, "insert", "key-%d" % (n % 1000), False)
            elapsed = max(time.process_time() - start, 1e-9)
        if len(read_history([path])) != n_records // 2 * 2:
            raise SystemExit("writer lost records")
    return n_records / elapsed


def bench_read(n_events: int) -> float:
    """read_history records per CPU second on one file of a synthetic history."""
    events = build_history(n_events, max(1, n_events // 200))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "h.jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in events)
        start = time.process_time()
        got = read_history([path])
        elapsed = max(time.process_time() - start, 1e-9)
    if len(got) != len(events):
        raise SystemExit("read_history lost records")
    return len(got) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="checker runs (best is shown)")
    parser.add_argument("--writer", type=int, default=200_000, help="records for the writer run")
    parser.add_argument("--read", type=int, default=500_000, help="events for the read run")
    args = parser.parse_args(argv)
    wall, cpu, n = bench_checker(args.events, args.keys, args.repeat)
    print(f"checker: {n} events over {args.keys} keys: {wall:,.0f} events/s "
          f"({cpu:,.0f} events per CPU second)")
    if args.writer:
        wrate = bench_writer(args.writer)
        print(f"writer: {wrate:,.0f} records per CPU second ({1e6 / wrate:.2f} us per record)")
    if args.read:
        print(f"read_history: {bench_read(args.read):,.0f} records per CPU second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
