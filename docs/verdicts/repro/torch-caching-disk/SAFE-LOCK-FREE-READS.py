"""FALSE POSITIVE (reported to the spec/adapter owners; see docs/verdicts/README.md). The
cachespec adapter for _OnDiskCacheImpl wraps every call, get included, in impl.lock() (the
directory's file lock), and it is that adapter lock which blocks the read while another process
holds it: _OnDiskCacheImpl.get itself takes no lock, and torch's only caller
(runtime/caching/interfaces.py) calls _disk_cache.get and .insert without taking impl.lock().
The snippet shows both: a bare get returns at once, a get under impl.lock() (what the adapter
does) waits for the holder. The adapter should take the lock around insert only.
"""
import subprocess
import sys
import tempfile
import threading

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

HOLDER = """
import sys, time
from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl
with _OnDiskCacheImpl(sys.argv[1]).lock():
    print("holding", flush=True)
    time.sleep(5)
"""


def returns_within(seconds, fn):
    th = threading.Thread(target=fn, daemon=True)
    th.start()
    th.join(seconds)
    return not th.is_alive()


with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    impl.insert("k", b"value")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, tmp], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    bare = returns_within(2.0, lambda: impl.get("k"))

    def locked_get():
        with impl.lock():
            impl.get("k")

    locked = returns_within(2.0, locked_get)
    holder.wait(30)
    print("bare get returned within 2 s:", bare)
    print("get under impl.lock() (as the adapter does) returned within 2 s:", locked)
    if not locked:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
