"""Because _InMemoryCacheImpl.insert is an unlocked check-then-set (see CONC-ONE-WINNER), a
reader can see one value for a key and later another: an insert that found the key absent but
was switched out before storing overwrites the entry that a faster insert already stored and a
reader already got. Here the first insert is paused on its store line (a trace function, the
way a thread switch would stop it); a second insert stores "second", a get returns it, then the
first insert resumes and a second get returns "first". torch's interface calls get and insert
without impl.lock(), so two compile threads can use different artifacts for one key.
"""
import inspect
import sys
import threading

from torch._inductor.runtime.caching.implementations import _InMemoryCacheImpl

lines, first = inspect.getsourcelines(_InMemoryCacheImpl.insert)
STORE = first + next(i for i, l in enumerate(lines) if "self._memory[key] = value" in l)
checked, resume = threading.Event(), threading.Event()
impl = _InMemoryCacheImpl()


def tracer(frame, event, arg):
    if frame.f_code is _InMemoryCacheImpl.insert.__code__ and event == "line" \
            and frame.f_lineno == STORE:
        checked.set()  # the key was found absent; pause before storing
        resume.wait()
    return tracer


def first_insert() -> None:
    sys.settrace(tracer)
    impl.insert("key", "first")
    sys.settrace(None)


t = threading.Thread(target=first_insert)
t.start()
checked.wait()
impl.insert("key", "second")
before = impl.get("key")
resume.set()
t.join()
after = impl.get("key")
print("get before the paused insert resumed:", before, "after:", after)
if before != after:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
