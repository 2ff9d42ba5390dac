"""_OnDiskCacheImpl stores the raw value bytes after a 4-byte version header, with no length or
checksum, so any corruption of the payload (a flipped byte, a truncated file) comes back from get
as a Hit with the wrong bytes. torch's interface then unpickles them: with luck that raises,
otherwise the caller silently receives a different cached result. This deviates from
cachespec's SHOULD-level corruption detection; a user hits it after disk, network file system or
copy corruption of a shared cache directory.
The checker's own example above (an empty or header-damaged entry file read as None) is
torch's documented stale-entry handling: the file is deleted and the key can be inserted
again. We count that part as a false positive of the clause (reported to the spec owners);
the verdict stands because of the flipped payload byte shown here.
"""
import tempfile
from pathlib import Path

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

# an absolute sub_dir replaces the default <cache dir>/cache/ prefix
with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    value = bytes(range(16)) * 4
    impl.insert("k", value)
    entry = Path(tmp) / "k"
    data = bytearray(entry.read_bytes())
    data[20] ^= 0xFF  # flip one payload byte
    entry.write_bytes(bytes(data))
    hit = impl.get("k")
    print("get returned a Hit:", hit is not None)
    print("value unchanged:", hit is not None and hit.value == value)
    if hit is not None and hit.value != value:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
