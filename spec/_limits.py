"""Key and value limits a target declares: what it accepts, so the generators stay inside it.

Some stores cap what they take: LMDB keys are at most 511 bytes, a Redis string at most 512 MB.
Feeding such a store a longer key and reporting its refusal as a broken cache would blame the
cache for the harness's input, so a target declares its limits (``limits = Limits(...)``, read
by :func:`limits_of`) and every generated key and value fits them. Sizes are measured by
:func:`size_of` (UTF-8 for str, len for bytes, the pickle otherwise); an adapter that stores keys
another way declares the limit in this measure, conservatively.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

__all__ = ["Limits", "NO_LIMITS", "limits_of", "size_of"]


def size_of(obj: Any) -> int:
    """The size a limit compares: UTF-8 bytes of a str, len of bytes, else the pickle's length."""
    if isinstance(obj, str):
        return len(obj.encode("utf-8", "surrogatepass"))
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return len(obj)
    try:
        return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # an unpicklable key: the error clauses feed those on purpose
        return 0


@dataclass(frozen=True)
class Limits:
    """The largest key and value (in :func:`size_of` bytes) a target accepts; None: no limit."""

    max_key_bytes: int | None = None
    max_value_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_key_bytes", "max_value_bytes"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ValueError(f"Limits.{name} must be a positive int or None, not {v!r}")

    def key_fits(self, key: Any) -> bool:
        return self.max_key_bytes is None or size_of(key) <= self.max_key_bytes

    def value_fits(self, value: Any) -> bool:
        return self.max_value_bytes is None or size_of(value) <= self.max_value_bytes

    def cap_value_size(self, size: int, slack: int = 64) -> int:
        """``size`` shrunk so a bytes value of that size (plus ``slack`` of wrapping) fits."""
        if self.max_value_bytes is None:
            return size
        return max(1, min(size, self.max_value_bytes - slack))

    def describe(self) -> str:
        """``"keys <= 511 B"``, ``"keys <= 511 B, values <= 512 MiB"`` or ``""``."""
        parts = [f"{what} <= {_human(v)}" for what, v in
                 (("keys", self.max_key_bytes), ("values", self.max_value_bytes)) if v is not None]
        return ", ".join(parts)


NO_LIMITS = Limits()


def limits_of(target: Any) -> Limits:
    """The target's declared ``limits`` (an optional attribute of the Target protocol)."""
    limits = getattr(target, "limits", None)
    return limits if isinstance(limits, Limits) else NO_LIMITS


def _human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"
