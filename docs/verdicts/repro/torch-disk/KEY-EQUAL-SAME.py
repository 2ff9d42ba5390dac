"""torch's OnDiskCache names an entry file sha256(pickle.dumps(key)), and pickle output depends
on object identity, not only on equality: a tuple holding the same str object twice pickles the
second one as a memo reference, a tuple of two equal but distinct str objects pickles both. So
two == keys (both documented Key types: tuples of str) address different files: get misses an
entry that exists and insert stores a second entry for the "same" key. A user hits it as silent
cache misses (recompilation) whenever keys are rebuilt from parts (str.join, f-strings,
deserialized configs) rather than reused; no wrong value is returned. The same pickle-then-hash
scheme builds keys in torch/_inductor/runtime/caching/interfaces.py (_make_key).
"""
import pickle
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    part = "tw"
    shared = (part, part)                     # one str object, twice
    rebuilt = (part, "".join(["t", "w"]))     # an equal str object built separately
    print("keys equal:", shared == rebuilt)
    print("pickles equal:", pickle.dumps(shared) == pickle.dumps(rebuilt))
    print("insert(shared, 'v1') ->", cache.insert(shared, "v1"))
    print("get(rebuilt) ->", cache.get(rebuilt))
    print("insert(rebuilt, 'v2') ->", cache.insert(rebuilt, "v2"))
    print("entry files:", sum(1 for p in Path(tmp).iterdir() if p.is_file()))
    if cache.get(rebuilt) != "v1":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
