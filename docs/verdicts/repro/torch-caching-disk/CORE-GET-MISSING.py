"""_OnDiskCacheImpl uses the key itself as the entry's file name (cache_dir / key). Its docstring
accepts any str key ("must be str"), but a key longer than the file system's name limit (255
bytes on ext4) makes get raise OSError (File name too long) instead of returning None for an
absent key; keys holding "/" or ".." address paths outside the cache directory. torch's only
caller (runtime/caching/interfaces.py) passes 32-character sha256 hex digests, so torch itself
never hits this; a direct user of the backend with natural-language or structured keys does.
Hashing the key into the file name (as torch's older OnDiskCache does) removes the problem.
"""
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

# an absolute sub_dir replaces the default <cache dir>/cache/ prefix
with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    key = "a" * 300
    try:
        print("get('a' * 300) ->", impl.get(key))
        raise SystemExit(1)
    except OSError as err:
        print(f"get('a' * 300) raised {type(err).__name__}: [Errno {err.errno}] {err.strerror}")
        print("DEVIATION REPRODUCED")
