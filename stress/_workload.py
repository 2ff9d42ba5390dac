"""What a stress worker does: the op mix, the skewed key choice, and unique values of varied size.

Everything here is pure and seeded, so a run can be described by a few command-line strings and
rebuilt identically in every worker process. Keys are strings (every target accepts them); values
are bytes that start with a unique header, so two inserts never carry the same value and a value
read back names the insert that wrote it.
"""

from __future__ import annotations

import bisect
import itertools
import os
import random
import re
from dataclasses import dataclass, field

#: The op kinds a worker issues, in the order used for shared-memory op codes (0 = idle).
OPS: tuple[str, ...] = ("get", "insert", "get_async", "insert_async")
DEFAULT_MIX = "get=4,insert=3,get_async=2,insert_async=1"
REVISIT = 0.3  #: share of ops on keys of earlier epochs (recent ones more likely)

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2}

#: Named value-size distributions: (weight, low, high) bands, sizes uniform inside a band.
SIZE_PRESETS: dict[str, tuple[tuple[float, int, int], ...]] = {
    # Mostly small values, a few of several MB: the large ones widen write windows.
    "mixed": ((0.70, 16, 1024), (0.22, 1024, 256 * 1024), (0.08, 512 * 1024, 4 * 1024**2)),
    "tiny": ((1.0, 16, 256),),
    "small": ((1.0, 16, 16 * 1024),),
    "large": ((0.5, 256 * 1024, 1024**2), (0.5, 1024**2, 6 * 1024**2)),
}


class WorkloadError(ValueError):
    """A workload description string is malformed; the message says the accepted form."""


def parse_size(text: str) -> int:
    """``"512"``, ``"64k"``, ``"4M"`` -> bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise WorkloadError(f"bad size {text!r}: use a number with an optional k/M suffix "
                            "(e.g. 64k)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def parse_value_sizes(text: str) -> tuple[tuple[float, int, int], ...]:
    """A preset name (mixed, tiny, small, large) or ``LOW-HIGH`` such as ``16-4M``."""
    if text in SIZE_PRESETS:
        return SIZE_PRESETS[text]
    low, sep, high = text.partition("-")
    if not sep:
        size = parse_size(low)
        return ((1.0, size, size),)
    lo, hi = parse_size(low), parse_size(high)
    if lo > hi:
        raise WorkloadError(f"bad value-size range {text!r}: LOW must not exceed HIGH")
    return ((1.0, lo, hi),)


def parse_mix(text: str) -> dict[str, float]:
    """``"get=4,insert=3"`` -> weights; ops left out get weight 0."""
    mix = dict.fromkeys(OPS, 0.0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        if name not in mix or not sep:
            raise WorkloadError(f"bad mix item {part!r}: use OP=WEIGHT with OP in {', '.join(OPS)}")
        try:
            mix[name] = float(weight)
        except ValueError:
            raise WorkloadError(f"bad mix weight in {part!r}: use a number") from None
        if mix[name] < 0:
            raise WorkloadError(f"bad mix weight in {part!r}: must be >= 0")
    if sum(mix.values()) <= 0:
        raise WorkloadError(f"mix {text!r} has no op with a positive weight")
    return mix


@dataclass(frozen=True)
class Workload:
    """The parameters every worker shares; picklable and cheap to rebuild."""

    keys: int = 64
    mix: dict[str, float] = field(default_factory=lambda: parse_mix(DEFAULT_MIX))
    sizes: tuple[tuple[float, int, int], ...] = SIZE_PRESETS["mixed"]
    skew: float = 1.1  #: Zipf exponent: key i has weight 1 / (i + 1) ** skew
    seed: int = 0
    #: Seconds after which the K keys are replaced by K fresh ones (0: never). A write-once key
    #: is contended only until its first insert lands, so fresh keys keep the races coming.
    epoch: float = 0.25

    def __post_init__(self) -> None:
        if self.keys < 1:
            raise WorkloadError("--keys must be at least 1")
        if self.epoch < 0:
            raise WorkloadError("--key-epoch must be >= 0")

    def epoch_at(self, elapsed: float) -> int:
        return int(elapsed / self.epoch) if self.epoch > 0 else 0

    def key(self, index: int) -> str:
        """The key with global index ``index`` (epoch * keys + rank of popularity)."""
        epoch, rank = divmod(index, self.keys)
        return f"stress-{epoch:04d}-{rank:05d}"

    def keys_until(self, elapsed: float) -> list[str]:
        """Every key the epochs up to ``elapsed`` seconds can have used."""
        return [self.key(i) for i in range(self.keys * (self.epoch_at(elapsed) + 1))]

    def chooser(self, stream: int) -> Chooser:
        """An independent, seeded op/key/size stream for one worker thread."""
        return Chooser(self, random.Random(f"{self.seed}:{stream}:{os.getpid()}"))


class Chooser:
    """Draws (op, key index, value size) triples for one thread."""

    def __init__(self, workload: Workload, rng: random.Random) -> None:
        self.workload = workload
        self.rng = rng
        self._ops = [op for op in OPS if workload.mix[op] > 0]
        self._op_cum = list(itertools.accumulate(workload.mix[op] for op in self._ops))
        self._key_cum = list(
            itertools.accumulate(1.0 / (i + 1) ** workload.skew for i in range(workload.keys))
        )
        self._band_cum = list(itertools.accumulate(w for w, _, _ in workload.sizes))

    def _pick(self, cum: list[float]) -> int:
        return min(bisect.bisect_right(cum, self.rng.random() * cum[-1]), len(cum) - 1)

    def op(self) -> str:
        return self._ops[self._pick(self._op_cum)]

    def key_index(self) -> int:
        """Rank of the key within its epoch (0 = hottest)."""
        return self._pick(self._key_cum)

    def key_at(self, elapsed: float) -> int:
        """Global index of the next key: mostly the current epoch, sometimes a recent one (so
        keys stay read and re-inserted after their first insert: late reads catch lost or
        stale entries, late inserts catch locks left behind by dead writers)."""
        wl = self.workload
        epoch = wl.epoch_at(elapsed)
        if epoch and self.rng.random() < REVISIT:
            epoch = max(0, epoch - 1 - int(self.rng.expovariate(0.25)))
        return epoch * wl.keys + self.key_index()

    def size(self) -> int:
        _, low, high = self.workload.sizes[self._pick(self._band_cum)]
        return self.rng.randint(low, high)


_counter = itertools.count()


def make_value(size: int, *, group: str | None, slot: int) -> bytes:
    """A value no other insert of any run can carry: a unique header padded to ``size``."""
    header = f"{os.getpid()}:{slot}:{next(_counter)}:{group}:{os.urandom(8).hex()}|".encode()
    if size <= len(header):
        return header
    # Cheap, non-repeating-looking filler; uniqueness comes from the header alone.
    pad = size - len(header)
    return header + (os.urandom(64) * (pad // 64 + 1))[:pad]
