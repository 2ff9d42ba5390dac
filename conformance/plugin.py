"""pytest plugin (entry point ``pytest11: cachespec``): the conformance suite as pytest tests.

``pytest --cachespec-target TARGET`` adds one test per clause,
``cachespec[TARGET]::test_clause[CORE-INSERT-ONCE]``, so ``-k``, ``-n`` (xdist) and
``--junitxml`` work as for any test. A clause the target lacks capabilities for is skipped
(``n/a``), never passed. :mod:`cachespec.conformance.testing` offers the same suite as a base
class to subclass in a test file.

This module is imported by every pytest run where cachespec is installed, so it imports nothing
heavy at module level and does nothing unless ``--cachespec-target`` is given or a
``CacheConformanceTests`` subclass runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._runner import WorkerSession

_PROFILES = ("quick", "default", "thorough")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cachespec", "cachespec conformance suite")
    group.addoption("--cachespec-target", action="append", default=[], metavar="TARGET",
                    dest="cachespec_targets",
                    help="run the cachespec conformance suite against TARGET (a built-in name, an "
                         "entry-point name or module:Class); repeatable")
    group.addoption("--cachespec-profile", choices=_PROFILES, default="default",
                    dest="cachespec_profile", help="search effort per check (default: default)")
    group.addoption("--cachespec-level", choices=("must", "should"), default="should",
                    dest="cachespec_level",
                    help="must: only MUST clauses; should (default): MUST and SHOULD")
    group.addoption("--cachespec-timeout", type=float, default=None, dest="cachespec_timeout",
                    metavar="SECONDS",
                    help="seconds without a completed operation of the target before it counts "
                         "as hung (default from the profile: 30/60/300)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cachespec: a cachespec conformance clause")
    if config.getoption("cachespec_targets", default=None):
        config.pluginmanager.register(_CommandLineSuite(config), "cachespec-conformance-suite")


def pytest_sessionfinish(session: pytest.Session) -> None:
    # (xdist workers may be torn down before pytest_unconfigure finishes: close here first)
    pytest_unconfigure(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    engine = config.stash.get(_ENGINE_KEY, None)
    if engine is not None:
        engine.close()


# -- the engine: clause verdicts, computed lazily, one worker per target per pytest process ----
class _TargetState:
    def __init__(self, name: str, profile: str, timeout: float | None) -> None:
        from ._runner import load_spec

        self.name = name
        self.profile = profile
        self.timeout = timeout
        self.spec = load_spec()
        self.error: str | None = None
        self._capabilities: set[str] | None = None
        self.ran: set[str] = set()
        #: clause id -> (error, counterexample) for every clause a check failed
        self.failures: dict[str, tuple[str, str | None]] = {}
        self.judged: set[str] = set()  #: clauses some check judged (and did not fail)
        self.session: WorkerSession | None = None

    @property
    def capabilities(self) -> set[str]:
        """Read from the worker (it resolves the target anyway), sparing this process the
        target's imports (torch takes seconds)."""
        if self._capabilities is None:
            from ._runner import WorkerError

            try:
                self._capabilities = set(self._session().start_if_needed())
            except WorkerError as err:
                self._capabilities = set()
                self.error = str(err)
        return self._capabilities

    def _session(self) -> WorkerSession:
        if self.session is None:
            from ._runner import WorkerSession

            self.session = WorkerSession(self.name, self.profile, timeout=self.timeout)
        return self.session

    def verdict(self, clause_id: str, wanted: set[str]) -> tuple[str, str | None, str | None]:
        """(status, error, counterexample); ``wanted``: the clauses this process will ask for,
        so each check runs once on all of them instead of once per clause."""
        from ._runner import FAIL, NA, PASS, UNDECIDED, WorkerError, plan_checks

        self.capabilities  # noqa: B018 - starts the worker, which may set self.error
        if self.error:
            return FAIL, f"target {self.name!r} is unusable: {self.error}", None
        try:
            clause = self.spec.get_clause(clause_id)
        except KeyError:
            return FAIL, f"no clause {clause_id!r} in the spec", None
        missing = sorted(set(clause.capabilities) - self.capabilities)
        if missing:
            return NA, f"n/a: {self.name} lacks {', '.join(missing)}", None
        applicable = {c.id for c in self.spec.CLAUSES
                      if c.id in wanted | {clause_id} and set(c.capabilities) <= self.capabilities}
        plan = [(check, ids) for check, ids in plan_checks(self.spec, applicable, self.capabilities)
                if clause_id in ids]
        if not plan:
            return UNDECIDED, ("not checked: no check in the spec covers this clause for a "
                               "target with these capabilities"), None
        for check, ids in plan:
            if check.name in self.ran:
                continue
            self.ran.add(check.name)
            try:
                outcome = self._session().run_check(check.name, ids)
            except WorkerError as err:
                for cid in ids:
                    self.failures.setdefault(cid, (f"not run: {err}", None))
                continue
            for cid, (error, cex, _secs) in outcome.failed.items():
                self.failures.setdefault(cid, (error, cex))
            self.judged.update(outcome.passed)
        if clause_id in self.failures:
            error, cex = self.failures[clause_id]
            return FAIL, error, cex
        if clause_id not in self.judged:  # pass means judged
            return UNDECIDED, (f"undecided: {', '.join(c.name for c, _ in plan)} ran but never "
                               "reached this clause's assertion, so nothing was judged"), None
        return PASS, None, None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


class _Engine:
    def __init__(self) -> None:
        self.states: dict[tuple[str, str, float | None], _TargetState] = {}

    def state(self, name: str, profile: str, timeout: float | None) -> _TargetState:
        key = (name, profile, timeout)
        if key not in self.states:
            self.states[key] = _TargetState(name, profile, timeout)
        return self.states[key]

    def close(self) -> None:
        for state in self.states.values():
            state.close()


_ENGINE_KEY = pytest.StashKey["_Engine"]()


def _engine(config: pytest.Config) -> _Engine:
    if _ENGINE_KEY not in config.stash:
        config.stash[_ENGINE_KEY] = _Engine()
    return config.stash[_ENGINE_KEY]


def _wanted(session: pytest.Session) -> set[str]:
    """Clause ids of the items this process collected (after -k / -m deselection)."""
    out = set()
    for item in session.items:
        cid = getattr(item, "clause_id", None)
        if cid is None:
            callspec = getattr(item, "callspec", None)
            cid = callspec.params.get("cachespec_clause") if callspec else None
        if isinstance(cid, str):
            out.add(cid)
    return out


def check_clause(config: pytest.Config, session: pytest.Session, target: str, clause_id: str,
                 profile: str = "default", timeout: float | None = None) -> None:
    """Pass, skip (n/a) or fail the current test with the clause's verdict on ``target``."""
    from ._runner import FAIL, NA, UNDECIDED

    state = _engine(config).state(target, profile, timeout)
    status, error, cex = state.verdict(clause_id, _wanted(session))
    if status == NA:
        pytest.skip(error or "n/a")
    if status == UNDECIDED:
        pytest.fail(f"{clause_id} undecided on {target}: {error}", pytrace=False)
    if status == FAIL:
        text = f"{clause_id} violated by {target}\nerror: {error}"
        if cex:
            text += f"\ncounterexample:\n{cex}"
        pytest.fail(text, pytrace=False)


# -- --cachespec-target: generated items --------------------------------------------------------
class ClauseItem(pytest.Item):
    """One clause of the spec checked against one target."""

    def __init__(self, *, clause_id: str, target: str, level: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clause_id = clause_id
        self.target = target
        self.level = level

    def runtest(self) -> None:
        opt = self.config.getoption
        check_clause(self.config, self.session, self.target, self.clause_id,
                     opt("cachespec_profile"), opt("cachespec_timeout"))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.target} {self.clause_id} ({self.level})"


class TargetSuite(pytest.Collector):
    """The clause items of one target."""

    def __init__(self, *, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> list[pytest.Item]:
        from ._runner import load_spec, select_clauses

        spec = load_spec()
        level = self.config.getoption("cachespec_level")
        grouped = self.config.pluginmanager.hasplugin("xdist")
        first_check = {}
        for check in spec.CHECKS:
            for cid in check.clause_ids:
                first_check.setdefault(cid, check.name)
        items = []
        for clause in select_clauses(spec, level):
            item = ClauseItem.from_parent(self, name=f"test_clause[{clause.id}]",
                                          clause_id=clause.id, target=self.target,
                                          level=str(clause.level).upper())
            item.add_marker(pytest.mark.cachespec)
            if grouped:
                # with `--dist loadgroup` the clauses of one check share a worker, so each
                # check runs once instead of once per xdist worker
                group = f"cachespec-{self.target}-{first_check.get(clause.id, clause.id)}"
                item.add_marker(pytest.mark.xdist_group(name=group))
            items.append(item)
        return items


class _CommandLineSuite:
    def __init__(self, config: pytest.Config) -> None:
        from cachespec.spec._subject import TargetError
        from ._targets import check_target_name

        self.targets: list[str] = list(dict.fromkeys(config.getoption("cachespec_targets")))
        # `pytest --cachespec-target X` alone runs just the suite; with explicit test paths
        # (`pytest tests/ --cachespec-target X`) it runs both
        self.only = config.args_source != pytest.Config.ArgsSource.ARGS
        for name in self.targets:
            try:
                check_target_name(name)
            except TargetError as err:
                raise pytest.UsageError(f"--cachespec-target: {err}") from None
        from ._runner import load_spec

        try:
            spec = load_spec()
            spec.CLAUSES, spec.CHECKS, spec.get_clause  # noqa: B018 - the API the suite needs
        except Exception as err:
            raise pytest.UsageError(f"--cachespec-target: the spec is not usable "
                                    f"({type(err).__name__}: {err}); reinstall cachespec") from None

    @pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so those select among ours
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        for target in self.targets:
            suite = TargetSuite.from_parent(session, name=f"cachespec[{target}]",
                                            nodeid=f"cachespec[{target}]", target=target)
            items.extend(suite.collect())

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        return True if self.only else None

    def pytest_report_header(self, config: pytest.Config) -> str:
        return (f"cachespec: targets {', '.join(self.targets)} "
                f"(profile {config.getoption('cachespec_profile')})")
