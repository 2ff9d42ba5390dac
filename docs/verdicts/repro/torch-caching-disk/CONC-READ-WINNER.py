"""A get of _OnDiskCacheImpl that runs during an insert race can destroy the winner's entry:
while the insert is between creating its file (open(path, "xb")) and writing the version
header, get finds an empty file, takes it for a stale entry, unlinks it and returns None. The
writer then fills the unlinked file and its insert returns True, yet after the race get returns
None instead of the winner's value. Here the insert is paused right after creating the file (a
trace function, the way a thread switch or a slow disk would stop it). torch's interface calls
get and insert without impl.lock(), so a thread that reads the disk cache while another
populates it can make a freshly inserted entry vanish (see also CONC-NO-STALE-READ).
"""
import inspect
import sys
import tempfile
import threading

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

lines, first = inspect.getsourcelines(_OnDiskCacheImpl.insert)
HEADER = first + next(i for i, l in enumerate(lines) if "self._write_version_header(w_fp)" in l)
created, resume, result = threading.Event(), threading.Event(), []


def tracer(frame, event, arg):
    if frame.f_code is _OnDiskCacheImpl.insert.__code__ and event == "line" \
            and frame.f_lineno == HEADER:
        created.set()  # the file exists, still empty; pause before writing it
        resume.wait()
    return tracer


def writer(impl: _OnDiskCacheImpl) -> None:
    sys.settrace(tracer)
    result.append(impl.insert("key", b"value"))
    sys.settrace(None)


with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    t = threading.Thread(target=writer, args=(impl,))
    t.start()
    created.wait()
    during = impl.get("key")
    resume.set()
    t.join()
    after = impl.get("key")
    print("get during the insert:", during, "| insert returned:", result, "| get after:", after)
    if result == [True] and after is None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
