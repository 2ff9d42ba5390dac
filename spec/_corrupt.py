"""Corrupt storage: every get of damaged data raises the target's CacheError or returns the
right value, never a wrong value or another exception; the key stays usable; no code runs.

Which level is tested is proved, not assumed. For a target with the FILES capability a probe
inserts a few fresh keys into a scratch storage: if each adds exactly one new file to
``entry_files()`` (the default lists the regular files; an adapter may declare its own), each
entry file is damaged in place (*per-entry*). Otherwise (one database for all entries, say) the
storage is damaged as a whole: the files it holds after some inserts are copied, one of them
damaged, and a fresh instance opened on the copy must read every key correctly or refuse
(*storage-level*). The level goes into the check's notes. At storage level a miss (None) counts as detected: which entry a damaged byte of a shared
file belonged to cannot be known, and a miss never hands out a wrong value.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ._subject import FILES, PERSISTENT, RICH_VALUES, Subject, Target

from ._compare import show, strict_equal
from ._children import ChildError, Zygote
from ._crashes import value_of
from ._damage import (
    damages, payload_flips, planted_pickles, probe_entry_files, storage_files, where_differ,
)
from ._harness import (
    Hung, Violation, Violations, error_name, inapplicable, new_dir, note, outcome,
)
from ._profiles import get_budget

#: the clauses whose evidence depends on the level; notes say which one was tested
_LEVEL_CLAUSES = ("DISK-CORRUPT-ENTRY", "DISK-CORRUPT-DETECTED", "DISK-CORRUPT-RECOVER",
                  "SAFE-DISK-NO-CODE")
_STORAGE_KEYS = 6
_MAX_FILES = 3


def _value(caps: frozenset[str], r: int) -> Any:
    return value_of(caps, r, 2048) if r % 2 == 0 else (
        {"r": r, "t": ("x", -0.0, None)} if RICH_VALUES in caps else b"small-%d" % r)


def run_corrupt(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                ) -> list[Violation]:
    """Damaged storage, per entry file when proved to be one file per key, else as a whole."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    if FILES in caps:  # proved where the target was resolved; proved again here, in-process
        probe = target.open(new_dir(workdir, "probe"))
        try:
            why = probe_entry_files(probe, value_of(caps, 9, 64))
        finally:
            outcome(probe.close)
    else:
        why = f"the target does not have the {FILES!r} capability"
    if why is None:
        for c in _LEVEL_CLAUSES:
            note(c, "per-entry files: a probe showed one new file per inserted key; each entry "
                 "file was damaged in place")
        _per_entry(v, target, workdir, profile)
    else:
        _storage_level(v, target, workdir, profile, why)
    return v.list()


def _judge_read(v: Violations, target: Target, got: Any, value: Any, story: str,
                miss_ok: bool, marker_dir: Path) -> bool:
    """Judge one get of damaged data; False if it returned a wrong value (undetected)."""
    v.check("SAFE-DISK-NO-CODE", not any(marker_dir.iterdir()),
            "get ran code found in an entry file", story)
    if isinstance(got, BaseException):
        ok = isinstance(got, target.error_type)
        v.check("DISK-CORRUPT-ENTRY", ok, lambda: f"get raised {error_name(got)}", story)
        v.check("ERROR-ONLY-CACHEERROR", ok, lambda: (
            f"get of a corrupt entry raised {error_name(got)}, not CacheError"), story)
        if ok:
            v.check("DISK-CORRUPT-DETECTED", True, "", story)
        return True
    # a read of damaged data that reports no failure reports no foreign one either: judged
    v.check("DISK-CORRUPT-ENTRY", True, "", story)
    v.check("ERROR-ONLY-CACHEERROR", True, "", story)
    if strict_equal(got, value) or (got is None and miss_ok):
        v.check("DISK-CORRUPT-DETECTED", True, "", story)
        return True
    what = ("returned None while the damaged entry file stays" if got is None else
            f"returned a wrong value, which differs {where_differ(got, value)}")
    v.check("DISK-CORRUPT-DETECTED", False,
            f"get {what}; expected CacheError or the inserted value", story)
    return False


def _judge_recover(v: Violations, reader: Subject, key: str, old: Any, new: Any, story: str
                   ) -> bool:
    """insert(key, new) then get(key) work and agree after the damage; False if hung."""
    ins = outcome(lambda: reader.insert(key, new))
    after = outcome(lambda: reader.get(key)) if not isinstance(ins, Hung) else ins
    text = f"{story}; insert({key!r}, {show(new)}); get({key!r})"
    if isinstance(after, Hung):
        v.add("DISK-CORRUPT-RECOVER", f"insert/get {after}", text)
        return False
    want = new if ins is True else old
    v.check("DISK-CORRUPT-RECOVER", ins in (True, False) and strict_equal(after, want),
            lambda: f"after the corrupt entry was read, insert returned {show(ins)} and get "
            f"returned {show(after)}", text)
    return True


# -- one file per entry ---------------------------------------------------------------------
def _per_entry(v: Violations, target: Target, workdir: Path, profile: str) -> None:
    caps = frozenset(target.capabilities)
    s = target.open(new_dir(workdir, "corrupt"))
    rng = random.Random(7)
    n = 0
    try:
        for r in range(get_budget(profile).corrupt_rounds):
            value = _value(caps, r)
            marker_dir = new_dir(workdir, "markers")
            sample = _entry_bytes(v, s, f"corrupt-probe-{r}", value)
            if sample is None:
                return
            if not sample:
                continue  # not one new file: this round judges nothing
            for kind, data in damages(sample, marker_dir / f"ran-{r}", rng):
                n += 1
                if not _damage_one(v, target, s, f"corrupt-{n}", value, kind, data, marker_dir,
                                   200 + r):
                    return
    finally:
        outcome(s.close)


def _entry_bytes(v: Violations, s: Subject, key: str, value: Any) -> bytes | None:
    """The bytes of the entry file ``insert(key, value)`` creates (None: stop the check)."""
    before = set(s.entry_files())
    if isinstance(outcome(lambda: s.insert(key, value)), Hung):
        v.add("DISK-CORRUPT-ENTRY", "insert did not return within 10 s", key)
        return None
    new = [p for p in s.entry_files() if p not in before]
    return new[0].read_bytes() if len(new) == 1 else b""


def _damage_one(v: Violations, target: Target, s: Subject, key: str, value: Any, kind: str,
                data: bytes, marker_dir: Path, tag: int) -> bool:
    """Insert ``key``, overwrite its entry file with ``data``, read it back; False if hung."""
    before = set(s.entry_files())
    if isinstance(outcome(lambda: s.insert(key, value)), Hung):
        v.add("DISK-CORRUPT-ENTRY", "insert did not return within 10 s", key)
        return False
    files = [p for p in s.entry_files() if p not in before]
    if len(files) != 1:
        return True  # the probe showed one file per key; an insert that differs is not judged
    path = files[0]
    path.chmod(0o644)
    path.write_bytes(data)
    story = f"insert({key!r}, {show(value)}); entry file {kind}; then get({key!r})"
    reader = s.reopen() if PERSISTENT in target.capabilities else s
    try:
        got = outcome(lambda: reader.get(key))
        if isinstance(got, Hung):
            v.add("DISK-CORRUPT-ENTRY", f"get {got}", story)
            return False
        gone = not path.exists() or path.read_bytes() != data
        if not _judge_read(v, target, got, value, story, gone, marker_dir):
            return True  # undetected: whether the key is usable is not the question
        return _judge_recover(v, reader, key, value, value_of(target.capabilities, tag, 16),
                              story)
    finally:
        if reader is not s:
            outcome(reader.close)


# -- one storage for all entries ------------------------------------------------------------
def _storage_level(v: Violations, target: Target, workdir: Path, profile: str, why: str
                   ) -> None:
    caps = frozenset(target.capabilities)
    pristine = new_dir(workdir, "pristine")
    s = target.open(pristine)
    entries: list[tuple[str, Any]] = []
    try:
        for i in range(_STORAGE_KEYS):
            key, value = f"corrupt-{i}", _value(caps, i)
            res = outcome(lambda: s.insert(key, value))
            if isinstance(res, Hung):
                v.add("DISK-CORRUPT-ENTRY", f"insert {res}", f"insert({key!r}, ...)")
                return
            if res is True:
                entries.append((key, value))
    finally:
        outcome(s.close)
    snapshot = {p.relative_to(pristine): p.read_bytes() for p in storage_files(pristine)}
    if entries and not snapshot:
        # Proved, not assumed: inserts were acknowledged and the directory stayed empty, so the
        # entries live elsewhere (a server) and there is no stored byte this check could damage.
        for c in _LEVEL_CLAUSES:
            inapplicable(c, f"the storage directory held no file after {len(entries)} "
                         "acknowledged inserts: the target keeps its entries elsewhere (a "
                         "server), so there is nothing on disk to damage")
        return
    if not entries:
        for c in _LEVEL_CLAUSES:
            note(c, f"storage-level: not tested, no insert was acknowledged ({why})")
        return
    rng = random.Random(7)
    chosen = sorted(snapshot, key=lambda rel: (-len(snapshot[rel]), str(rel)))[:_MAX_FILES]
    for c in _LEVEL_CLAUSES:
        note(c, f"storage-level: entries are not one file per key ({why}); each of "
             f"{', '.join(map(str, chosen))} was damaged in turn and a fresh instance read "
             f"all {len(entries)} keys (a miss counts as detected at this level)")
    payloads = [val[1] for _, val in entries if isinstance(val, list)] + [
        val for _, val in entries if isinstance(val, bytes)]
    flips = 2 + get_budget(profile).corrupt_rounds
    with Zygote(target) as zygote:
        for rel in chosen:
            marker_dir = new_dir(workdir, "markers")
            original = snapshot[rel]
            kinds = damages(original, marker_dir / "ran", rng, flips)
            for payload in payloads[:2]:
                kinds += payload_flips(original, payload)
            kinds += planted_pickles(original, [val for _, val in entries], marker_dir / "ran")
            for n, (kind, data) in enumerate(kinds):
                if not _damage_storage(v, target, workdir, snapshot, rel, kind, data, entries,
                                       marker_dir, n, zygote):
                    return


def _read_in_child(target: Target, chan: Any, storage: str, keys: list[str]) -> bool:
    """A forked child opens the damaged storage and reads every key, saying what it is about
    to do, so the parent can name the operation a fatal signal (SIGBUS, SIGSEGV) struck."""
    chan.send("open")
    s = outcome(lambda: target.open(Path(storage)))
    if isinstance(s, BaseException):
        return True
    try:
        for key in keys:
            chan.send(f"get({key!r})")
            outcome(lambda: s.get(key))
    finally:
        outcome(s.close)
    return True


def _survives(zygote: Zygote, copy: Path, keys: list[str]) -> str | None:
    """None if a process survives reading the damaged storage, else the operation it died in.
    A store that maps its file (LMDB) can be killed by reading a truncated one; judged in a
    child so the death is a verdict on that damage, not the end of the check."""
    child = zygote.start(_read_in_child, str(copy), keys)
    step = "starting"
    try:
        while True:
            msg = child.recv()
            if isinstance(msg, tuple) and msg and msg[0] == "result":
                return None
            if isinstance(msg, str):
                step = msg
    except ChildError as err:
        return step if err.died else None  # silent: the in-process read judges the hang
    finally:
        child.kill()


def _damage_storage(v: Violations, target: Target, workdir: Path, snapshot: dict[Path, bytes],
                    rel: Path, kind: str, data: bytes, entries: list[tuple[str, Any]],
                    marker_dir: Path, n: int, zygote: Zygote) -> bool:
    """A copy of the storage with ``rel`` replaced by ``data``; a fresh instance reads every
    key, then one key is inserted again. False if something hung (stop the check)."""
    copy = new_dir(workdir, "damaged")
    for path, content in snapshot.items():
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_bytes(data if path == rel else content)
    keys = ", ".join(repr(k) for k, _ in entries)
    story = (f"insert {len(entries)} keys ({keys}) with values like {show(entries[0][1])}; "
             f"close; in the storage directory, file {str(rel)!r} {kind}; open a new instance")
    died = _survives(zygote, copy, [k for k, _ in entries])
    if died is not None:
        v.add("DISK-CORRUPT-ENTRY", f"a process reading the damaged storage died (killed by a "
              f"signal, no exception) during {died}", f"{story} in a fresh process; {died}")
        return True
    reader = outcome(lambda: target.open(copy))
    if isinstance(reader, Hung):
        v.add("DISK-CORRUPT-ENTRY", f"opening the damaged storage {reader}", story)
        return False
    if isinstance(reader, BaseException):
        ok = isinstance(reader, target.error_type)
        v.check("DISK-CORRUPT-ENTRY", ok, lambda: (
            f"opening the damaged storage raised {error_name(reader)}"), story)
        v.check("ERROR-ONLY-CACHEERROR", ok, lambda: (
            f"opening a damaged storage raised {error_name(reader)}, not CacheError"), story)
        return True
    try:
        for key, value in entries:
            got = outcome(lambda: reader.get(key))
            if isinstance(got, Hung):
                v.add("DISK-CORRUPT-ENTRY", f"get {got}", f"{story}; get({key!r})")
                return False
            _judge_read(v, target, got, value, f"{story}; get({key!r})", True, marker_dir)
        key, value = entries[n % len(entries)]
        new = value_of(target.capabilities, 200 + n, 16)
        return _judge_recover(v, reader, key, value, new, f"{story}; get({key!r})")
    finally:
        outcome(reader.close)
