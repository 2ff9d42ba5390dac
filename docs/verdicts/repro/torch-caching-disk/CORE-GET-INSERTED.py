"""_OnDiskCacheImpl.get tests `if not pickled_value:` where it means "the version header did not
match" (pickled_value is None). An entry whose value is b"" (a legal bytes value) passes the
header check but is falsy, so get treats it as stale: it deletes the entry and returns None.
insert(key, b"") returns True, get returns None, and the next insert returns True again: the
write-once contract breaks for empty values. torch's interface stores pickles, which are never
empty, so torch itself does not hit it; any other user storing empty payloads (an empty
artifact, an empty log) loses them silently. The fix is `if pickled_value is None:`.
"""
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

# an absolute sub_dir replaces the default <cache dir>/cache/ prefix
with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    print("insert('k', b'') ->", impl.insert("k", b""))
    got = impl.get("k")
    print("get('k') ->", got)
    print("insert('k', b'other') ->", impl.insert("k", b"other"))
    if got is None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
