"""codecache.write_atomic leaves its .<pid>.<thread>.tmp file behind when the write fails."""
import os
import resource
import tempfile

from torch._inductor.codecache import write_atomic

soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "entry.best_config")
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))  # a 1 MiB file size quota
    try:
        write_atomic(path, b"x" * (2 << 20))  # fails like a full disk would (EFBIG here)
    except OSError as err:
        print("write_atomic raised OSError:", err.strerror)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    left = {name: os.path.getsize(os.path.join(tmp, name)) for name in os.listdir(tmp)}
    print("files left in the cache directory:", left)
    if any(name.endswith(".tmp") for name in left):
        print("DEFECT REPRODUCED")
