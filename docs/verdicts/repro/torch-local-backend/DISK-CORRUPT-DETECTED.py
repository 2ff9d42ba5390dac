"""By design of a raw bytes backend, not a bug of it. LocalCacheBackend stores exactly the bytes
it is given, with no length or checksum, and get returns whatever the file holds: a flipped byte
or a truncated file comes back as a wrong value. Integrity is left to the layer above: torch's
LocalCache decodes the bytes as JSON and ignores entries that do not decode, which catches a
truncated document but not a flipped digit or letter inside one (a different autotuning config
is then used silently). A user of the backend who needs corruption detection adds a checksum.
"""
import os
import tempfile

from torch._inductor.remote_cache import LocalCacheBackend

with tempfile.TemporaryDirectory() as tmp:
    backend = LocalCacheBackend()
    path = os.path.join(tmp, "ab", "abcd.best_config")
    value = b'{"XBLOCK": 128, "num_warps": 4}'
    backend.put(path, value)
    data = bytearray(open(path, "rb").read())
    data[11] ^= 0x04  # one flipped bit: '1' becomes '5'
    with open(path, "wb") as f:
        f.write(data)
    got = backend.get(path)
    print("put", value, "| get after one flipped bit ->", got)
    if got is not None and got != value:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
