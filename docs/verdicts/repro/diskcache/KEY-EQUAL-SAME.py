"""diskcache looks keys up by their serialized bytes, and keys other than int/float/str/bytes are
pickled; pickle output depends on object identity (a tuple holding the same str object twice
pickles the second as a memo reference), so two == tuples can be two different keys. diskcache
documents this in its tutorial ("Caveats": lookups do not use __hash__/__eq__; for other types
"the bytes representation will define equality") and the same example is diskcache issue #54.
It is a deviation from the spec, not from diskcache's documentation: a user switching a
torch-shaped cache to diskcache gets silent misses and duplicate entries for tuple keys rebuilt
from parts.
"""
import tempfile

import diskcache

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        part = "tw"
        shared = (part, part)
        rebuilt = (part, "".join(["t", "w"]))
        print("keys equal:", shared == rebuilt)
        print("add(shared, 'v1') ->", cache.add(shared, "v1"))
        print("get(rebuilt) ->", cache.get(rebuilt))
        print("add(rebuilt, 'v2') ->", cache.add(rebuilt, "v2"))
        if cache.get(rebuilt) != "v1":
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
