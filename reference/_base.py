"""The abstract ``Cache`` and the executor-backed ``AsyncCache``, with torch's signatures."""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Executor, Future
from typing import Any, Callable

from cachespec.reference._errors import CacheError


class Cache(ABC):
    """A write-once key/value cache: the first insert of a key wins and is never overwritten."""

    @abstractmethod
    def get(self, key: Any) -> Any | None:
        """The value stored under ``key``, or None if there is none."""

    @abstractmethod
    def insert(self, key: Any, value: Any) -> bool:
        """Store ``value`` under ``key`` if absent; True if stored, False if the key existed."""


def _failed(err: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(err)
    return future


class AsyncCache(Cache):
    """Adds ``get_async``/``insert_async``: the operation runs on ``executor``; errors surface
    from ``Future.result()``.

    Subclasses can split an operation into an eager ``_prepare_*`` step, run in the caller's
    thread (so a value is captured at the moment of the call, not when the executor gets to it),
    and the deferred rest.
    """

    def get_async(self, key: Any, executor: Executor) -> Future[Any | None]:
        return self._submit(executor, self._prepare_get, (key,))

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]:
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
