"""diskcache stores int and float keys natively in SQLite, where 1 and 1.0 compare equal, so they
are one key: get(1.0) returns the value added for 1 and add(1.0, ...) is refused (bool keys are
pickled, so True stays distinct from 1). diskcache documents it ("integers and floats like 1 and
1.0 will compare equal as keys just as in Python"). A deviation from cachespec's SHOULD-level
typed keys only; a user who keys by numbers of mixed types gets the other type's value.
"""
import tempfile

import diskcache

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        print("add(1, 'int one') ->", cache.add(1, "int one"))
        print("add(1.0, 'float one') ->", cache.add(1.0, "float one"))
        print("get(1.0) ->", cache.get(1.0))
        if cache.get(1.0) == "int one":
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
