"""The insert race of _OnDiskCacheImpl (see CONC-ONE-WINNER) across processes, which is how
torch's compile workers share the disk cache: a process that finds the file already created but
not yet written takes it for a stale entry, unlinks it and writes its own, so both processes
get True for one key. Process A here pauses right after creating its file (it traces itself,
the way a descheduled worker would stop there); this process then inserts the key, and A
resumes. The file lock that would prevent it (impl.lock()) is not taken by torch's interface.
Compile workers racing on the same kernel each believe they populated the cache.
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
print(impl.insert("key", b"A"), flush=True)
"""

with tempfile.TemporaryDirectory() as tmp:
    a = subprocess.Popen([sys.executable, "-c", WRITER_A, tmp], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "created"
    b_result = _OnDiskCacheImpl(tmp).insert("key", b"B")
    a_result = a.communicate("go\n", timeout=120)[0].strip()
    print(f"insert results: A -> {a_result}, B -> {b_result}")
    if a_result == "True" and b_result is True:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
