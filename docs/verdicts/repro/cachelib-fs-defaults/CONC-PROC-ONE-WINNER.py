"""The add race of FileSystemCache (see CONC-ONE-WINNER) across processes, the setting cachelib
is used in (web server workers sharing one cache directory): process A pauses right after add's
os.path.exists test (it traces itself, the way a descheduled worker would stop there), this
process adds the key, and A resumes: both adds return True and A's value replaces B's.
Reported upstream: docs/upstream/cachelib.md, section 1.
"""
import subprocess
import sys
import tempfile

from cachelib import FileSystemCache

WRITER_A = """
import inspect, sys
from cachelib import FileSystemCache
lines, first = inspect.getsourcelines(FileSystemCache.add)
SET = first + next(i for i, l in enumerate(lines) if "return self.set(" in l)
def tracer(frame, event, arg):
    if frame.f_code is FileSystemCache.add.__code__ and event == "line" and frame.f_lineno == SET:
        print("checked", flush=True)  # the key was found absent
        sys.stdin.readline()  # pause until told to go on
    return tracer
cache = FileSystemCache(sys.argv[1])
sys.settrace(tracer)
print(cache.add("key", "A"), flush=True)
"""

with tempfile.TemporaryDirectory() as tmp:
    a = subprocess.Popen([sys.executable, "-c", WRITER_A, tmp], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "checked"
    cache = FileSystemCache(tmp)
    b_result = cache.add("key", "B")
    a_result = a.communicate("go\n", timeout=120)[0].strip()
    print(f"add results: A -> {a_result}, B -> {b_result}; get -> {cache.get('key')!r}")
    if a_result == "True" and b_result is True:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
