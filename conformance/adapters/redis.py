"""Adapter for Redis ``SET key value NX`` through redis-py, against a real ``redis-server``.

The natural write-once use of Redis: insert is ``client.set(name, value, nx=True)`` (True iff
this call set the key: redis-py returns True, or None when the key existed), get is
``client.get(name)`` (the stored bytes, or None). Nothing else: no lock, no transaction, no
check-then-set around it.

Which server: ``CACHESPEC_REDIS_URL`` if set (any redis-py URL, e.g. ``redis://host:6379/0`` or
``unix:///path/redis.sock``); the adapter then only adds keys under its ``cachespec:`` prefix and
never deletes or FLUSHes anything, so point it at a scratch server or database. Otherwise the
first process that builds the target starts one private ``redis-server`` (found on PATH) on a
unix socket in a private temp directory, without persistence, and exports its URL in that
variable so every child process shares it; it is stopped when that process exits, or dies
(see ``_redis_server``). Persistence is off because the server lives only as long as the run
and no check restarts it: entries persist across instances and processes, which is what the
``persistent`` capability claims; surviving a server restart is not claimed.

Storage: Redis has no directory, so each storage directory becomes a keyspace: the key is
``cachespec:<first 32 hex digits of sha256(the resolved directory path)>:<key>``. The prefix has
a fixed length, so two (directory, key) pairs never meet; a reopen, or another process on the
same directory, sees the same entries. The storage directory itself stays empty, so the checks
that damage or hand over storage files have nothing to act on (their probes prove it, and
those clauses are n/a).

Keys are str only (redis-py sends them as UTF-8; equal strs encode equally). Typed keys are not
claimed: redis-py turns an int or float key into its str(), so ``1`` and ``"1"`` would be one
key, and pickling keys instead is not canonical (sharing and frozenset order change the bytes).
Values are bytes only: Redis strings are bytes, and the read returns exactly them; pickling rich
values would be a layer of the adapter's, not Redis'. Limits: a Redis string is at most
``proto-max-bulk-len`` (512 MiB by default).

Its error type is ``redis.exceptions.RedisError``, the base of everything redis-py raises for a
failed command or connection.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from cachespec.spec._limits import Limits
from cachespec.spec._subject import CORE, PERSISTENT, PROCESSES, THREADS, TargetError
from . import _redis_server
from ._base import Adapter

#: the namespace every key the adapter writes lives under
KEY_PREFIX = "cachespec:"


def keyspace_prefix(storage: Path) -> str:
    """The key prefix of ``storage``: the same for every spelling of the directory."""
    digest = hashlib.sha256(os.fsencode(Path(storage).resolve())).hexdigest()[:32]
    return f"{KEY_PREFIX}{digest}:"


class RedisKeyspace:
    """One client on the shared server and the key prefix of one storage directory."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"<RedisKeyspace {self.prefix!r}>"

    def close(self) -> None:
        self.client.close()


class RedisAdapter(Adapter):
    name = "redis"
    description = ("Redis SET NX on a redis-server (CACHESPEC_REDIS_URL, or one started on a "
                   "unix socket): SET NX as insert (adapter)")
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS})
    limits = Limits(max_value_bytes=512 << 20)  # proto-max-bulk-len

    @classmethod
    def unavailable(cls) -> str | None:
        if os.environ.get(_redis_server.URL_ENV) or _redis_server.server_binary():
            return None
        return _redis_server.UNAVAILABLE

    def __init__(self, name: str | None = None) -> None:
        import redis  # fail at resolve time when redis-py is not installed

        super().__init__(name)
        self.error_type = redis.exceptions.RedisError
        try:
            self.url = _redis_server.server_url()
        except _redis_server.ServerError as err:
            raise TargetError(f"target {self.name!r} is unavailable: {err}") from err
        client = redis.Redis.from_url(self.url)
        try:
            client.ping()
        except redis.exceptions.RedisError as err:
            raise TargetError(f"target {self.name!r}: the redis server at {self.url} "
                              f"({_redis_server.URL_ENV}) does not answer: {err}") from err
        finally:
            client.close()

    def create(self, storage: Path | None) -> RedisKeyspace:
        import redis

        if storage is None:
            raise NotImplementedError("the redis target needs a storage directory (its keyspace)")
        return RedisKeyspace(redis.Redis.from_url(self.url), keyspace_prefix(storage))

    def get(self, native: RedisKeyspace, key: Any) -> Any | None:
        return native.client.get(native.prefix + key)

    def insert(self, native: RedisKeyspace, key: Any, value: Any) -> bool:
        return native.client.set(native.prefix + key, value, nx=True) is True
