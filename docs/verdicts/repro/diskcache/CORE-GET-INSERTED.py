"""diskcache stores int, float, str and bytes values natively in SQLite, and SQLite has no NaN:
a float('nan') bound as a REAL is stored as NULL. So cache.add(key, float('nan')) succeeds and
returns True, yet get(key) returns None (indistinguishable from a miss) and add() of the key is
still refused. diskcache's documentation does not mention NaN. A user caching numerical results
(a loss, a metric that came out NaN) gets a silent miss on every read while the key can never be
written again; wrapping the value (e.g. in a tuple, which is pickled) avoids it.
"""
import math
import tempfile

import diskcache

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        print("add('loss', nan) ->", cache.add("loss", float("nan")))
        got = cache.get("loss")
        print("get('loss') ->", got)
        print("add('loss', 0.5) ->", cache.add("loss", 0.5))
        if not (isinstance(got, float) and math.isnan(got)):
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
