"""A value whose pickling raises is refused by diskcache with the pickling code's own exception
(here RuntimeError), not with an error of diskcache's. The key does stay absent and insertable
and nothing is left behind in the directory; only the error type is foreign.
"""
import tempfile

import diskcache


class Refuses:
    def __reduce__(self):
        raise RuntimeError("this object refuses to be pickled")


with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        try:
            cache.add("k", [b"x" * 1024, "prefix", Refuses()])
        except diskcache.Timeout:
            raise SystemExit(1)
        except RuntimeError as err:
            print("add('k', <value whose pickling raises>) raised", type(err).__name__, err)
            print("get('k') afterwards ->", cache.get("k"))
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
