"""InMemoryCache.from_file_path documents "Raises: CacheError: If the file is not a valid pickled
dictionary", and torch's test checks it for unpicklable bytes; but the code converts only
pickle.UnpicklingError. An empty file (a pickle truncated to nothing by a crash or a full disk
while it was being written) makes pickle.load raise EOFError, which escapes as is. Callers that
follow the docstring and catch CacheError to fall back to an empty cache crash instead. Fix:
also convert EOFError (and the other exceptions pickle.load raises on garbage).
"""
import tempfile
from pathlib import Path

from torch._inductor.cache import CacheError, InMemoryCache

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "cache.pkl"
    path.write_bytes(b"")
    try:
        InMemoryCache.from_file_path(path)
        print("loaded an empty file without error")
        raise SystemExit(1)
    except CacheError as err:
        print("CacheError:", err)
        raise SystemExit(1)
    except Exception as err:
        print(f"from_file_path(empty file) raised {type(err).__name__}: {err} (not a CacheError)")
        print("DEVIATION REPRODUCED")
