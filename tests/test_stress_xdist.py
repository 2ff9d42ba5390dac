"""Shared-cache stress slices: under ``pytest -n N`` every slice of every xdist worker runs on the
session's one cache directory; the merged history is checked once at the end of the session (see
``cachespec.stress._xdist``). Each test asserts only what its own slice can see (it ran, nothing
stuck); the register, durability and version checks come from the session check."""

from __future__ import annotations

import pytest

FAULTS = ["", "kill", "corrupt", "version", "lockholder"]


@pytest.mark.parametrize("faults", FAULTS, ids=[f or "nofault" for f in FAULTS])
def test_stress_slice(stress_slice, faults: str) -> None:
    res = stress_slice.run(duration=4.0, procs=2, threads=2, faults=faults, seed=len(faults))
    assert res.ops > 100
    assert [v for v in res.violations if v.kind in ("stuck", "worker-died")] == []
    if faults and faults != "version":
        counts = {k: v for k, v in res.faults.items() if isinstance(v, int)}
        assert sum(counts.values()) > 0, res.faults


@pytest.mark.soak
@pytest.mark.parametrize("faults", ["kill,corrupt,version,lockholder", "kill", ""])
def test_stress_soak(stress_slice, faults: str) -> None:
    res = stress_slice.run(duration=60.0, procs=4, threads=4, faults=faults, keys=64)
    assert res.ops > 1000
    assert [v for v in res.violations if v.kind in ("stuck", "worker-died")] == []
