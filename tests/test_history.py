"""HistoryWriter / read_history: record format, thread safety, torn lines, garbage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cachespec.stress import HistoryError, HistoryWriter, digest, key_id, read_history


def test_records_have_the_documented_fields(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        a = w.invoke("insert", ("k", 1), digest(b"v"), group="v1")
        w.ok(a, "insert", ("k", 1), True)
        b = w.invoke("get_async", "k\n\"")
        w.ok(b, "get_async", "k\n\"", None)
        c = w.invoke("get", 1)
        w.fail(c, "get", 1, "CacheError")
        w.meta(fault="corrupt", key="'k'")
        d = w.invoke("insert", 2, "cd")
        w.ok(d, "insert", 2, 1)  # a non-bool from an odd target is still recorded
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["ev"] for r in lines] == ["invoke", "ok", "invoke", "ok", "invoke", "fail", "meta",
                                        "invoke", "ok"]
    assert lines[8]["result"] == 1 and lines[8]["result"] is not True
    assert lines[0]["key"] == key_id(("k", 1)) == "('k', 1)"
    assert lines[0]["value"] == digest(b"v") and lines[0]["group"] == "v1"
    assert lines[1]["result"] is True and lines[1]["id"] == lines[0]["id"] == a
    assert lines[2]["key"] == repr("k\n\"") and "value" not in lines[2]
    assert lines[3]["result"] is None
    assert lines[4]["key"] == "1" and lines[5]["error"] == "CacheError"
    assert lines[6]["fault"] == "corrupt" and lines[6]["pid"] == os.getpid()
    for r in lines[:6]:
        assert r["pid"] == os.getpid() and isinstance(r["t"], int) and isinstance(r["tid"], int)
    ts = [r["t"] for r in lines]
    assert ts == sorted(ts)
    assert len({a, b, c, d}) == 4


def test_digest_is_short_stable_hex() -> None:
    assert digest(b"abc") == digest(b"abc") != digest(b"abd")
    assert len(digest(b"")) == 16 and int(digest(b"x"), 16) >= 0


def test_threads_share_a_writer_without_interleaving(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)

    def run(n: int) -> None:
        for i in range(500):
            op = w.invoke("insert", f"k{n}-{i}", "ab" * 8)
            w.ok(op, "insert", f"k{n}-{i}", True)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close()
    events = read_history([path])
    assert len(events) == 8 * 500 * 2
    ids = [r["id"] for r in events if r["ev"] == "invoke"]
    assert len(set(ids)) == len(ids)  # every op has its own id


def test_read_merges_files_by_time_and_tags_source(tmp_path: Path) -> None:
    recs = [{"ev": "invoke", "t": t, "pid": 1, "tid": 1, "id": t, "op": "get", "key": "'k'"}
            for t in (5, 1, 3, 2, 4)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[:3]))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[3:]))
    events = read_history([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [r["t"] for r in events] == [1, 2, 3, 4, 5]
    assert {r["t"]: r["src"] for r in events} == {5: 0, 1: 0, 3: 0, 2: 1, 4: 1}
    again = read_history([tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "./a.jsonl"])
    assert again == events


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        w.invoke("get", "k")
    with open(path, "ab") as f:
        f.write(b'{"ev":"ok","t":12,"pid"')  # a SIGKILL mid-write
    assert [r["ev"] for r in read_history([path])] == ["invoke"]


def test_garbage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"ev":"meta","t":1}\nnot json\n{"ev":"meta","t":2}\n')
    with pytest.raises(HistoryError, match=r"h\.jsonl:2"):
        read_history([path])
    # A complete but unterminated last line is kept; garbage with its newline is not torn.
    path.write_text('{"ev":"meta","t":1}\n{"ev":"meta","t":2}')
    assert len(read_history([path])) == 2
    path.write_text('{"ev":"meta","t":1}\n{"ev":"me\n')
    with pytest.raises(HistoryError):
        read_history([path])
    path.write_text('\n{"ev":"meta","t":1}\n\n  \n{"ev":"meta","t":2}\n')  # blank lines
    assert [r["t"] for r in read_history([path])] == [1, 2]
    path.write_text('{"ev":"meta","t":1}\n\n{"ev":"meta","t":[]}\n')
    with pytest.raises(HistoryError, match=r"h\.jsonl:3: bad meta record: 't' is not an int"):
        read_history([path])


@pytest.mark.parametrize("line", ['[1, 2]', '{"ev": "bogus", "t": 1}', 'null', '{"ev": []}',
                                  '{"ev": "meta"}, {"ev": "meta"}',
                                  '{"ev": "invoke", "t": 1, "pid": 1}',
                                  '{"ev": "meta", "t": "1"}',
                                  '{"ev": "ok", "t": 1, "pid": 1, "id": 1, "op": "get", '
                                  '"key": "1"}'])
def test_records_that_are_not_history_are_errors(tmp_path: Path, line: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(HistoryError, match="h.jsonl:1"):
        read_history([path])


def test_missing_file_is_a_history_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot read"):
        read_history([tmp_path / "absent.jsonl"])


_KILLED_WRITER = """
import sys, threading
from cachespec.stress import HistoryWriter
w = HistoryWriter(sys.argv[1])
def run():
    while True:
        op = w.invoke("insert", "k" * 50, "ab" * 8)
        w.ok(op, "insert", "k" * 50, False)
for _ in range(4):
    threading.Thread(target=run, daemon=True).start()
print("go", flush=True)
threading.Event().wait()
"""


def test_sigkilled_writer_leaves_a_readable_history(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "go\n"
        deadline = time.monotonic() + 60
        while not path.exists() or path.stat().st_size < 200_000:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    events = read_history([path])
    assert len(events) > 1000
    assert all(r["key"] == repr("k" * 50) for r in events)


def test_write_after_close_is_an_error(tmp_path: Path) -> None:
    w = HistoryWriter(tmp_path / "h.jsonl")
    w.close()
    w.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        w.invoke("get", "k")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_logs_under_its_own_pid(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)
    w.invoke("get", "parent")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        w.invoke("get", "child")
        os._exit(0)
    os.waitpid(pid, 0)
    w.close()
    by_key = {r["key"]: r["pid"] for r in read_history([path])}
    assert by_key == {"'parent'": os.getpid(), "'child'": pid}
