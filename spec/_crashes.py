"""Crash runs across processes: a writer SIGKILLed at each point of its insert in turn, and a
process that dies while holding a key's lock.

No luck decides where a writer dies: the writer (a fresh child of a :class:`Zygote`) traces its
own insert with :class:`Points` and kills itself at point *k*, for each *k* chosen from the
points of that insert (all of them when the profile's budget allows). Each crash is on a fresh
key and is judged by another fresh child. A violation names its crash point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._subject import FILES, RICH_VALUES, Target

from ._children import ChildError, Raised, Zygote, attempt, scaled_wait
from ._compare import show, strict_equal
from ._harness import Violation, Violations, new_dir
from ._points import Points, choose, kill_self

#: crash (and race) points tried per check, by profile: enough to cover every file-system
#: window of a small insert at quick, every point of most inserts at thorough
POINT_BUDGET = {"quick": 16, "default": 48, "thorough": 100_000}
#: base seconds within which a lock-free read must return while another process holds the lock
#: (stretched by load); a read that waits for the holder waits until it dies, far longer
_READ = 10.0
#: ... but never so long that the conformance runner's stall detector (30 s without a completed
#: operation at quick) fires first and takes the other clauses of the check down with it
_READ_CAP = 20.0
#: the size of the values whose inserts are crashed: big enough to be written in several parts
#: (through a file's buffer), so a crash can fall between them
_BIG = 1 << 18
#: byte offsets at which a writer's file writes are cut (the writer dies inside a write)
_CUTS = (_BIG // 2,)


def point_budget(profile: str) -> int:
    from ._profiles import get_budget

    get_budget(profile)  # a bad name fails with the standard message
    return POINT_BUDGET[profile]


def value_of(caps: frozenset[str], tag: int, size: int) -> Any:
    payload = bytes([tag % 256]) * size
    return [tag, payload] if RICH_VALUES in caps else payload


def shown(x: Any) -> str:
    return repr(x) if isinstance(x, Raised) else show(x)


def data_files(storage: Path) -> list[Path]:
    """Regular files under ``storage`` that are not lock files, sorted."""
    out = []
    for p in storage.rglob("*"):
        if not p.is_file():
            continue
        if p.name.endswith(".lock") or any(part in ("locks", "lock") for part in p.parts):
            continue
        out.append(p)
    return sorted(out)


# -- jobs run in fresh children (``fn(target, chan, *args)``) --------------------------------
def _probe(target: Target, chan: Any, storage: str, ack: tuple[Any, Any], key: Any, val: Any
           ) -> tuple[int, list[int]]:
    """The points of an insert made right after another insert by a fresh instance."""
    s = target.open(Path(storage))
    s.insert(*ack)
    with Points() as pts:
        s.insert(key, val)
    return pts.count, pts.steps()


def _crash_writer(target: Target, chan: Any, storage: str, ack: tuple[Any, Any], key: Any,
                  val: Any, k: int | None, cut: int | None) -> Any:
    """Insert ``ack`` (report its result), then insert ``key`` and die: SIGKILLed at point k,
    or killed by SIGXFSZ by the write that goes past byte ``cut`` of a file (RLIMIT_FSIZE), a
    write cut in the middle, which no point between two lines can produce."""
    s = target.open(Path(storage))
    chan.send(("ack", attempt(lambda: s.insert(*ack))))
    if cut is not None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: restore the kill
        chan.send(("cut", cut))
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (cut, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return attempt(lambda: s.insert(key, val))  # it never wrote past the cut

    def crash(index: int, description: str) -> None:
        chan.send(("at", index, description))
        kill_self(index, description)

    with Points(stop_at=k, on_stop=crash):
        res = attempt(lambda: s.insert(key, val))
    return res  # the insert had fewer than k + 1 points: it completed


def _judge_crash(target: Target, chan: Any, storage: str, ack_key: Any, key: Any, small: Any
                 ) -> tuple[Any, Any, Any, Any]:
    """After a crash: get the acknowledged key and the crashed one, then recover the latter."""
    s = target.open(Path(storage))
    got_ack = attempt(lambda: s.get(ack_key))
    got = attempt(lambda: s.get(key))
    ins = attempt(lambda: s.insert(key, small))
    after = attempt(lambda: s.get(key))
    s.close()
    return got_ack, got, ins, after


def _opened_by_gets(target: Target, chan: Any, storage: str, keys: list[Any]
                    ) -> tuple[list[str], int, int]:
    """The files a fresh instance opens to get each key (the keys' entries), how many keys
    have an entry (get returns a value or raises), and how many of those opened no file."""
    s = target.open(Path(storage))
    opened: list[str] = []
    present = unseen = 0
    for key in keys:
        with Points() as pts:
            got = attempt(lambda: s.get(key))
        files = [p for p in pts.paths if not p.startswith("fd ")]
        opened += files
        if got is not None:
            present += 1
            unseen += not files
    s.close()
    return opened, present, unseen


# -- a writer killed at each point of its insert ---------------------------------------------
def run_kill_writer(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                    ) -> list[Violation]:
    """A writer process is SIGKILLed at each chosen point of an insert (256 KiB values), each
    on a fresh key; fresh processes then judge the key and recover it."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = new_dir(workdir, "kill")
    keys: list[Any] = ["probe-ack", "probe"]
    try:
        with Zygote(target) as z:
            count, steps = z.run(_probe, str(storage), ("probe-ack", value_of(caps, 1, 64)),
                                 "probe", value_of(caps, 2, _BIG))
            points = choose(count, point_budget(profile), prefer=steps)
            crashes = [(k, None) for k in points] + [(None, n) for n in _CUTS]
            for k, cut in crashes:
                name = f"crash-{k}" if cut is None else f"cut-{cut}"
                keys += [f"{name}-ack", name]
                if not _crash_at(v, z, caps, storage, name, (k, cut), count):
                    break
            if FILES in caps and v.on("CRASH-NO-STRAY-TEMP"):
                _judge_strays(v, z, storage, keys, len(crashes))
    except ChildError as err:
        v.add("CRASH-ATOMIC", f"the crash run could not go on: {err}",
              f"a fresh process drives {target.name!r} on one storage")
    return v.list()


def _crash_at(v: Violations, z: Zygote, caps: frozenset[str], storage: Path, key: str,
              crash: tuple[int | None, int | None], count: int) -> bool:
    """One crash (at point k, or a write cut at a byte) and its judgement; False if the run
    cannot go on."""
    k, cut = crash
    size, tag = _BIG, (k if k is not None else count + (cut or 0))
    ack_key = f"{key}-ack"
    ack_val, want, small = value_of(caps, 2 * tag, 64), value_of(caps, 2 * tag + 1, size), \
        value_of(caps, 7, 8)
    writer = z.start(_crash_writer, str(storage), (ack_key, ack_val), key, want, k, cut)
    at = f"point {k} of {count}" if cut is None else f"a write past byte {cut}"
    try:
        ack = writer.recv()[1]
        msg = writer.recv()
        if msg[0] == "cut":
            try:
                msg = writer.recv()
            except ChildError as err:
                if not err.died:
                    raise
    except ChildError as err:
        v.add("CRASH-ATOMIC", f"the writer process failed before its crash point: {err}",
              f"a fresh process inserts {ack_key!r} then {key!r} ({size}-byte value)")
        return False
    finally:
        writer.kill()  # returns once it is dead: no judge runs beside a dying writer
    if msg[0] == "at":
        at = f"{msg[2]} (point {k} of {count})"
        how = f"was SIGKILLed at {at}"
    elif msg[0] == "cut":
        at = f"the write that went past byte {cut} of a file (cut by RLIMIT_FSIZE)"
        how = f"was killed (SIGXFSZ) by {at}"
    elif cut is not None:
        how = f"was not killed: its insert never wrote past byte {cut} and returned " \
              f"{shown(msg[1])}"
    else:
        how = f"was not killed: its insert ended before point {k} and returned {shown(msg[1])}"
    story = (f"a fresh process inserted {ack_key!r} (-> {shown(ack)}), then began "
             f"insert({key!r}, {size}-byte value) and {how}; then another fresh process")
    try:
        got_ack, got, ins, after = z.run(_judge_crash, str(storage), ack_key, key, small)
    except ChildError as err:
        v.add("CRASH-RECOVER", f"the process judging the crash at {at} failed: {err}",
              f"{story} called get({ack_key!r}), get({key!r}), insert({key!r}, small), "
              f"get({key!r})")
        return True
    if ack is True:
        v.check("CRASH-DURABLE", strict_equal(got_ack, ack_val), lambda: (
            f"insert({ack_key!r}) returned True before the writer died at {at}, but get "
            f"returned {shown(got_ack)}"), f"{story} called get({ack_key!r})")
    v.check("CRASH-ATOMIC", got is None or strict_equal(got, want), lambda: (
        f"get of the key being inserted when the writer died at {at} returned {shown(got)} "
        "(expected None or the whole value)"), f"{story} called get({key!r})")
    ok = strict_equal(after, small) if ins is True else (ins is False and strict_equal(after, want))
    v.check("CRASH-RECOVER", ok, lambda: (
        f"after the writer died at {at}, insert({key!r}, small value) returned {shown(ins)} "
        f"and get returned {shown(after)}"),
        f"{story} called insert({key!r}, small value) then get({key!r})")
    return True


def _judge_strays(v: Violations, z: Zygote, storage: Path, keys: list[Any], kills: int) -> None:
    """CRASH-NO-STRAY-TEMP: every non-lock file is one a fresh instance opens to get a key."""
    try:
        found = z.run(_opened_by_gets, str(storage), keys)
    except ChildError as err:
        v.add("CRASH-NO-STRAY-TEMP", f"the process listing the entries failed: {err}", None)
        return
    opened, present, unseen = found
    entries = {Path(p).resolve() for p in opened}
    files = data_files(storage)
    story = (f"{kills} writer processes killed at chosen points of an insert, each key then "
             f"recovered by a fresh process; a fresh process gets each of the {len(keys)} keys "
             "and the files it opens are the entries")
    if unseen:  # its reads open no file we can see (a C library): count, cannot name
        v.check("CRASH-NO-STRAY-TEMP", len(files) <= present, lambda: (
            f"{len(files)} non-lock files but {present} keys with an entry after {kills} "
            f"killed writers (the reads open no file this check sees, so the strays cannot be "
            f"named): {', '.join(str(p.relative_to(storage)) for p in files)}"), story)
        return
    strays = [str(p.relative_to(storage)) for p in files if p.resolve() not in entries]
    v.check("CRASH-NO-STRAY-TEMP", not strays, lambda: (
        f"{len(strays)} of {len(files)} non-lock files are no key's entry after {kills} "
        f"writers were killed at chosen points of their inserts: {', '.join(strays)}"), story)


# -- a lock holder that dies ----------------------------------------------------------------
def _hold(target: Target, chan: Any, storage: str, keys: list[Any]) -> None:
    s = target.open(Path(storage))
    locks = [s.lock_for(key) for key in keys]  # referenced until death: a collected lock
    for lock in locks:                         # object may release itself
        lock.__enter__()
    chan.send("held")
    chan.recv()  # until SIGKILLed
    del locks


def _gets(target: Target, chan: Any, storage: str, keys: list[Any]) -> list[Any]:
    s = target.open(Path(storage))
    out = [attempt(lambda: s.get(key)) for key in keys]
    s.close()
    return out


def _inserts_and_gets(target: Target, chan: Any, storage: str, items: list[tuple[Any, Any]]
                      ) -> list[Any]:
    """insert then get each item, in order: [insert result, get result, ...]."""
    s = target.open(Path(storage))
    out: list[Any] = []
    for key, val in items:
        out.append(attempt(lambda: s.insert(key, val)))
        out.append(attempt(lambda: s.get(key)))
    s.close()
    return out


def run_lock_holder(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                    ) -> list[Violation]:
    """A process takes the locks of two keys and is SIGKILLed; reads never wait for it, and
    writes go through after its death without waiting on it (fresh processes throughout)."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = str(new_dir(workdir, "lock"))
    present, absent = "lock-present", "lock-absent"
    vp, va = value_of(caps, 1, 64), value_of(caps, 2, 64)
    story = (f"a process inserts {present!r}; another enters lock_for({present!r}) and "
             f"lock_for({absent!r})")
    try:
        with Zygote(target) as z:
            first = z.run(_inserts_and_gets, storage, [(present, vp)])
            if first[0] is not True:
                v.add("CRASH-LOCK-RELEASED", f"insert({present!r}) into an empty storage "
                      f"returned {shown(first[0])}", story)
                return v.list()
            holder = z.start(_hold, storage, [present, absent])
            try:
                if holder.recv() != "held":
                    raise ChildError("the lock holder did not say it held the locks")
            except ChildError as err:
                v.add("CRASH-LOCK-RELEASED", f"the lock-holder process could not take the "
                      f"locks: {err}", story)
                return v.list()
            _judge_reads(v, z, storage, story, [(present, vp), (absent, None)])
            holder.kill()  # waits for its death
            story += " and is SIGKILLed; then a fresh process"
            text = f"{story} calls insert({absent!r}), get, insert({present!r}), get"
            try:
                res = z.run(_inserts_and_gets, storage, [(absent, va), (present, va)])
            except ChildError as err:
                v.add("CRASH-LOCK-RELEASED", f"after the lock holder died: {err}", text)
                return v.list()
    except ChildError as err:
        v.add("CRASH-LOCK-RELEASED", f"the lock-holder run could not go on: {err}", story)
        return v.list()
    ok = res[0] is True and strict_equal(res[1], va) and res[2] is False and \
        strict_equal(res[3], vp)
    v.check("CRASH-LOCK-RELEASED", ok, lambda: "after the lock holder died: "
            + ", ".join(shown(x) for x in res), text)
    return v.list()


def _judge_reads(v: Violations, z: Zygote, storage: str, story: str,
                 want: list[tuple[Any, Any]]) -> None:
    """SAFE-LOCK-FREE-READS: a fresh process gets the locked keys while the holder lives."""
    limit = min(scaled_wait(_READ), _READ_CAP)
    text = f"{story}; a fresh process gets {[k for k, _ in want]} while it holds them"
    try:
        got = z.run(_gets, storage, [k for k, _ in want], timeout=limit)
    except ChildError as err:
        v.add("SAFE-LOCK-FREE-READS", "get of a key whose lock another (live, idle) process "
              f"holds did not return: {err}", text)
        return
    for (key, val), res in zip(want, got):
        v.check("SAFE-LOCK-FREE-READS", strict_equal(res, val), lambda: (
            f"get({key!r}) while another process holds its lock returned {shown(res)}"), text)
