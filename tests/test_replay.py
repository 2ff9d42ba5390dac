"""Counterexamples are standalone programs (spec/_replay.py): what ``cachespec check`` prints for
a FAIL, pasted into a file and run with python, fails again the way the report says."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cachespec.spec import as_program

CATALOGUE = "cachespec.conformance.mutants._catalogue"

_BIG_LOST = '''
import pickle

from cachespec.reference import InMemoryCache


class BigLost(InMemoryCache):
    """Drops values over 1 MiB while reporting them stored: only a big random insert meets it."""

    def insert(self, key, value):
        if len(pickle.dumps(value)) > 1 << 20:
            return True
        return super().insert(key, value)
'''


def test_a_story_becomes_comments_above_a_replay_call() -> None:
    story = ("kill point 3 of 7: SIGKILL after write #2\n"
             "You can reproduce this example by temporarily adding @reproduce_failure('6', b'A')")
    program = as_program("crash-writer", "some-target", "CRASH-ATOMIC", "quick", story)
    ast.parse(program)  # it is Python
    assert "# kill point 3 of 7: SIGKILL after write #2" in program
    assert "reproduce_failure" not in program and "You can reproduce" not in program
    assert program.rstrip().endswith(
        "replay('crash-writer', 'some-target', 'CRASH-ATOMIC', profile='quick')")


def test_a_machine_program_runs_as_printed_after_the_factory_line() -> None:
    story = ("Falsifying example:\nstate = CacheMachine()\nstate.start()\n"
             "state.get(i=0, k='a')\nstate.teardown()\n\nPLEASE REPORT THIS if you can")
    program = as_program("machine-cache", "t", "CORE-GET-MISSING", "quick", story)
    ast.parse(program)
    assert "CacheMachine = machine('machine-cache', 't', ['CORE-GET-MISSING'])\n" \
           "state = CacheMachine()\nstate.start()\nstate.get(i=0, k='a')\nstate.teardown()" \
           in program
    assert "Falsifying example" not in program and "PLEASE" not in program


def test_no_counterexample_still_gives_a_replay_call() -> None:
    program = as_program("race-threads", "t", "CONC-ONE-WINNER", "default", None)
    ast.parse(program)
    assert "replay('race-threads', 't', 'CONC-ONE-WINNER', profile='default')" in program


def _check(target: str, clause: str, cwd: Path) -> dict[str, str]:
    report = cwd / "report.json"
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    done = subprocess.run([sys.executable, "-m", "cachespec", "check", target, "--profile",
                           "quick", "--clause", clause, "--json", str(report)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    (result,) = [c for c in json.loads(report.read_text())["targets"][0]["clauses"]
                 if c["id"] == clause]
    assert result["status"] == "fail", result
    assert result["counterexample"] in done.stdout.replace("\n        ", "\n")  # printed as is
    assert "reproduce_failure" not in done.stdout
    return result  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize(("target", "clause", "shape"), [
    (f"{CATALOGUE}:StrKeyMemory", "KEY-DISTINCT", "machine('machine-cache'"),  # the tour
    (f"{CATALOGUE}:NoValidationMemory", "SAFE-VALUE-DOMAIN", "replay('fault-serialization'"),
    ("big_lost:BigLost", "CORE-GET-INSERTED", "state.insert_big("),  # Hypothesis' program
])
def test_a_printed_counterexample_fails_on_its_own(target: str, clause: str, shape: str,
                                                   tmp_path: Path) -> None:
    (tmp_path / "big_lost.py").write_text(textwrap.dedent(_BIG_LOST))
    result = _check(target, clause, tmp_path)
    program = result["counterexample"]
    assert shape in program
    script = tmp_path / "counterexample.py"  # next to big_lost.py, as a user's module would be
    script.write_text(program)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert f"{clause}: " in last or f"{clause} violated" in last, run.stderr
    assert result["error"].splitlines()[0] in last, (result["error"], run.stderr)


def test_replay_of_a_correct_target_says_not_reproduced(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    import cachespec.conformance  # noqa: F401 - registers the target names
    from cachespec.spec import replay

    replay("fault-serialization", "reference-memory", "SAFE-VALUE-DOMAIN", profile="quick")
    assert capsys.readouterr().out.startswith(
        "SAFE-VALUE-DOMAIN held in this run of fault-serialization on reference-memory")


def test_machine_refuses_a_check_that_is_not_a_machine() -> None:
    from cachespec.spec import TargetError, machine

    with pytest.raises(TargetError, match="not a state-machine check"):
        machine("race-threads", "reference-memory", ["CONC-ONE-WINNER"])
