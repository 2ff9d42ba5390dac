"""The insert race of _OnDiskCacheImpl across processes also breaks reads: a process whose get
runs while another process's insert has created the entry file but not yet written it takes
the empty file for a stale entry and unlinks it. The writer then fills the unlinked file and
its insert returns True, yet from then on every process, the writer included, reads None.
Process A here pauses right after creating its file (it traces itself, the way a descheduled
worker would stop there) while this process gets the key. torch's interface calls insert and
get without the directory lock, so compile workers sharing the disk cache can lose an entry
that was reported inserted, and have to compile it again.
"""
import subprocess
import sys
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

WRITER_A = """
import inspect, sys
from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl
lines, first = inspect.getsourcelines(_OnDiskCacheImpl.insert)
HEADER = first + next(i for i, l in enumerate(lines) if "self._write_version_header(w_fp)" in l)
def tracer(frame, event, arg):
    if (frame.f_code is _OnDiskCacheImpl.insert.__code__ and event == "line"
            and frame.f_lineno == HEADER):
        print("created", flush=True)  # the file exists, still empty
        sys.stdin.readline()  # pause until told to go on
    return tracer
impl = _OnDiskCacheImpl(sys.argv[1])
sys.settrace(tracer)
inserted = impl.insert("key", b"A")
sys.settrace(None)
print(inserted, impl.get("key"), flush=True)
"""

with tempfile.TemporaryDirectory() as tmp:
    a = subprocess.Popen([sys.executable, "-c", WRITER_A, tmp], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "created"
    during = _OnDiskCacheImpl(tmp).get("key")
    a_says = a.communicate("go\n", timeout=120)[0].strip()
    after = _OnDiskCacheImpl(tmp).get("key")
    print(f"get during A's insert: {during} | A: insert, get -> {a_says} | get after: {after}")
    if a_says == "True None" and after is None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
