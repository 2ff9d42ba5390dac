"""Hand-written histories: each violation kind is caught, and its valid twin is accepted."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from cachespec._cli import main
from cachespec.stress import (
    CONC_LINEARIZABLE,
    CONC_NO_STALE_READ,
    CONC_ONE_WINNER,
    CONC_READ_WINNER,
    CRASH_DURABLE,
    ERROR_ONLY_CACHEERROR,
    VERSION_ISOLATED,
    HistoryError,
    check_durability,
    check_history,
    format_violation,
)

_ids = itertools.count()
MS = 1_000_000
K = "'k'"


def op(name: str, t0: int, t1: int | None, result: Any = None, *, value: str | None = None,
       error: str | None = None, key: str = K, pid: int = 1, group: str | None = None
       ) -> list[dict[str, Any]]:
    """An operation's records; times in ms; ``t1=None`` leaves it indeterminate."""
    i = next(_ids)
    inv: dict[str, Any] = {"ev": "invoke", "t": t0 * MS, "pid": pid, "tid": pid, "id": i,
                           "op": name, "key": key}
    if value is not None:
        inv["value"] = value
    if group is not None:
        inv["group"] = group
    if t1 is None:
        return [inv]
    done: dict[str, Any] = {"ev": "fail" if error else "ok", "t": t1 * MS, "pid": pid,
                            "tid": pid, "id": i, "op": name, "key": key}
    done.update({"error": error} if error else {"result": result})
    return [inv, done]


def ins(t0: int, t1: int | None, result: Any = None, value: str = "aa", **kw: Any
        ) -> list[dict[str, Any]]:
    return op("insert", t0, t1, result, value=value, **kw)


def get(t0: int, t1: int | None, result: Any = None, **kw: Any) -> list[dict[str, Any]]:
    return op("get", t0, t1, result, **kw)


def hist(*ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((r for o in ops for r in o), key=lambda r: r["t"])


def kinds(events: list[dict[str, Any]], **kw: Any) -> list[str]:
    return [v.kind for v in check_history(events, **kw).violations]


VALID = {
    "write-then-reads": hist(get(0, 1, None), ins(2, 3, True), get(4, 5, "aa"),
                             ins(6, 7, False, "bb")),
    "read-overlaps-winner": hist(ins(0, 10, True), get(1, 2, "aa"), ins(3, 4, False, "bb")),
    "none-overlaps-winner": hist(ins(0, 10, True), get(9, 12, None), get(11, 13, "aa")),
    "async-ops": hist(op("insert_async", 0, 5, True, value="aa"), op("get_async", 1, 9, None),
                      op("get_async", 2, 6, "aa")),
    "indeterminate-read": hist(ins(0, None, value="cc"), get(5, 6, "cc"), ins(7, 8, False)),
    "indeterminate-behind-false": hist(ins(0, None, value="cc"), ins(1, 2, False)),
    "indeterminate-not-taken": hist(ins(0, None, value="cc"), get(5, 6, None)),
    "loser-indeterminate": hist(ins(0, 1, True), ins(2, None, value="bb"), get(3, 4, "aa")),
    "groups-are-separate": hist(ins(0, 1, True, group="v1"), ins(2, 3, True, "bb", group="v2"),
                                get(4, 5, "bb", group="v2")),
    "keys-are-separate": hist(ins(0, 1, True), ins(0, 1, True, key="'j'")),
    "equal-times-are-lenient": hist(ins(0, 2, True), get(2, 3, None), get(1, 2, "aa")),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_histories_pass(name: str) -> None:
    report = check_history(VALID[name])
    assert report.violations == [], [format_violation(v) for v in report.violations]
    shuffled = list(VALID[name])
    random.Random(0).shuffle(shuffled)  # the checker does not rely on event order
    assert check_history(shuffled).violations == []


INVALID = {
    # name: (history, kind, clause, records in the excerpt)
    "two-winners": (hist(ins(0, 1, True), ins(2, 3, True, "bb"), get(4, 5, "aa")),
                    "two-winners", CONC_ONE_WINNER, 4),
    "wrong-value": (hist(ins(0, 1, True), get(2, 3, "bb")), "wrong-value", CONC_READ_WINNER, 4),
    "reads-disagree": (hist(ins(0, None, value="aa"), ins(0, None, value="bb"), get(2, 3, "aa"),
                            get(4, 5, "bb")), "wrong-value", CONC_READ_WINNER, 4),
    "read-unwritten": (hist(get(2, 3, "zz")), "wrong-value", CONC_READ_WINNER, 2),
    "read-before-write": (hist(get(0, 1, "aa"), ins(2, 3, True)),
                          "read-before-write", CONC_LINEARIZABLE, 4),
    "read-before-indeterminate": (hist(get(0, 1, "aa"), ins(2, None)),
                                  "read-before-write", CONC_LINEARIZABLE, 3),
    "late-winner": (hist(ins(0, 1, False, "bb"), ins(2, 3, True)),
                    "late-winner", CONC_LINEARIZABLE, 4),
    "false-without-winner": (hist(ins(0, 1, False), get(2, 3, None)),
                             "false-without-winner", CONC_LINEARIZABLE, 2),
    "false-before-indeterminate": (hist(ins(0, 1, False, "bb"), ins(2, None)),
                                   "false-without-winner", CONC_LINEARIZABLE, 3),
    "lost-write": (hist(ins(0, 1, True), get(2, 3, None)), "lost-write", CONC_NO_STALE_READ, 4),
    "lost-async-write": (hist(op("insert_async", 0, 1, True, value="aa"),
                              op("get_async", 2, 3, None)), "lost-write", CONC_NO_STALE_READ, 4),
    "stale-read": (hist(ins(0, 100, True), get(10, 20, "aa"), get(30, 40, None)),
                   "stale-read", CONC_NO_STALE_READ, 4),
    "stale-after-false": (hist(ins(0, None), ins(10, 20, False, "bb"), get(30, 40, None)),
                          "stale-read", CONC_NO_STALE_READ, 4),
    "unexpected-error": (hist(get(0, 1, error="KeyError")),
                         "unexpected-error", ERROR_ONLY_CACHEERROR, 2),
    "cross-version": (hist(ins(0, 1, True, group="v1"), ins(2, 3, True, "bb", group="v2"),
                           get(4, 5, "aa", group="v2")), "cross-version", VERSION_ISOLATED, 4),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_each_violation_kind_is_caught(name: str) -> None:
    events, kind, clause, n_excerpt = INVALID[name]
    violations = check_history(events).violations
    assert [v.kind for v in violations] == [kind], [format_violation(v) for v in violations]
    v = violations[0]
    assert v.clause == clause and v.key == K and v.message
    assert len(v.excerpt) == n_excerpt
    assert all(r in events for r in v.excerpt)


def test_spurious_cacheerror_depends_on_corruption() -> None:
    events = hist(ins(0, 1, True), get(2, 3, error="CacheError"), get(2, 3, error="CacheError"))
    (v,) = check_history(events).violations
    assert v.kind == "spurious-error" and "2 such failures" in v.message
    assert check_history(events, corruption=True).violations == []
    assert kinds(events, corruption=True, error_types=frozenset({"OSError"})) == [
        "unexpected-error"]


def test_a_failed_insert_may_have_won() -> None:
    events = hist(ins(0, 1, error="CacheError", value="cc"), get(2, 3, "cc"))
    assert kinds(events, corruption=True) == []
    # ... but it cannot take effect after it failed.
    late = hist(ins(0, 1, error="CacheError", value="cc"), get(2, 3, None), get(4, 5, "cc"))
    assert kinds(late, corruption=True) == ["lost-write"]


def test_without_clock_only_clock_free_checks_apply() -> None:
    timing = hist(get(0, 1, "aa"), ins(2, 3, True), ins(4, 5, True, "bb"))
    assert kinds(timing, clock=False) == ["two-winners"]
    assert kinds(hist(get(0, 1, "aa"), ins(2, 3, True)), clock=False) == []
    assert kinds(hist(ins(0, 1, True), get(2, 3, None)), clock=False) == []
    assert kinds(hist(ins(0, 1, True), get(2, 3, "bb")), clock=False) == ["wrong-value"]
    assert kinds(hist(ins(0, 1, False)), clock=False) == ["false-without-winner"]


def test_a_corrupted_key_is_exempt_from_register_checks() -> None:
    events = hist(ins(0, 1, True), get(2, 3, None))
    events.append({"ev": "meta", "t": 0, "fault": "corrupt", "key": "k"})  # raw key or repr
    assert kinds(events) == []


def test_counts_and_json() -> None:
    events = hist(ins(0, 1, True), ins(0, None, key="'j'"), get(2, 3, "bb"))
    events.append({"ev": "ok", "t": 9, "pid": 7, "tid": 7, "id": 99, "op": "get", "key": K,
                   "result": None})
    report = check_history(events)
    assert (report.keys, report.ops, report.indeterminate, report.orphans) == (2, 3, 1, 1)
    data = json.loads(report.to_json())
    assert data["ok"] is False and data["violations"][0]["kind"] == "wrong-value"


def test_unknown_op_is_a_history_error() -> None:
    with pytest.raises(HistoryError, match="unknown op"):
        check_history(op("delete", 0, 1))


def test_format_violation_is_readable() -> None:
    (v,) = check_history(hist(ins(10, 11, True, pid=3), get(12, 14, None, pid=4))).violations
    text = format_violation(v)
    assert text.splitlines()[0].startswith("lost-write (CONC-NO-STALE-READ) key 'k'")
    assert "+0.000 ms" in text and "+4.000 ms" in text
    assert "pid 3" in text and "pid 4" in text and "-> true" in text and "-> null" in text


def test_durability() -> None:
    events = hist(ins(0, 1, True), ins(0, None, value="cc", key="'j'"), get(2, 3, "cc", key="'j'"),
                  ins(0, None, value="dd", key="'m'"), ins(2, 3, False, key="'n'"))
    assert check_durability(events, {K: "aa", "'j'": "cc", "'m'": None}) == []
    lost = check_durability(events, {K: None, "'j'": "xx"})
    assert sorted(v.key for v in lost) == ["'j'", K]
    assert {v.kind for v in lost} == {"not-durable"} and lost[0].clause == CRASH_DURABLE
    assert all(v.excerpt for v in lost)
    assert check_durability(events, {}) == []  # keys not read finally are not judged


def test_durability_by_group() -> None:
    events = hist(ins(0, 1, True, group="v1"), ins(0, 1, True, "bb", group="v2"))
    assert check_durability(events, {K: "bb"}, group="v2") == []
    assert [v.group for v in check_durability(events, {K: "bb"}, group="v1")] == ["v1"]


def _write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in events))
    return path


def test_verify_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path / "good.jsonl", VALID["write-then-reads"])
    assert main(["verify", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    _write(bad_dir / "a.jsonl", INVALID["lost-write"][0])
    report = tmp_path / "r.json"
    assert main(["verify", str(bad_dir), "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "lost-write (CONC-NO-STALE-READ)" in out and "FAIL: 1 violation" in out
    assert json.loads(report.read_text())["violations"][0]["kind"] == "lost-write"
    assert main(["verify", "--no-clock", str(bad_dir)]) == 0


def test_verify_cli_durability_and_corruption_from_meta(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    events = hist(ins(0, 1, True), get(2, 3, error="CacheError"))
    path = _write(tmp_path / "h.jsonl", events + [{"ev": "meta", "t": 9, "final_reads": {K: None}}])
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "not-durable" in out and "spurious-error" in out
    path = _write(tmp_path / "h.jsonl", events + [{"ev": "meta", "t": 0, "fault": "corrupt"}])
    assert main(["verify", str(path)]) == 0


@pytest.mark.parametrize("content", [None, "garbage\n{}\n", ""])
def test_verify_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 content: str | None) -> None:
    target = tmp_path / "h.jsonl"
    if content is not None:
        target.write_text(content)
    if content == "":
        target = tmp_path  # an empty directory is as bad as no file
        (tmp_path / "h.jsonl").unlink()
    assert main(["verify", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cachespec verify: error:") and len(err.strip().splitlines()) == 1


def test_benchmark_script_runs_small() -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_checker.py"
    spec = importlib.util.spec_from_file_location("bench_checker", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    events = bench.build_history(20_000, 50, seed=1)
    assert check_history(events).violations == []
    assert sum(r["ev"] == "invoke" for r in events) > 9_000
    assert bench.main(["--events", "20000", "--keys", "50", "--repeat", "1",
                       "--writer", "2000", "--read", "2000"]) == 0


def test_verify_cli_final_reads_per_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    events = hist(ins(0, 1, True, group="v1"), ins(0, 1, True, "bb", group="v2"))
    finals = [{"ev": "meta", "t": 9, "group": "v1", "final_reads": {K: "aa"}},
              {"ev": "meta", "t": 9, "group": "v2", "final_reads": {K: "aa"}}]
    path = _write(tmp_path / "h.jsonl", events + finals)
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "not-durable (CRASH-DURABLE) key 'k' [group v2]" in out and "[group v1]" not in out
