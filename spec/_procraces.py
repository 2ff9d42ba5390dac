"""Insert races between processes, scheduled rather than hoped for.

For each chosen point *k* of an insert: racer A (a fresh child of a :class:`Zygote`) traces its
insert of a fresh key and pauses at point *k*; racer B (another fresh child) runs its whole
insert of the same key; then A resumes. An unlocked check-then-write is caught whenever *k*
falls between A's check and its write, in every run. Afterwards both racers and a third fresh
process read the key: exactly one insert returned True, and everyone reads the winner's value.
A second schedule per point has a fresh process *get* the key while A is paused: that read
returns None or A's whole value, and A's value is what everyone reads afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._subject import RICH_VALUES, Target

from ._children import ChildError, Raised, Zygote, attempt, scaled_wait
from ._compare import strict_equal
from ._crashes import point_budget
from ._harness import Violation, Violations, new_dir
from ._points import Points, choose

#: base seconds racer B may stay silent while A is paused before B counts as waiting for A (a
#: lock A holds) where /proc cannot tell that B sleeps; A is then resumed. This only shapes
#: the schedule, never a verdict.
_BLOCKED = 3.0
_SIZES = (64, 1 << 18)  #: value sizes, alternating by round: small, and big enough to tear
_NAMES = ("A", "B", "a fresh process")


def value_for(caps: frozenset[str], writer: int, size: int) -> Any:
    payload = bytes([writer % 256]) * size
    return [writer, payload] if RICH_VALUES in caps else payload


def writer_of(caps: frozenset[str], got: Any, size: int) -> Any:
    """Whose value ``got`` is: "A", "B", None (absent), or what it is when it is neither."""
    if got is None or isinstance(got, Raised):
        return got
    for w, name in enumerate(_NAMES[:2]):
        if strict_equal(got, value_for(caps, w, size)):
            return name
    return "a value of neither racer"


# -- jobs run in fresh children ----------------------------------------------------------------
def _probe(target: Target, chan: Any, storage: str, warm: str, key: str, val: Any
           ) -> tuple[int, list[int]]:
    s = target.open(Path(storage))
    s.insert(warm, val)
    with Points() as pts:
        s.insert(key, val)
    return pts.count, pts.steps()


def _racer(target: Target, chan: Any, storage: str, warm: str, key: str, w: int, size: int,
           pause_at: int | None) -> Any:
    """Insert ``key`` (pausing at point ``pause_at`` until told to go on), report the result,
    then on request get the key and return whose value it is."""
    caps = frozenset(target.capabilities)
    s = target.open(Path(storage))
    s.insert(warm, value_for(caps, w, 8))  # the same steady state as the probe

    def pause(index: int, description: str) -> None:
        chan.send(("paused", index, description))
        chan.recv()

    val = value_for(caps, w, size)
    if pause_at is None:
        res = attempt(lambda: s.insert(key, val))
    else:
        with Points(stop_at=pause_at, on_stop=pause):
            res = attempt(lambda: s.insert(key, val))
    chan.send(("inserted", res))
    chan.recv()
    return writer_of(caps, attempt(lambda: s.get(key)), size)


def _reader(target: Target, chan: Any, storage: str, key: str, size: int) -> Any:
    caps = frozenset(target.capabilities)
    s = target.open(Path(storage))
    return writer_of(caps, attempt(lambda: s.get(key)), size)


# -- the check ---------------------------------------------------------------------------------
def run_processes(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                  ) -> list[Violation]:
    """Two processes race to insert one key: A paused at each chosen point of its insert while
    B inserts; then all read the key (each round a fresh key, fresh processes)."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = str(new_dir(workdir, "procs"))
    try:
        with Zygote(target) as z:
            count, steps = z.run(_probe, storage, "probe-warm", "probe",
                                 value_for(caps, 0, _SIZES[1]))
            for n, k in enumerate(choose(count, point_budget(profile), prefer=steps)):
                size = _SIZES[n % 2]
                if not (_race_at(v, z, storage, k, count, size)
                        and _read_at(v, z, storage, k, count, size)):
                    break
    except ChildError as err:
        v.add("CONC-PROC-ONE-WINNER", f"the race could not go on: {err}",
              f"fresh processes drive {target.name!r} on one storage")
    return v.list()


def _race_at(v: Violations, z: Zygote, storage: str, k: int, count: int, size: int) -> bool:
    key = f"race-{k}"
    header = f"processes A and B insert {key!r} with their own {size}-byte values"
    a = z.start(_racer, storage, f"warm-{k}-A", key, 0, size, k)
    b = None
    try:
        first = a.recv()
        if first[0] == "paused":
            at = f"{first[2]} (point {k} of {count})"
            b = z.start(_racer, storage, f"warm-{k}-B", key, 1, size, None)
            if not b.waits(scaled_wait(_BLOCKED)):
                rb = b.recv()[1]
                story = f"A paused at {at}; B ran insert -> {_show(rb)}; A resumed"
            else:  # B waits for something A holds (a lock): let A go on first
                story = f"A paused at {at}; B began its insert and waited; A resumed"
                rb = None
            a.send("go")
            ra = a.recv()[1]
            if rb is None:
                rb = b.recv()[1]
        else:  # A's insert had fewer points than k: it ran whole, then B
            ra = first[1]
            b = z.start(_racer, storage, f"warm-{k}-B", key, 1, size, None)
            rb = b.recv()[1]
            story = f"A's insert had fewer than {k + 1} points and ran whole; then B's"
        a.send("read")
        b.send("read")
        reads = [a.result(), b.result(), z.run(_reader, storage, key, size)]
    except ChildError as err:
        v.add("CONC-PROC-ONE-WINNER", f"a racing process failed: {err}",
              f"{header}; A paused at point {k} of {count}")
        return False
    finally:
        a.kill()
        if b is not None:
            b.kill()
    text = (f"{header}: {story}\n  insert results: A -> {_show(ra)}, B -> {_show(rb)}\n"
            f"  then A, B and a fresh process get({key!r}) -> "
            + ", ".join(_show(r) for r in reads) + " (whose value)")
    wins = [name for name, res in zip(_NAMES, (ra, rb)) if res is True]
    v.check("CONC-PROC-ONE-WINNER", len(wins) == 1, lambda: (
        f"{len(wins)} of 2 processes' inserts of {key} returned True "
        f"(A -> {_show(ra)}, B -> {_show(rb)})"), text)
    if wins:  # judged in a round with several winners too
        v.check("CONC-PROC-READ-WINNER", len(set(map(repr, reads))) == 1 and reads[0] in wins,
                lambda: f"the winner{'s were' if len(wins) > 1 else ' was'} "
                f"{' and '.join(wins)}, but A, B and a fresh process read "
                + ", ".join(_show(r) for r in reads), text)
    return True


def _read_at(v: Violations, z: Zygote, storage: str, k: int, count: int, size: int) -> bool:
    """A pauses at point k of its insert while a fresh process gets the key; A resumes. A get
    during an insert returns None or the whole value, and never undoes the insert."""
    key = f"read-{k}"
    header = f"process A inserts {key!r} with a {size}-byte value"
    a = z.start(_racer, storage, f"warm-{k}-R", key, 0, size, k)
    try:
        first = a.recv()
        c = z.start(_reader, storage, key, size)
        if first[0] == "paused":
            at = f"A paused at {first[2]} (point {k} of {count})"
            if c.waits(scaled_wait(_BLOCKED)):  # the get waits for A (a lock): let A go on
                a.send("go")
                ra = a.recv()[1]
                mid = c.result()
                story = f"{at}; a fresh process began get({key!r}) and waited; A resumed; " \
                        f"the get returned {_show(mid)}"
            else:
                mid = c.result()
                a.send("go")
                ra = a.recv()[1]
                story = f"{at}; a fresh process got {key!r} -> {_show(mid)}; A resumed"
        else:
            ra, mid = first[1], c.result()
            story = f"A's insert ran whole (fewer than {k + 1} points); a fresh process got " \
                    f"{key!r} -> {_show(mid)}"
        c.kill()
        a.send("read")
        reads = [a.result(), z.run(_reader, storage, key, size)]
    except ChildError as err:
        v.add("CONC-PROC-READ-WINNER", f"a process of the read race failed: {err}",
              f"{header}; A paused at point {k} of {count}")
        return False
    finally:
        a.kill()
    if ra is not True:
        return True  # a lone insert of a fresh key that fails is not a race: CORE's business
    text = (f"{header}: {story}\n  insert result: A -> True\n  then A and a fresh process "
            f"get({key!r}) -> " + ", ".join(_show(r) for r in reads) + " (whose value)")
    v.check("CONC-PROC-READ-WINNER", mid in (None, "A") and all(r == "A" for r in reads),
            lambda: f"A's insert returned True, but a get during it returned {_show(mid)} and "
            "A and a fresh process then read " + ", ".join(_show(r) for r in reads), text)
    return True


def _show(x: Any) -> str:
    return repr(x) if isinstance(x, Raised) or not isinstance(x, str) else x


__all__ = ["run_processes"]
