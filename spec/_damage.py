"""What fault checks need beyond the harness: the files a storage holds, the ways to damage a
file, proving that a target keeps one file per entry, and showing where two values differ.
"""

from __future__ import annotations

import pickle
import pickletools
import random
from pathlib import Path
from typing import Any

from ._compare import show, strict_equal
from ._harness import outcome
from ._loaders import evil_pickle
from ._subject import Subject

#: keys the per-entry probe inserts; more than one, so one shared file (a database) that
#: appears with the first insert is not taken for an entry file
PROBE_KEYS = 3


def storage_files(storage: Path | None) -> set[Path]:
    """Regular files under ``storage``, lock files (``*.lock``, anything in a ``locks`` dir)
    excluded: what a cache leaves in its storage directory."""
    if storage is None or not storage.exists():
        return set()
    out = set()
    for p in storage.rglob("*"):
        rel = p.relative_to(storage).parts
        if p.is_file() and not p.name.endswith(".lock") and "locks" not in rel[:-1]:
            out.add(p)
    return out


def probe_entry_files(s: Subject, value: Any) -> str | None:
    """None if each of PROBE_KEYS fresh inserts into ``s`` (an empty storage) added exactly one
    new regular file to ``s.entry_files()``; else why not (the storage is then not per-entry)."""
    for i in range(PROBE_KEYS):
        before = set(s.entry_files())
        res = outcome(lambda: s.insert(f"cachespec-probe-{i}", value))
        if isinstance(res, BaseException) or res is not True:
            return f"probe insert {i + 1} returned {show(res)}"
        new = [p for p in s.entry_files() if p not in before]
        if len(new) != 1 or not new[0].is_file():
            return (f"probe insert {i + 1} of {PROBE_KEYS} added {len(new)} files to "
                    "entry_files(), not one")
    return None


def damages(data: bytes, marker: Path, rng: random.Random, flips: int = 3
            ) -> list[tuple[str, bytes]]:
    """Ways to damage a file holding ``data``: truncations, flipped bytes, garbage, and
    pickles that would run code (creating ``marker``) if unpickled."""
    n = len(data)
    evil = evil_pickle(marker)
    if n == 0:
        return [("garbage written", b"\x80garbage\x00" * 8), ("code-running pickle", evil)]

    def flip(i: int) -> bytes:
        i = min(max(i, 0), n - 1)
        return data[:i] + bytes([data[i] ^ 0x41]) + data[i + 1:]

    out = [("empty", b""), ("header only", data[:4]), ("truncated to half", data[: n // 2]),
           ("last byte cut", data[:-1]), ("first byte flipped", flip(0)),
           ("middle byte flipped", flip(n // 2)), ("last byte flipped", flip(n - 1)),
           ("garbage appended", data + b"\x00garbage"), ("zeros", bytes(n)),
           ("random bytes", rng.randbytes(n))]
    out += [(f"code-running pickle after {off} original bytes", data[:off] + evil)
            for off in (0, 4, 8, 12, 16) if off <= n]
    out += [(f"byte {k} flipped", flip(k)) for k in rng.sample(range(n), min(n, flips))]
    return out


def payload_flips(data: bytes, payload: bytes, count: int = 3) -> list[tuple[str, bytes]]:
    """Flip bytes inside the first copy of ``payload`` found in ``data`` (a stored value's own
    bytes): what a store without checksums cannot notice."""
    at = data.find(payload) if len(payload) >= 16 else -1
    if at < 0:
        return []
    spots = sorted({at, at + len(payload) // 2, at + len(payload) - 1})[:count]
    return [(f"byte {i} (inside a stored value) flipped",
             data[:i] + bytes([data[i] ^ 0x41]) + data[i + 1:]) for i in spots]


def planted_pickles(data: bytes, values: list[Any], marker: Path) -> list[tuple[str, bytes]]:
    """Each stored value's pickle (as ``pickle.dumps`` writes it at any protocol) found verbatim
    in ``data``, replaced by a code-running pickle of the same length (unpickling stops at its
    STOP opcode; zero bytes pad it). A store that keeps pickles inside one database file (a row
    of SQLite, say) cannot be forged byte-wise by the other damages, only by this one."""
    evil = evil_pickle(marker)
    out: list[tuple[str, bytes]] = []
    for value in values:
        for proto, blob in ((p, b) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)
                            for b in _pickles(value, p)):
            at = data.find(blob)
            if at >= 0 and len(blob) >= len(evil):
                forged = evil + b"\x00" * (len(blob) - len(evil))
                out.append((f"a stored value's pickle (protocol {proto}, {len(blob)} bytes) "
                            "replaced in place by a code-running pickle of the same length",
                            data[:at] + forged + data[at + len(blob):]))
                break
        if out:
            return out  # one planted value per file is enough to judge the clause
    return out


def _pickles(value: Any, proto: int) -> tuple[bytes, ...]:
    """How stores write ``value``'s pickle: as dumped, or shrunk by pickletools.optimize
    (diskcache does that)."""
    blob = pickle.dumps(value, protocol=proto)
    return (blob, pickletools.optimize(blob))


def where_differ(got: Any, want: Any, path: str = "value") -> str:
    """Where ``got`` first differs from ``want``: the path to it and, for str/bytes, the index
    and a window of both around it (two truncated reprs can print identically)."""
    if type(got) is not type(want):
        return f"at {path}: got {type(got).__name__} {show(got)}, expected " \
               f"{type(want).__name__} {show(want)}"
    if isinstance(got, (bytes, str)):
        i = next((j for j, (a, b) in enumerate(zip(got, want)) if a != b),
                 min(len(got), len(want)))
        lo, hi = max(0, i - 8), i + 8
        return (f"at {path}[{i}] (lengths {len(got)} and {len(want)}): got[{lo}:{hi}] = "
                f"{got[lo:hi]!r}, expected[{lo}:{hi}] = {want[lo:hi]!r}")
    if isinstance(got, (list, tuple)):
        for j, (a, b) in enumerate(zip(got, want)):
            if not strict_equal(a, b):
                return where_differ(a, b, f"{path}[{j}]")
        return f"at {path}: length {len(got)}, expected {len(want)}"
    if isinstance(got, dict):
        if set(got) != set(want):
            return f"at {path}: keys {show(sorted(map(repr, got)))}, expected " \
                   f"{show(sorted(map(repr, want)))}"
        for k in want:
            if not strict_equal(got[k], want[k]):
                return where_differ(got[k], want[k], f"{path}[{k!r}]")
    return f"at {path}: got {show(got)}, expected {show(want)}"
