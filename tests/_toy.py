"""Tiny targets for the spec's own tests: a dict target and a directory target, each with
optional, named bugs so tests can show that a clause catches them.

They are deliberately small and are *not* the reference implementation. Test-only: this lives
in tests/, not in the installed package.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import pickle
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cachespec.spec as cap


class ToyError(ValueError):
    pass


def _canon(x: Any) -> str:
    """Typed, order-insensitive key text (stable across PYTHONHASHSEED)."""
    t = type(x)
    if t in (tuple, list):
        return f"{t.__name__}(" + ",".join(_canon(e) for e in x) + ")"
    if t in (set, frozenset):
        return f"{t.__name__}(" + ",".join(sorted(_canon(e) for e in x)) + ")"
    if t is float:  # the reference's key rules: -0.0 is 0.0, every NaN is one key
        return "float:nan" if x != x else f"float:{x + 0.0!r}"
    if t in (type(None), bool, int, str, bytes):
        return f"{t.__name__}:{x!r}"
    raise ToyError(f"unsupported key type {t.__name__}")


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")


def _dumps(v: Any) -> bytes:
    try:
        data = pickle.dumps(v, protocol=5)
        # Builtin data pickles without globals: a pickle the code-free loader refuses holds
        # something else (SAFE-VALUE-DOMAIN).
        _NoGlobals(io.BytesIO(data)).load()
    except Exception as err:  # noqa: BLE001
        raise ToyError(f"value not storable: {err}") from err
    return data


def _loads(b: bytes) -> Any:
    try:
        return _NoGlobals(io.BytesIO(b)).load()
    except Exception as err:  # noqa: BLE001
        raise ToyError(f"cannot decode: {err}") from err


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ToySubject:
    def __init__(self, target: ToyTarget, storage: Path | None,
                 data: dict[str, bytes] | None = None) -> None:
        self.target = target
        self.storage = storage
        self._data = data if data is not None else {}
        self._lock = threading.Lock()
        self._memo: dict[str, Future[Any]] = {}

    # -- keys ---------------------------------------------------------------------------------
    def _name(self, key: Any) -> str:
        text = str(key) if "str-key" in self.target.bugs else _canon(key)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: Any) -> Path:
        assert self.storage is not None
        v = 0 if "ignore-version" in self.target.bugs else ToyTarget.version
        return self.storage / f"v{v}" / self._name(key)

    # -- operations ---------------------------------------------------------------------------
    def get(self, key: Any) -> Any:
        if self.storage is None:
            with self._lock:
                b = self._data.get(self._name(key))
            if b is None:
                return None
            return b if "share" in self.target.bugs else _loads(b)
        try:
            b = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        if hashlib.sha256(b[8:]).digest()[:8] != b[:8]:
            raise ToyError("entry fails its checksum")
        return _loads(b[8:])

    def insert(self, key: Any, value: Any) -> bool:
        if "insert-raises-empty" in self.target.bugs and key == "":
            raise ToyError("cannot store the empty key")
        if "store-nothing" in self.target.bugs:
            return False
        name = self._name(key)
        if self.storage is None:
            b = value if "share" in self.target.bugs else _dumps(value)
            if "big-lost" in self.target.bugs and len(_dumps(value)) > 1 << 20:
                return True  # "stored" nowhere
            with self._lock:
                if name in self._data and "overwrite" not in self.target.bugs:
                    return False
                self._data[name] = b
                return True
        b = _dumps(value)
        b = hashlib.sha256(b).digest()[:8] + b
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if "overwrite" in self.target.bugs:
            path.write_bytes(b)
            return True
        for stray in path.parent.glob(".tmp-*"):  # left by writers that died
            if not _alive(int(stray.name.split("-")[1])):
                stray.unlink(missing_ok=True)
        tmp = path.parent / f".tmp-{os.getpid()}-{threading.get_ident()}-{os.urandom(4).hex()}"
        tmp.write_bytes(b)
        try:
            os.link(tmp, path)
        except FileExistsError:
            try:
                self.get(key)
                return False
            except ToyError:  # a corrupt entry is replaced, not kept forever
                os.replace(tmp, path)
                return True
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def get_async(self, key: Any, executor: Executor) -> Future[Any]:
        if "memo-get-async" in self.target.bugs:  # hands back the key's first future (a miss)
            name = self._name(key)
            if name not in self._memo:
                self._memo[name] = executor.submit(self.get, key)
            return self._memo[name]
        return executor.submit(self.get, key)

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]:
        self._memo.pop(self._name(key), None)  # only the async path forgets the memo
        return executor.submit(self.insert, key, value)

    def reopen(self) -> ToySubject:
        return ToySubject(self.target, self.storage)

    @contextmanager
    def lock_for(self, key: Any) -> Iterator[None]:
        assert self.storage is not None
        d = self.storage / "locks"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / (self._name(key)[:2] + ".lock"), "a") as fp:
            fcntl.flock(fp, fcntl.LOCK_EX)
            yield

    def entry_files(self) -> Iterator[Path]:
        if self.storage is None:
            return iter(())
        return (p for p in self.storage.glob("v*/*") if p.is_file())

    def close(self) -> None:
        pass


class ToyTarget:
    """``ToyTarget(disk=False)`` is an in-memory target; ``disk=True`` stores files."""

    version = 0
    error_type: type[BaseException] = ToyError

    def __init__(self, disk: bool, bugs: frozenset[str] = frozenset()) -> None:
        self.disk = disk
        self.bugs = bugs
        self.name = f"toy-{'disk' if disk else 'memory'}" + "".join(f"+{b}" for b in sorted(bugs))
        caps = {cap.CORE, cap.ASYNC, cap.THREADS, cap.TYPED_KEYS, cap.RICH_VALUES}
        if disk:
            caps |= {cap.PERSISTENT, cap.PROCESSES, cap.VERSION, cap.FILES, cap.LOCK}
        else:
            caps |= {cap.ENV_LOADER, cap.FILE_LOADER}
        self.capabilities = frozenset(caps)

    def open(self, storage: Path) -> ToySubject:
        return ToySubject(self, storage if self.disk else None)

    def get_version(self) -> int:
        return ToyTarget.version

    def set_version(self, version: int) -> None:
        ToyTarget.version = version

    def _from_pairs(self, pairs: list[tuple[Any, Any]]) -> ToySubject:
        s = ToySubject(self, None)
        for k, v in pairs:
            if not s.insert(k, v) and s.get(k) != v:
                raise ToyError(f"conflicting values for {k!r}")
        return s

    def from_env_var(self, name: str) -> ToySubject:
        import ast

        pairs = []
        for part in os.environ.get(name, "").split(";"):
            if not part.strip():
                continue
            if "," not in part:
                raise ToyError("missing comma")
            k, v = part.split(",", 1)
            try:
                kb, vb = ast.literal_eval(k.strip()), ast.literal_eval(v.strip())
            except (ValueError, SyntaxError) as err:
                raise ToyError("bad literal") from err
            if not isinstance(kb, bytes) or not isinstance(vb, bytes):
                raise ToyError("not bytes")
            pairs.append((_loads(kb), _loads(vb)))
        return self._from_pairs(pairs)

    def from_file_path(self, path: Path) -> ToySubject:
        if not Path(path).is_file():
            return ToySubject(self, None)
        d = _loads(Path(path).read_bytes())
        if not isinstance(d, dict):
            raise ToyError("not a dict")
        return self._from_pairs(list(d.items()))
