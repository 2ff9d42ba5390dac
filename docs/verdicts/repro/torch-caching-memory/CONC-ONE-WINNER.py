"""_InMemoryCacheImpl.insert is an unlocked check-then-set (`if key not in self._memory:` then
`self._memory[key] = value`), and torch's interface calls it without impl.lock(). A thread
switch between the check and the store lets two threads both see the key absent: both inserts
return True and the second value silently replaces the first. Here the first insert is paused
on its store line (a trace function, the way a thread switch would stop it) while a second
insert of the same key runs to completion. Callers that race on one key each believe they won;
the write-once guarantee is gone (see CONC-READ-WINNER for what readers then see).
"""
import inspect
import sys
import threading

from torch._inductor.runtime.caching.implementations import _InMemoryCacheImpl

lines, first = inspect.getsourcelines(_InMemoryCacheImpl.insert)
STORE = first + next(i for i, l in enumerate(lines) if "self._memory[key] = value" in l)
checked, resume, results = threading.Event(), threading.Event(), {}
impl = _InMemoryCacheImpl()


def tracer(frame, event, arg):
    if frame.f_code is _InMemoryCacheImpl.insert.__code__ and event == "line" \
            and frame.f_lineno == STORE:
        checked.set()  # the key was found absent; pause before storing
        resume.wait()
    return tracer


def first_insert() -> None:
    sys.settrace(tracer)
    results["first"] = impl.insert("key", "first")
    sys.settrace(None)


t = threading.Thread(target=first_insert)
t.start()
checked.wait()
results["second"] = impl.insert("key", "second")
resume.set()
t.join()
print("insert results:", results, "stored:", impl.get("key"))
if list(results.values()).count(True) > 1:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
