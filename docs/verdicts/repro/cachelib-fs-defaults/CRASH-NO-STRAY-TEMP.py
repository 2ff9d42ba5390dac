"""A writer killed inside FileSystemCache.set, after mkstemp created its tmp*.__wz_cache file and
before os.replace, leaves that file for good: cachelib never removes temporaries it did not
finish (its listing, its count and clear() all skip *.__wz_cache names). Here writer A pauses
right after creating its temporary (it traces itself) and is killed with SIGKILL; the key is
then added by this process and the cache cleared, and the temporary is still there. Every
killed worker (an OOM kill, a timeout) leaves one more file of up to its value's size.
Reported upstream: docs/upstream/cachelib.md, section 5.
"""
import os
import signal
import subprocess
import sys
import tempfile

from cachelib import FileSystemCache

WRITER_A = """
import inspect, sys
from cachelib import FileSystemCache
lines, first = inspect.getsourcelines(FileSystemCache.set)
WRITE = first + next(i for i, l in enumerate(lines) if "os.fdopen(fd" in l)
def tracer(frame, event, arg):
    if frame.f_code is FileSystemCache.set.__code__ and event == "line" and frame.f_lineno == WRITE:
        print("created", flush=True)  # the temporary exists; wait to be killed
        sys.stdin.readline()
    return tracer
cache = FileSystemCache(sys.argv[1])
sys.settrace(tracer)
cache.add("key", b"A" * 4096)
"""

with tempfile.TemporaryDirectory() as tmp:
    a = subprocess.Popen([sys.executable, "-c", WRITER_A, tmp], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "created"
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=120)
    cache = FileSystemCache(tmp)
    print("after the kill: add ->", cache.add("key", b"B"), "; clear ->", cache.clear())
    left = sorted(os.listdir(tmp))
    print("files left:", left)
    if any(name.endswith(".__wz_cache") for name in left):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
