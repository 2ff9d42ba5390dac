"""FileSystemCache.add is check-then-replace: two adds of one key can both return True."""
import inspect, sys, tempfile, threading
from cachelib import FileSystemCache

lines, first = inspect.getsourcelines(FileSystemCache.add)
SET = first + next(i for i, l in enumerate(lines) if "return self.set(" in l)
checked, resume, results = threading.Event(), threading.Event(), {}

def pause_after_exists_check(frame, event, arg):  # stands in for a thread switch
    if frame.f_code is FileSystemCache.add.__code__ and event == "line" \
            and frame.f_lineno == SET and not checked.is_set():
        checked.set()
        resume.wait()
    return pause_after_exists_check

def first_add(cache):
    sys.settrace(pause_after_exists_check)
    results["first"] = cache.add("key", "first")

with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    t = threading.Thread(target=first_add, args=(cache,))
    t.start(); checked.wait()
    results["second"] = cache.add("key", "second")
    resume.set(); t.join()
    print(results, "get ->", cache.get("key"))  # both True; "second" was overwritten
    if results == {"first": True, "second": True}:
        print("DEFECT REPRODUCED")
