"""The mutant catalogue: deliberately broken caches that the spec's checks must all catch.

Each mutant is a small subclass of a correct reference cache with one fault, shaped like
``torch/_inductor/cache.py`` so that ``cachespec check cachespec.conformance.mutants._catalogue:Name``
takes it with no adapter, and declares the clause it is meant to break (``intended_clause``).
``cachespec mutants`` checks them all and prints the kill rate.
"""

from cachespec.conformance.mutants._catalogue import CONTROLS, MUTANTS, Mutant, get_mutant
from cachespec.conformance.mutants._run import (
    MutantResult, check_one, kill_rate, render_table, run_catalogue, run_controls, run_mutant,
    save_counterexample,
)

__all__ = [
    "CONTROLS", "MUTANTS", "Mutant", "MutantResult", "check_one", "get_mutant", "kill_rate",
    "render_table", "run_catalogue", "run_controls", "run_mutant", "save_counterexample",
]
