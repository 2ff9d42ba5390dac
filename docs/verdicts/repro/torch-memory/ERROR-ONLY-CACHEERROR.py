"""InMemoryCache.from_file_path documents "Raises: CacheError: If the file is not a valid pickled
dictionary", but it only converts pickle.UnpicklingError. An empty file (e.g. one truncated by a
crash or a full disk while it was being written) makes pickle.load raise EOFError, which escapes
as is; other bad inputs raise other types still. A caller that guards the load with
`except CacheError` (as the docstring invites) crashes instead of falling back to an empty
cache. Same root cause as LOAD-FILE-BAD-PICKLE (which is the MUST clause restating the
docstring); this SHOULD clause is broken by it too.
"""
import tempfile
from pathlib import Path

from torch._inductor.cache import CacheError, InMemoryCache

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "cache.pkl"
    path.write_bytes(b"")  # a pickle file truncated to nothing
    try:
        InMemoryCache.from_file_path(path)
        print("loaded an empty file without error")
        raise SystemExit(1)
    except CacheError as err:
        print("CacheError:", err)
        raise SystemExit(1)
    except Exception as err:
        print(f"from_file_path(empty file) raised {type(err).__name__}: {err}")
        print("isinstance(err, CacheError):", isinstance(err, CacheError))
        print("DEVIATION REPRODUCED")
