"""The add race of FileSystemCache (see CONC-ONE-WINNER) seen by a reader: the second add wins
and get returns its value, then the first add, paused between its existence test and its write,
resumes and os.replace()s its own value over the entry. A value that get already returned is
replaced by another one: two readers of one key can act on different values for good.
Reported upstream: docs/upstream/cachelib.md, section 1.
"""
import inspect
import sys
import tempfile
import threading

from cachelib import FileSystemCache

lines, first = inspect.getsourcelines(FileSystemCache.add)
SET = first + next(i for i, l in enumerate(lines) if "return self.set(" in l)
checked, resume = threading.Event(), threading.Event()


def tracer(frame, event, arg):
    if frame.f_code is FileSystemCache.add.__code__ and event == "line" \
            and frame.f_lineno == SET and not checked.is_set():
        checked.set()  # the key was found absent; pause before writing it
        resume.wait()
    return tracer


def first_add(cache: FileSystemCache) -> None:
    sys.settrace(tracer)
    cache.add("key", "first")
    sys.settrace(None)


with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)
    t = threading.Thread(target=first_add, args=(cache,))
    t.start()
    checked.wait()
    cache.add("key", "second")
    before = cache.get("key")
    resume.set()
    t.join()
    after = cache.get("key")
    print(f"get during the race -> {before!r}; get after it -> {after!r}")
    if before != after:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
