"""sqlitedict stores any picklable value (its default encode is pickle.dumps) and gives back an
unpickled copy, so an ``object()`` or an instance of any importable class is accepted where the
spec wants builtin data only. This is sqlitedict's documented design (values are pickles;
``encode``/``decode`` can be replaced), not a bug: the spec's SHOULD exists because reading a
pickle of arbitrary classes imports and runs code, which makes a shared cache file an attack
surface (see SAFE-PRIVATE-STORAGE).
"""
import os
import tempfile

from sqlitedict import SqliteDict

with tempfile.TemporaryDirectory() as tmp:
    d = SqliteDict(os.path.join(tmp, "cache.sqlite"), autocommit=True)
    d["key"] = object()
    got = d.get("key")
    print("stored object() and read back:", type(got).__name__)
    d.close()
    if type(got) is object:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
