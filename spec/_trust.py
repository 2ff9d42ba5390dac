"""Storage another user can write: a cache must refuse it, not use it.

On a shared machine any local user can create a cache's directory first, or find it
world-writable, and plant entries there. A checksum guards against damage, not forgery, so the
only safe answer is to refuse storage the current user does not own alone. The check writes an
entry through a trusted instance, then hands the whole storage to another uid with mode 0o777
(as an attacker who planted it would leave it) and opens a fresh instance on it: its get and
insert must raise the target's CacheError. A directory that holds no file after the insert
(a cache that keeps its entries on a server) proves the clause cannot apply (n/a, with the
reason): nothing in it could have been planted, so a fresh instance reading the entry proves
nothing.

Building such storage needs ``chown``, i.e. root: the clause needs the harness capability
``privileged`` and is ``n/a`` without it (never a pass).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._compare import show
from ._damage import storage_files
from ._harness import (
    Hung, Violation, Violations, error_name, inapplicable, new_dir, outcome,
)
from ._subject import RICH_VALUES, Target

#: the uid/gid that "another user" owns the storage as (nobody on most systems)
FOREIGN_ID = 65534
CLAUSE = "SAFE-PRIVATE-STORAGE"


def hand_over(storage: Path, uid: int = FOREIGN_ID, mode: int = 0o777) -> None:
    """Give ``storage`` and everything under it to ``uid``, directories world-writable."""
    for root, dirs, files in os.walk(storage):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            os.lchown(path, uid, uid)
            if not os.path.islink(path) and os.path.isdir(path):
                os.chmod(path, mode)
    os.chown(storage, uid, uid)
    os.chmod(storage, mode)


def run_trust(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
              ) -> list[Violation]:
    """An entry is written, the storage handed to another user and made world-writable; a
    fresh instance must refuse to read or write it."""
    v = Violations(clauses)
    key = "trust-planted"
    value: Any = ["planted", b"x" * 64] if RICH_VALUES in target.capabilities else b"planted"
    storage = new_dir(workdir, "foreign")
    writer = target.open(storage)
    if writer.insert(key, value) is not True:
        return v.list()  # nothing planted: CORE- clauses say why; this one stays undecided
    writer.close()
    if not storage_files(storage):
        # the entry lives elsewhere (a server): nothing another user could plant is in the
        # directory, so handing it over tests nothing and a read of the entry proves no forgery
        inapplicable(CLAUSE, "the storage directory held no file after an acknowledged "
                     "insert: the target keeps its entries elsewhere (a server), so another "
                     "user could plant nothing in it")
        return v.list()
    hand_over(storage)
    story = (f"insert({key!r}) through one instance; then chown -R {FOREIGN_ID} and chmod 0o777 "
             f"on the storage (another user's, writable by all); a fresh instance calls")
    fresh = outcome(lambda: target.open(storage))
    if isinstance(fresh, target.error_type):
        v.check(CLAUSE, True, "", "")  # refused at open: the safest answer
        return v.list()
    if isinstance(fresh, BaseException):
        v.add(CLAUSE, f"opening the storage raised {error_name(fresh)}, not CacheError",
              f"{story} open")
        return v.list()
    for call, fn in ((f"get({key!r})", lambda: fresh.get(key)),
                     ("insert('trust-new', ...)", lambda: fresh.insert("trust-new", value))):
        res = outcome(fn)
        if isinstance(res, Hung):
            v.add(CLAUSE, f"{call} {res}", f"{story} {call}")
            continue
        v.check(CLAUSE, isinstance(res, target.error_type), lambda: (
            f"{call} raised {error_name(res)}, not CacheError" if isinstance(res, BaseException)
            else f"{call} returned {show(res)}: the cache used storage that uid {FOREIGN_ID} "
                 "owns and every user can write (a planted entry is read as genuine)"),
            f"{story} {call}")
    fresh.close()
    return v.list()


__all__ = ["FOREIGN_ID", "hand_over", "run_trust"]
