"""diskcache reports failures with the exceptions of the libraries underneath it: pickle's for
keys and values it cannot serialize, sqlite3's for a damaged database. Its one exception of its
own, Timeout, is raised only when the database stays locked. A caller that wants to treat "the
cache failed" as a miss must catch a list of foreign exception types.
"""
import tempfile

import diskcache


class Refuses:
    def __reduce__(self):
        raise RuntimeError("this object refuses to be pickled")


with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        try:
            cache.add("k", [b"prefix", Refuses()])
        except diskcache.Timeout:
            raise SystemExit(1)
        except RuntimeError as err:
            print("add('k', <unpicklable>) raised", type(err).__name__, err)
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
