"""The abstract ``Cache`` and the executor-backed ``AsyncCache``, with torch's signatures.

``Key`` and ``Value`` are torch's TypeVars with torch's constraints, and every class has the
generic bases torch gives it, so code that reads ``__orig_bases__`` (torch's own test suite
does) sees the same shapes. The constraints only describe torch's API: the reference's real
domains (``_keys``/``_values``) are wider and are enforced at run time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Executor, Future
from typing import Any, Callable, Generic, TypeVar

from cachespec.reference._errors import CacheError


# torch's constraints, verbatim: typing cannot express "tuples of keys", so tuple[Any, ...].
Key = TypeVar("Key", str, int, tuple[Any, ...])
Value = TypeVar("Value", str, int, tuple[Any, ...], bytes, dict[Any, Any], list[Any])


class Cache(ABC, Generic[Key, Value]):
    """A write-once key/value cache: the first insert of a key wins and is never overwritten."""

    @abstractmethod
    def get(self, key: Key) -> Value | None:
        """The value stored under ``key``, or None if there is none."""

    @abstractmethod
    def insert(self, key: Key, value: Value) -> bool:
        """Store ``value`` under ``key`` if absent; True if stored, False if the key existed."""


def _failed(err: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(err)
    return future


class AsyncCache(Cache[Key, Value]):
    """Adds ``get_async``/``insert_async``: the operation runs on ``executor``; errors surface
    from ``Future.result()``.

    Subclasses can split an operation into an eager ``_prepare_*`` step, run in the caller's
    thread (so a value is captured at the moment of the call, not when the executor gets to it),
    and the deferred rest.
    """

    def get_async(self, key: Key, executor: Executor) -> Future[Value | None]:
        return self._submit(executor, self._prepare_get, (key,))

    def insert_async(self, key: Key, value: Value, executor: Executor) -> Future[bool]:
        return self._submit(executor, self._prepare_insert, (key, value))

    def _prepare_get(self, key: Any) -> Callable[[], Any | None]:
        return lambda: self.get(key)

    def _prepare_insert(self, key: Any, value: Any) -> Callable[[], bool]:
        return lambda: self.insert(key, value)

    @staticmethod
    def _submit(executor: Executor, prepare: Callable[..., Callable[[], Any]], args: tuple[Any, ...]) -> Future[Any]:
        if not isinstance(executor, Executor):
            raise CacheError(
                f"executor must be a concurrent.futures.Executor, got {type(executor).__qualname__!r}"
            )
        try:
            job = prepare(*args)
        except CacheError as err:
            return _failed(err)
        return executor.submit(job)
