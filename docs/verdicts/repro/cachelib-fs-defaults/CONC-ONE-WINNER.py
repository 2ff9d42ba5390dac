"""FileSystemCache.add is check-then-replace: it tests os.path.exists(file) and then calls set,
which writes a temporary file and os.replace()s it over the entry. Two adds of one key that both
pass the test both return True, and the later replace overwrites the earlier value, although
cachelib documents add as "works like set but does not overwrite existing keys". Here the first
add is paused right after its existence test (a trace function, the way a thread switch would
stop it) while a second add of the key runs in this thread. Both writers believe they stored
their value; the second one's value is then silently replaced by the first.
Reported upstream: docs/upstream/cachelib.md, section 1.
"""
import inspect
import sys
import tempfile
import threading

from cachelib import FileSystemCache

lines, first = inspect.getsourcelines(FileSystemCache.add)
SET = first + next(i for i, l in enumerate(lines) if "return self.set(" in l)
checked, resume, results = threading.Event(), threading.Event(), {}


def tracer(frame, event, arg):
    if frame.f_code is FileSystemCache.add.__code__ and event == "line" \
            and frame.f_lineno == SET and not checked.is_set():
        checked.set()  # the key was found absent; pause before writing it
        resume.wait()
    return tracer


def first_add(cache: FileSystemCache) -> None:
    sys.settrace(tracer)
    results["first"] = cache.add("key", "first")
    sys.settrace(None)


with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)
    t = threading.Thread(target=first_add, args=(cache,))
    t.start()
    checked.wait()
    results["second"] = cache.add("key", "second")
    resume.set()
    t.join()
    print("add results:", results, "| get:", cache.get("key"))
    if list(results.values()).count(True) > 1:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
