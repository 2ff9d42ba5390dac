"""The same falsy-value test as CORE-GET-INSERTED, seen through a reopen: an entry whose value is
b"" (a legal bytes value) is written and acknowledged, but a second _OnDiskCacheImpl on the same
directory (another process, or the same program after a restart) reads it as stale, deletes it
and returns None. A restarted job loses every empty payload it cached and recomputes it; nothing
reports the loss. The fix is the same one-line change in get: `if pickled_value is None:`.
"""
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

# an absolute sub_dir replaces the default <cache dir>/cache/ prefix
with tempfile.TemporaryDirectory() as tmp:
    print("insert(' ', b'') ->", _OnDiskCacheImpl(tmp).insert(" ", b""))
    got = _OnDiskCacheImpl(tmp).get(" ")  # a second instance on the same directory
    print("reopened: get(' ') ->", got)
    if got is None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
