"""A writer for the crash tests: inserts large values into an OnDiskCache until it is killed.

Usage: ``python _crashwriter.py BASE_DIR MODE NKEYS SIZE SEED [once]``. MODE is ``tmpfile`` (the
normal O_TMPFILE path) or ``named`` (the named-temporary fallback). It prints ``go`` once set up,
so the test can kill it at a random instant after that; with ``once`` it inserts every key one
time and exits instead of looping. Values are made by :func:`expected_value`, so a reader can
check that what it gets is complete.
"""

from __future__ import annotations

import hashlib
import random
import sys


def expected_value(index: int, size: int) -> dict[str, object]:
    """The only value ever inserted under key ``("crash", index)``."""
    unit = hashlib.sha256(f"crash-{index}".encode()).digest()
    blob = unit * (size // len(unit) + 1)
    return {"index": index, "blob": blob[:size], "tail": ("end", index)}


def main(argv: list[str]) -> int:
    base_dir, mode, nkeys, size, seed = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    once = len(argv) > 6 and argv[6] == "once"
    from cachespec.reference import OnDiskCache
    from cachespec.reference._disk import _Staged

    if mode == "named":
        _Staged.tmpfile_works = False
    cache = OnDiskCache()
    cache.base_dir = base_dir
    rng = random.Random(seed)
    values = {i: expected_value(i, size) for i in range(nkeys)}  # built before "go": kills land in inserts
    print("go", flush=True)
    if once:
        for i in range(nkeys):
            cache.insert(("crash", i), values[i])
        return 0
    while True:
        i = rng.randrange(nkeys)
        cache.insert(("crash", i), values[i])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
