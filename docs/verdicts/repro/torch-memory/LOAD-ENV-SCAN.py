"""InMemoryCache.from_env_var splits the variable on ';' and each pair on the first ',' before
parsing the bytes literals, so a pair whose repr contains ';' (or a key whose repr contains ',')
is cut apart and loading fails with CacheError. The pickle of ordinary data does contain these
bytes: pickle.dumps(59) ends in the bytes K;. (59 == ord(';')) and pickle.dumps(44) in K,.
So a cache holding the value 59, or keyed by 44, cannot be passed through the environment at
all: from_env_var raises instead of loading it. torch's docstring only says malformed input
raises CacheError; this input is well formed (it is exactly repr(pickle.dumps(k)) and
repr(pickle.dumps(v))), so users encoding arbitrary entries will hit spurious failures. A
scanner that parses bytes literals left to right (as cachespec's reference does) loads it.
"""
import os
import pickle

from torch._inductor.cache import CacheError, InMemoryCache

pair = f"{pickle.dumps('answer')!r},{pickle.dumps(59)!r}"
print("env value:", pair)
os.environ["CACHESPEC_DEMO_CACHE"] = pair
try:
    cache = InMemoryCache.from_env_var("CACHESPEC_DEMO_CACHE")
    print("loaded; get('answer') ->", cache.get("answer"))
    raise SystemExit(1)
except CacheError as err:
    print("from_env_var raised CacheError:", str(err)[:90], "...")
    print("DEVIATION REPRODUCED")
