"""diskcache raises pickle's own error for a key it cannot pickle: get and add of a module-level
lambda raise pickle.PicklingError, not an error of diskcache's (it defines only Timeout). torch's
OnDiskCache documents CacheError for this case; a caller of diskcache has to catch the pickle
module's exceptions (PicklingError, AttributeError, TypeError, depending on the key) instead.
"""
import pickle
import tempfile

import diskcache

KEY = lambda: None  # noqa: E731 - pickling a lambda fails

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        try:
            cache.get(KEY)
        except diskcache.Timeout:
            raise SystemExit(1)
        except pickle.PicklingError as err:
            print("get(lambda) raised", type(err).__name__, err)
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
