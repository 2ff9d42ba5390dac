"""Standalone counterexamples: a failure the checks found, as a program a user can run.

``as_program(check, target, clause, profile, counterexample)`` turns a violation into Python
source that rebuilds the target from its name and shows the failure again:

- a Hypothesis machine failure (``state = CacheMachine()`` ... ``state.teardown()``) runs as
  printed, after ``CacheMachine = machine(check, target, [clause])`` builds the machine class
  for that target (the clause's assertion raises ``AssertionError`` naming the clause);
- any other story (a race, a crash point, a corrupt file) is kept as comments above
  ``replay(check, target, clause, profile=...)``, which re-runs that check on that clause and
  raises ``AssertionError`` with the clause id and message while the target still violates it.

The spec cannot import the code that knows the target names (conformance sits above it), so
the program imports the registered resolver's module itself; ``replay`` and ``machine`` then
resolve the name through it, as a check's child process does.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._harness import Asserter
from ._subject import Target, TargetError, resolver_path

#: what a machine program starts with: ``state = <MachineClass>()``
_STATE = re.compile(r"^state = (?P<cls>[A-Za-z_]\w*)\(\)", re.MULTILINE)
#: Hypothesis' advice for its own test decorators; meaningless outside a Hypothesis test
_HYPOTHESIS_ADVICE = ("@reproduce_failure", "You can reproduce this example by temporarily",
                      "Falsifying example", "Explanation:")
_MACHINE_CHECKS = {"machine-cache": "cache", "machine-env-loader": "env",
                   "machine-file-loader": "file"}
_STORY_LINES = 60  #: a story longer than this is cut (the replay call re-runs it anyway)


def _resolve(target: str | Target) -> Target:
    if not isinstance(target, str):
        return target
    from . import _subject

    if _subject._resolver is None:
        raise TargetError(f"cannot resolve target {target!r}: no target resolver is registered; "
                          "import the package that resolves names (cachespec's conformance) first")
    return _subject._resolver(target)  # type: ignore[no-any-return]


def _scratch() -> Path:
    """A work directory for one replay, removed when the program exits."""
    path = Path(tempfile.mkdtemp(prefix="cachespec-replay-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def _check(name: str) -> Any:
    from ._checks import CHECKS

    for check in CHECKS:
        if check.name == name:
            return check
    raise TargetError(f"unknown check {name!r}; one of {', '.join(c.name for c in CHECKS)}")


def replay(check: str, target: str | Target, clause: str, profile: str = "quick") -> None:
    """Run ``check`` on ``target`` for ``clause`` alone; AssertionError if it is violated.

    Returns normally (after saying so on stdout) when this run did not violate the clause: the
    failure depended on something this run did not meet again.
    """
    subject = _resolve(target)
    result = _check(check).run(subject, _scratch(), profile, frozenset({clause}))
    for v in result.violations:
        if v.clause_id == clause:
            raise AssertionError(f"{clause} violated by {subject.name}: {v.error}")
    verdict = "held" if result.judged.get(clause) else "was not judged"
    print(f"{clause} {verdict} in this run of {check} on {subject.name} (profile {profile}): "
          "not reproduced")


def machine(check: str, target: str | Target, clauses: Iterable[str], tour: bool = False
            ) -> type[Any]:
    """The state machine class ``check`` runs on ``target``, asserting only ``clauses``, so
    that a printed Hypothesis program (``state = CacheMachine()`` ...) runs as is. ``tour``:
    its initialize step runs the fixed tour (to replay a tour failure)."""
    which = _MACHINE_CHECKS.get(check)
    if which is None:
        raise TargetError(f"{check!r} is not a state-machine check; one of "
                          f"{', '.join(_MACHINE_CHECKS)} (use replay() for the others)")
    subject = _resolve(target)
    enabled = frozenset(clauses)
    if which == "cache":
        from ._machines import make_cache_machine

        cls: type[Any] = make_cache_machine(subject, _scratch(), enabled)
        cls.replay_tour = tour
    else:
        from ._loaders import make_loader_machine

        cls = make_loader_machine(subject, _scratch(), enabled, which)
    base_init = cls.__init__

    def __init__(self: Any) -> None:
        base_init(self)
        self.asserter = _Labelled(self.asserter.enabled, self.asserter.sink)

    cls.__init__ = __init__
    return cls


class _Labelled(Asserter):
    """An Asserter whose failures name their clause in the message (a replayed program's user
    sees the message, not the failure type that carries the id)."""

    def check(self, clause_id: str, ok: bool, message: str | Callable[[], str]) -> None:
        if not ok and clause_id in self.enabled:
            text = message() if callable(message) else message
            super().check(clause_id, ok, f"{clause_id}: {text}")
        else:
            super().check(clause_id, ok, message)


def _public(module: str) -> str:
    """The public package that imports ``module`` (``a.b._c`` -> ``a.b``): programs a user
    reads name public modules."""
    parts = module.split(".")
    while len(parts) > 1 and parts[-1].startswith("_"):
        parts.pop()
    return ".".join(parts)


def clean_story(text: str) -> str:
    """A counterexample without Hypothesis' advice lines (meaningless outside its tests)."""
    return "\n".join(line for line in text.splitlines()
                     if not line.strip().startswith(_HYPOTHESIS_ADVICE)).strip("\n")


def as_program(check_name: str, target_name: str, clause_id: str, profile: str,
               counterexample: object) -> str:
    """``counterexample`` as a standalone program that shows ``clause_id`` failing again on the
    target called ``target_name`` (see the module docstring)."""
    if counterexample is not None and not isinstance(counterexample, str):
        counterexample = repr(counterexample)
    story = clean_story(counterexample or "")
    resolver = resolver_path()
    head = [f"# cachespec: {clause_id} violated by {target_name!r} (check {check_name}, "
            f"profile {profile}).",
            "# Run this file with python: it raises AssertionError while the target still "
            "violates the clause."]
    imports = []
    if resolver is not None:
        imports.append(f"import {_public(resolver.partition(':')[0])}  # knows the target names")
    m = _STATE.search(story)
    if check_name in _MACHINE_CHECKS and m is not None:
        body = story[m.start():]
        end = body.find("state.teardown()")
        if end >= 0:  # whatever Hypothesis printed after the program is not part of it
            body = body[:end + len("state.teardown()")]
        before = story[:m.start()].strip("\n")
        tour = ", tour=True" if "replay_tour = True" in body else ""
        return "\n".join([
            *head,
            *[f"# {line}" for line in before.splitlines()],
            "from math import inf, nan",
            *imports,
            "from cachespec.spec import machine", "",
            f"{m.group('cls')} = machine({check_name!r}, {target_name!r}, [{clause_id!r}]{tour})",
            body.rstrip(), ""])
    lines = story.splitlines()
    if len(lines) > _STORY_LINES:
        lines = lines[:_STORY_LINES] + [f"... ({len(lines) - _STORY_LINES} more lines)"]
    return "\n".join([
        *head,
        *[f"# {line}".rstrip() for line in lines],
        *imports,
        "from cachespec.spec import replay", "",
        f"replay({check_name!r}, {target_name!r}, {clause_id!r}, profile={profile!r})", ""])


__all__ = ["as_program", "clean_story", "machine", "replay"]
