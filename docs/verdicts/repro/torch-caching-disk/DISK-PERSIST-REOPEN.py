"""The empty-value bug of _OnDiskCacheImpl.get (`if not pickled_value:` instead of `is None`)
seen across instances: an entry with value b"" written through one instance is reported absent
by a second instance on the same directory, which also deletes it, so the second instance can
insert the key again. Same root cause and impact as CORE-GET-INSERTED: empty payloads are
silently lost and the write-once guarantee breaks for them; torch's own interface never stores
empty values.
"""
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

# an absolute sub_dir replaces the default <cache dir>/cache/ prefix
with tempfile.TemporaryDirectory() as tmp:
    writer, reader = _OnDiskCacheImpl(tmp), _OnDiskCacheImpl(tmp)
    print("writer.insert('0', b'') ->", writer.insert("0", b""))
    got = reader.get("0")
    print("reader.get('0') ->", got)
    print("reader.insert('0', b'again') ->", reader.insert("0", b"again"))
    if got is None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
