"""Hypothesis settings profiles for the spec's runs: ``quick``, ``default``, ``thorough``.

Nothing is loaded or registered at import: the pytest plugin imports this package and must not
change anyone's Hypothesis settings. Runs pass the settings object explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings

PROFILE_NAMES = ("quick", "default", "thorough")


@dataclass(frozen=True)
class Budget:
    """Sizes of the non-Hypothesis runs (races, crashes) for a profile."""

    machine_examples: int
    machine_steps: int
    loader_examples: int
    thread_rounds: int
    process_rounds: int
    kill_rounds: int
    corrupt_rounds: int
    shrink_seconds: float  #: cap on Hypothesis' shrinking of one failure (its own cap is 300 s)


BUDGETS: dict[str, Budget] = {
    "quick": Budget(12, 20, 8, 10, 2, 3, 1, 5.0),
    "default": Budget(80, 40, 40, 40, 6, 6, 5, 20.0),
    "thorough": Budget(400, 60, 200, 200, 20, 20, 30, 120.0),
}


def _check(name: str) -> str:
    if name not in BUDGETS:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}")
    return name


def profile_from_env(fallback: str = "default") -> str:
    """The profile named by HYPOTHESIS_PROFILE when it is one of ours, else ``fallback``."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "")
    return name if name in BUDGETS else fallback


def get_budget(name: str) -> Budget:
    return BUDGETS[_check(name)]


def get_profile(name: str) -> settings:
    """A fresh settings object for one spec run (no example database: runs are reproducible)."""
    b = get_budget(name)
    return settings(
        max_examples=b.machine_examples,
        stateful_step_count=b.machine_steps,
        deadline=None,  # disks and executors are slow and jittery
        database=None,
        derandomize=name != "thorough",
        report_multiple_bugs=False,
        print_blob=False,  # @reproduce_failure advice means nothing to a CLI user
        # no 'explain' phase: its line lists are noise in a counterexample
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large, HealthCheck.large_base_example,
                               HealthCheck.nested_given],
    )
