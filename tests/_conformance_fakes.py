"""Fixtures for the conformance tests: a tiny fake spec and tiny torch-shaped caches, as modules.

The conformance runner, CLI and plugin are tested against this fake registry so that their own
semantics (n/a, not checked, timeouts, re-runs, exit codes) are pinned independently of the real
spec's contents. The modules are written into a temp dir that child processes import through
PYTHONPATH, exactly as a user's own module would be.

The fake spec is chosen explicitly, never through the environment: in this process by patching
``_engine.DEFAULT_SPEC`` (the worker then gets ``--spec fakespec`` from its parent); in a pytest
child with ``-p use_fakespec``; in a CLI child with :func:`cli_argv`.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

FAKE_SPEC = textwrap.dedent('''
    """A fake clause registry with the shape of cachespec.spec."""
    import os
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class Clause:
        id: str
        level: str
        text: str
        capabilities: frozenset
        checked_by: tuple = ()
        torch_tests: tuple = ()

    @dataclass(frozen=True)
    class Check:
        name: str
        clause_ids: tuple
        capabilities: frozenset
        run: object

    @dataclass(frozen=True)
    class Violation:
        clause_id: str
        error: object
        counterexample: object = None

    CLAUSES = (
        Clause("CORE-INSERT-ONCE", "MUST", "insert never overwrites", frozenset({"core"})),
        Clause("CORE-GET-MISS", "MUST", "get of an absent key is None", frozenset({"core"})),
        Clause("CORE-SECOND", "MUST", "found only on a re-run", frozenset({"core"})),
        Clause("DISK-REOPEN", "MUST", "reopen sees entries", frozenset({"core", "persistent"})),
        Clause("CONC-HANG", "SHOULD", "insert returns", frozenset({"core"})),
        Clause("CONC-SLOW", "SHOULD", "slow is not hung", frozenset({"core"})),
        Clause("SAFE-UNCHECKED", "SHOULD", "no check covers this", frozenset({"core"})),
        Clause("SAFE-UNJUDGED", "SHOULD", "a check runs on this but never judges it",
               frozenset({"core"})),
    )
    _BY_ID = {c.id: c for c in CLAUSES}

    def run_core(target, workdir, profile, clauses):
        s = target.open(workdir)
        out = []
        if "CORE-GET-MISS" in clauses and s.get("absent") is not None:
            out.append(Violation("CORE-GET-MISS", "get returned a value", "get('absent')"))
        if "CORE-INSERT-ONCE" in clauses:
            first, second = s.insert("k", 1), s.insert("k", 2)
            if not (first and not second and s.get("k") == 1):
                # with Hypothesis' advice, which no report may show
                out.append(Violation("CORE-INSERT-ONCE",
                                     AssertionError(f"overwrote: {first}, {second}, {s.get('k')}"),
                                     "insert('k', 1); insert('k', 2); get('k')\\n"
                                     "You can reproduce this example by temporarily adding "
                                     "@reproduce_failure('6.100.0', b'AXicY2BgAAAABAAB') as a "
                                     "decorator on your test case"))
        # like a shrinking search: the second problem only shows once the first is excluded
        if "CORE-SECOND" in clauses and "CORE-INSERT-ONCE" not in clauses:
            if getattr(target, "name", "").endswith(":Overwrites"):
                out.append(Violation("CORE-SECOND", "second finding", "insert('z', 0)"))
        # a .hypothesis dir must land in the worker's scratch cwd, never the user's
        os.makedirs(".fake-hypothesis-db", exist_ok=True)
        return out

    def run_reopen(target, workdir, profile, clauses):
        s = target.open(workdir)
        s.insert("r", 1)
        ok = s.reopen().get("r") == 1
        return [] if ok else [Violation("DISK-REOPEN", "entry lost on reopen", "insert r; reopen")]

    def run_hang(target, workdir, profile, clauses):
        target.open(workdir).insert(("hang",), 1)
        return []

    def run_slow(target, workdir, profile, clauses):
        s = target.open(workdir)
        for i in range(10):
            s.insert(("slow", i), i)
        return []

    @dataclass(frozen=True)
    class CheckResult:
        violations: list
        judged: dict
        notes: dict = field(default_factory=dict)

    def judging(fn, notes=None):
        """Every asked clause but SAFE-UNJUDGED counts as judged once."""
        def run(target, workdir, profile, clauses):
            return CheckResult(fn(target, workdir, profile, clauses),
                               {c: 1 for c in clauses if c != "SAFE-UNJUDGED"},
                               {c: n for c, n in (notes or {}).items() if c in clauses})
        return run

    CHECKS = (
        Check("slow", ("CONC-SLOW",), frozenset({"core"}), judging(run_slow)),
        Check("hang", ("CONC-HANG",), frozenset({"core"}), judging(run_hang)),
        Check("core", ("CORE-INSERT-ONCE", "CORE-GET-MISS", "CORE-SECOND", "SAFE-UNJUDGED"),
              frozenset({"core"}),
              judging(run_core, {"CORE-GET-MISS": "looked up one absent str key"})),
        Check("reopen", ("DISK-REOPEN",), frozenset({"core", "persistent"}), judging(run_reopen)),
    )

    def get_clause(cid):
        return _BY_ID[cid]

    def render_markdown():
        return "# Fake spec\\n\\n" + "".join(f"- `{c.id}` ({c.level}): {c.text}\\n" for c in CLAUSES)

    def get_profile(name):
        return name
''')

FAKE_CACHES = textwrap.dedent('''
    """Tiny torch-shaped caches: one right, one that overwrites, one that hangs."""
    import ast
    import os
    import sys
    import threading
    import time
    from functools import cached_property
    from pathlib import Path

    class CacheError(ValueError):
        pass

    class Good:
        def __init__(self):
            self._d = {}
            self._lock = threading.Lock()

        def get(self, key):
            with self._lock:
                return self._d.get(key)

        def insert(self, key, value):
            with self._lock:
                if key in self._d:
                    return False
                self._d[key] = value
                return True

    class Overwrites(Good):
        def insert(self, key, value):
            self._d[key] = value
            return True

    class Hangs(Good):
        def insert(self, key, value):
            if key == ("hang",):
                while True:  # a livelock: never returns
                    time.sleep(0.05)
            return super().insert(key, value)

    class Slow(Good):
        """Each insert of a ("slow", i) key takes 0.4 s: slow, never hung."""

        def insert(self, key, value):
            if isinstance(key, tuple) and key[:1] == ("slow",):
                time.sleep(0.4)
            return super().insert(key, value)

    class Disk:
        version = 0

        def __init__(self, name=None):
            self.name = name or "disk"

        @cached_property
        def base_dir(self):
            return Path("/nonexistent-default")

        def _path(self, key):
            return self.base_dir / f"v{type(self).version}-{key!r}".replace("/", "_")

        def get(self, key):
            p = self._path(key)
            return ast.literal_eval(p.read_text()) if p.is_file() else None

        def insert(self, key, value):
            try:
                with open(self._path(key), "x") as f:
                    f.write(repr(value))
            except FileExistsError:
                return False
            return True

    class NeedsArgs(Good):
        def __init__(self, size):
            super().__init__()

    class Counted(Good):
        """Logs the pid of every construction, to count resolutions per process."""

        def __init__(self):
            super().__init__()
            with open(Path(__file__).with_name("constructions.log"), "a") as f:
                f.write(f"{os.getpid()}\\n")

    class WorkerSeesMore(Good):
        """Claims persistence only inside a check worker: the worker's capabilities rule."""

        cachespec_capabilities = (("core", "persistent") if sys.argv[0].endswith("_worker.py")
                                  else ("core",))

    class Configurable(Good):
        """Overwrites only when constructed with overwrite=True: proves arguments reach the
        worker that rebuilds the target from its name."""

        def __init__(self, overwrite, label=""):
            super().__init__()
            self.overwrite = overwrite

        def insert(self, key, value):
            if self.overwrite:
                self._d[key] = value
                return True
            return super().insert(key, value)
''')


USE_FAKESPEC = textwrap.dedent('''
    """Load with `pytest -p use_fakespec` or import first: the engine judges against fakespec."""
    from cachespec.conformance import _engine

    _engine.DEFAULT_SPEC = "fakespec"
''')


def write_fakes(directory: Path) -> Path:
    """Write ``fakespec.py``, ``fakecaches.py`` and ``use_fakespec.py`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "fakespec.py").write_text(FAKE_SPEC)
    (directory / "fakecaches.py").write_text(FAKE_CACHES)
    (directory / "use_fakespec.py").write_text(USE_FAKESPEC)
    return directory


def fake_env(directory: Path) -> dict[str, str]:
    """Environment for a child process that can import the fakes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def cli_argv(*args: str, fake_spec: bool = True) -> list[str]:
    """The command line of ``cachespec ARGS`` in a child, judging against the fake spec."""
    prelude = "import use_fakespec; " if fake_spec else ""
    return [sys.executable, "-c",
            f"import sys; {prelude}from cachespec._cli import main; sys.exit(main(sys.argv[1:]))",
            *args]
