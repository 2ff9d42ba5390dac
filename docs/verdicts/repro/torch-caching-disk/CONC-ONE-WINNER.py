"""_OnDiskCacheImpl.insert creates the file with open(path, "xb"), but a racing insert that gets
FileExistsError reads the header of a file whose writer has not written it yet, takes the empty
file for a stale entry, unlinks it and writes its own: both inserts return True. Here the first
insert is paused right after creating its file (a trace function, the way a thread switch or a
slow disk would stop it) while a second insert of the key runs. The backend's docstring leaves
locking to "the interface that uses it", yet torch's interface (runtime/caching/interfaces.py)
calls insert without impl.lock(), so this is the behaviour torch ships. Two writers both
believing they won is harmless when they store the same bytes, but the write-once guarantee is
gone: the first writer's value went into an unlinked file (see CONC-READ-WINNER).
"""
import inspect
import sys
import tempfile
import threading

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

lines, first = inspect.getsourcelines(_OnDiskCacheImpl.insert)
HEADER = first + next(i for i, l in enumerate(lines) if "self._write_version_header(w_fp)" in l)
created, resume, results = threading.Event(), threading.Event(), {}


def tracer(frame, event, arg):
    if frame.f_code is _OnDiskCacheImpl.insert.__code__ and event == "line" \
            and frame.f_lineno == HEADER and not created.is_set():
        created.set()  # the file exists, still empty; pause before writing it
        resume.wait()
    return tracer


def first_insert(impl: _OnDiskCacheImpl) -> None:
    sys.settrace(tracer)
    results["first"] = impl.insert("key", b"first")
    sys.settrace(None)


with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    t = threading.Thread(target=first_insert, args=(impl,))
    t.start()
    created.wait()
    results["second"] = impl.insert("key", b"second")
    resume.set()
    t.join()
    print("insert results:", results, "| get:", impl.get("key"))
    if list(results.values()).count(True) > 1:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
