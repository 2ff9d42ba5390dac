"""_OnDiskCacheImpl stores the entry at cache_dir / key, so the empty string (a valid str key by
its docstring) names the cache directory itself: insert('', value) raises IsADirectoryError
instead of storing the value and returning True. The same happens for "." and for keys ending
in "/"; over-long keys raise OSError. torch's own caller only passes sha256 hex digests, so the
impact is limited to direct users of the backend, who get an exception from a plain insert.
"""
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

# an absolute sub_dir replaces the default <cache dir>/cache/ prefix
with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    try:
        print("insert('', b'value') ->", impl.insert("", b"value"))
        raise SystemExit(1)
    except OSError as err:
        print(f"insert('', b'value') raised {type(err).__name__}: {err.strerror}")
        print("DEVIATION REPRODUCED")
