"""sqlitedict 2.1.0: a failed write is reported to whichever thread calls next, not to the writer."""
import sys, threading, time
from sqlitedict import SqliteDict

d = SqliteDict(autocommit=True)  # a temporary file, deleted by close()
queued, resume, outcome = threading.Event(), threading.Event(), {}

def pause_before_commit(frame, event, arg):  # stands in for a thread switch
    if event == "line" and frame.f_code is SqliteDict.__setitem__.__code__ \
            and "autocommit" in open(frame.f_code.co_filename).readlines()[frame.f_lineno - 1]:
        queued.set(); resume.wait()
    return pause_before_commit

def writer():  # thread A stores a value its REPLACE cannot bind (a tuple key)
    sys.settrace(pause_before_commit)
    try: d[("a", "tuple")] = "v"; outcome["A"] = "returned normally"
    except Exception as e: outcome["A"] = f"raised {type(e).__name__}"

a = threading.Thread(target=writer); a.start(); queued.wait()
while d.conn.exception is None: time.sleep(0.01)  # the background thread failed A's REPLACE
try: d.get("unrelated"); outcome["B"] = "returned normally"
except Exception as e: outcome["B"] = f"raised {type(e).__name__}: {e}"
resume.set(); a.join(); d.close()
print("writer A:", outcome["A"]); print("reader B of another key:", outcome["B"])
if outcome["A"] == "returned normally" and outcome["B"].startswith("raised"):
    print("DEFECT REPRODUCED")
