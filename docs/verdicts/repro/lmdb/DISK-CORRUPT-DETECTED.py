"""A byte flipped inside a stored value is returned as the value: LMDB keeps no checksum of
its pages or values (by design: it trusts the file system and the hardware), so a damaged
payload reads back as different bytes with no error. Here one byte in the middle of a 2 KiB
value is flipped in ``data.mdb``. This is the spec's SHOULD (detect corruption), not something
LMDB promises; a cache of compiled artefacts on LMDB would hand out the corrupted bytes.
"""
import os
import tempfile

import lmdb

VALUE = b"\x04" * 2048
with tempfile.TemporaryDirectory() as tmp:
    env = lmdb.open(tmp, map_size=1 << 30)
    with env.begin(write=True) as txn:
        txn.put(b"key", VALUE, overwrite=False)
    env.close()
    path = os.path.join(tmp, "data.mdb")
    data = open(path, "rb").read()
    at = data.find(VALUE) + 1024
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(bytes([data[at] ^ 0x41]))
    env = lmdb.open(tmp, map_size=1 << 30)
    with env.begin() as txn:
        got = txn.get(b"key")
    env.close()
    print("get(b'key') == stored value:", got == VALUE, "| bytes that differ:",
          sum(a != b for a, b in zip(got, VALUE)))
    if got != VALUE:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
