"""The catalogue: every mutant, the clause it is meant to break, and its one-line description.

Each mutant is importable as ``cachespec.conformance.mutants._catalogue:<Name>`` (the target
name child processes rebuild), and declares ``intended_clause``; its docstring's first line is
its description.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachespec.conformance.mutants._disk import *  # noqa: F401,F403 - the importable names
from cachespec.conformance.mutants._disk import __all__ as _disk_core_names
from cachespec.conformance.mutants._disk_faults import *  # noqa: F401,F403
from cachespec.conformance.mutants._disk_faults import __all__ as _disk_fault_names
from cachespec.conformance.mutants._loaders import *  # noqa: F401,F403
from cachespec.conformance.mutants._loaders import __all__ as _loader_names
from cachespec.conformance.mutants._memory import *  # noqa: F401,F403
from cachespec.conformance.mutants._memory import __all__ as _memory_names

MODULE = __name__
_disk_names = [*_disk_core_names, *_disk_fault_names]

#: the correct implementations every check must pass (the mutants' controls)
CONTROLS: tuple[str, ...] = ("reference-memory", "reference-disk")


@dataclass(frozen=True)
class Mutant:
    name: str
    intended_clause: str
    description: str
    family: str  #: "memory", "loader" or "disk": which correct implementation it breaks
    #: why the spec does not catch it yet (a known gap, reported to the spec's owners), or None
    spec_gap: str | None = None

    @property
    def target(self) -> str:
        """The ``module:Class`` target name that ``cachespec check`` takes."""
        return f"{MODULE}:{self.name}"


def _build() -> tuple[Mutant, ...]:
    out = []
    for family, names in (("memory", _memory_names), ("loader", _loader_names),
                          ("disk", _disk_names)):
        for name in names:
            cls = globals()[name]
            doc = (cls.__doc__ or "").strip().splitlines()
            out.append(Mutant(name, cls.intended_clause, " ".join(
                line.strip() for line in _first_sentence(doc)), family,
                getattr(cls, "spec_gap", None)))
    return tuple(out)


def _first_sentence(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if not line.strip():
            break
        out.append(line)
    return out


MUTANTS: tuple[Mutant, ...] = _build()
_BY_NAME = {m.name: m for m in MUTANTS}


def get_mutant(name: str) -> Mutant:
    """The mutant called ``name`` (class name, case-insensitive); KeyError lists near names."""
    for m in MUTANTS:
        if m.name.lower() == name.lower():
            return m
    import difflib

    near = difflib.get_close_matches(name, list(_BY_NAME), n=3, cutoff=0.5)
    raise KeyError(f"no mutant {name!r}" + (f"; did you mean {', '.join(near)}?" if near else
                                            "; run `cachespec mutants --list`"))
