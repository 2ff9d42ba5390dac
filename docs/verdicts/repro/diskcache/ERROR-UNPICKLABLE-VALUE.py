"""diskcache raises pickle's own error for a value it cannot pickle: add(key, <module-level
lambda>) raises pickle.PicklingError, not an error of diskcache's (it defines only Timeout).
The key stays absent, so nothing is lost; a caller just has to catch the pickle module's
exceptions rather than one cache error.
"""
import pickle
import tempfile

import diskcache

VALUE = lambda: None  # noqa: E731 - pickling a lambda fails

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        try:
            cache.add("k", VALUE)
        except diskcache.Timeout:
            raise SystemExit(1)
        except pickle.PicklingError as err:
            print("add('k', lambda) raised", type(err).__name__, err)
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
