"""Progress metering: how the runner tells a slow target from a hung one.

A check may legitimately take minutes (a loaded machine, a slow disk, torch imports in child
processes), so a fixed wall-clock limit either kills honest runs or waits forever on hung ones.
Instead the runner declares a hang when *no operation of the target completes anywhere* for a
while: every completed ``get``/``insert`` (in the check worker or in any process it spawned, which
rebuild the target through ``resolve_target``) ticks a meter. Inside the worker the meter is a
counter; other processes touch a shared file (throttled) named by ``CACHESPEC_PROGRESS_FILE``.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from pathlib import Path
from typing import Any

ENV = "CACHESPEC_PROGRESS_FILE"
_HOOKS = ("get", "insert", "get_async", "insert_async", "create", "load_env_var", "load_file_path")
_TOUCH_EVERY = 0.5  # seconds between file touches from one process

_lock = threading.Lock()
_ops = 0
_last_touch = 0.0


def tick() -> None:
    """Record one completed operation of the target."""
    global _ops, _last_touch
    with _lock:
        _ops += 1
        path = os.environ.get(ENV)
        now = time.monotonic()
        if not path or now - _last_touch < _TOUCH_EVERY:
            return
        _last_touch = now
    try:
        with open(path, "a") as f:
            f.write(".")
    except OSError:
        pass


def signal_of(path: Path | None) -> tuple[int, int]:
    """(operations completed in this process, size of the shared progress file)."""
    size = 0
    if path is not None:
        try:
            size = path.stat().st_size
        except OSError:
            pass
    return _ops, size


def instrument(target: Any) -> Any:
    """Make ``target``'s operation hooks tick on completion (Adapter-based targets; others are
    left alone and rely on the runner's hard time limit). Idempotent; returns ``target``."""
    if getattr(target, "_cachespec_metered", False):
        return target
    for name in _HOOKS:
        method = getattr(target, name, None)
        if not callable(method):
            continue

        @functools.wraps(method)
        def metered(*args: Any, __method: Any = method, **kwargs: Any) -> Any:
            result = __method(*args, **kwargs)
            tick()
            return result

        try:
            setattr(target, name, metered)
        except (AttributeError, TypeError):
            return target
    try:
        target._cachespec_metered = True
    except (AttributeError, TypeError):
        pass
    return target


def maybe_instrument(target: Any) -> Any:
    """Instrument only inside a check run (the worker sets ENV, its children inherit it)."""
    if os.environ.get(ENV):
        instrument(target)
    return target
