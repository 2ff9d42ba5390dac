"""pytest plugin (entry point ``pytest11: cachespec``): the conformance suite as pytest tests.

``pytest --cachespec-target TARGET`` adds one test per clause,
``cachespec[TARGET]::test_clause[CORE-INSERT-NO-OVERWRITE]``, so ``-k``, ``-n`` (xdist) and
``--junitxml`` work as for any test. A clause the target lacks capabilities for is skipped
(``n/a``), never passed. :mod:`cachespec.conformance.testing` offers the same suite as a base
class to subclass in a test file. Verdicts come from the engine every front end shares
(``_engine.TargetVerdicts``), with the checks run in a worker process (``_session``).

This module is imported by every pytest run where cachespec is installed, so it imports nothing
heavy at module level and does nothing unless ``--cachespec-target`` is given or a
``CacheConformanceTests`` subclass runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._results import FAIL, LEVELS, NA, PASS, UNDECIDED, ClauseResult

if TYPE_CHECKING:
    from ._engine import TargetVerdicts
    from ._session import WorkerSession


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cachespec", "cachespec conformance suite")
    group.addoption("--cachespec-target", action="append", default=[], metavar="TARGET",
                    dest="cachespec_targets",
                    help="run the cachespec conformance suite against TARGET (a built-in name, an "
                         "entry-point name, module:Class or module:Class(key=literal, ...)); "
                         "repeatable")
    # (profile names are checked when the suite is used, so that an inert run does not import
    # Hypothesis to list them)
    group.addoption("--cachespec-profile", default="default", dest="cachespec_profile",
                    metavar="PROFILE", help="the spec's search profile: quick, default (the "
                                            "default) or thorough")
    group.addoption("--cachespec-level", type=str.lower, choices=LEVELS, default="should",
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


def check_profile(profile: str) -> str:
    """``profile`` if the spec has it, else ValueError naming the ones it has."""
    from ._session import stall_timeout

    stall_timeout(profile)
    return profile


# -- verdicts, computed lazily, one worker per target per pytest process --------------------------
class _TargetState:
    """One target in this pytest process: its worker, and the engine's verdicts over the
    clauses this process was asked for (so each check runs once on all of them)."""

    def __init__(self, name: str, profile: str, timeout: float | None) -> None:
        from ._engine import load_spec

        self.name = name
        self.profile = profile
        self.timeout = timeout
        self.spec = load_spec()
        self.error: str | None = None
        self.capabilities: list[str] | None = None
        self.verdicts: TargetVerdicts | None = None
        self.ran: set[str] = set()
        self.session: WorkerSession | None = None

    def _start(self) -> None:
        """Start the worker: it resolves the target and reports the capabilities used."""
        from ._session import WorkerError, WorkerSession

        if self.capabilities is not None or self.error is not None:
            return
        self.session = WorkerSession(self.name, self.profile, timeout=self.timeout)
        try:
            self.capabilities = self.session.start_if_needed()
        except WorkerError as err:
            self.error = str(err)

    def verdict(self, clause_id: str, wanted: set[str]) -> ClauseResult:
        """The clause's final result; ``wanted``: the clauses this process will ask for."""
        from ._engine import TargetVerdicts
        from ._session import WorkerError

        try:
            clause = self.spec.get_clause(clause_id)
        except KeyError:
            return ClauseResult(clause_id, "?", FAIL, f"no clause {clause_id!r} in the spec")
        self._start()
        if self.error is not None:
            return ClauseResult(clause.id, str(clause.level).upper(), FAIL,
                                f"not run: target {self.name!r} is unusable: {self.error}")
        assert self.capabilities is not None and self.session is not None
        if self.verdicts is None or clause_id not in self.verdicts.results:
            asked = wanted | {clause_id}
            self.verdicts = TargetVerdicts(self.spec, [c for c in self.spec.CLAUSES
                                                       if c.id in asked], self.capabilities)
            self.ran = set()
        verdicts = self.verdicts
        for check, ids in verdicts.plan:
            if verdicts.final(clause_id):
                break
            if clause_id not in ids or check.name in self.ran:
                continue
            self.ran.add(check.name)
            try:
                outcome = self.session.run_check(check.name, ids, verdicts.violated)
            except WorkerError as err:
                verdicts.unusable(str(err))
                break
            verdicts.record(check.name, ids, outcome)
        return verdicts.results[clause_id]

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
                 profile: str = "default", timeout: float | None = None,
                 expected_deviation: str | None = None) -> None:
    """Pass, skip (n/a), xfail (an expected deviation that deviates) or fail the current test
    with the clause's verdict on ``target``. ``expected_deviation`` (a reason) is strict: a
    clause listed as a deviation that passes fails the test."""
    state = _engine(config).state(target, profile, timeout)
    result = state.verdict(clause_id, _wanted(session))
    if result.status == NA:
        pytest.skip(result.error or f"n/a: {target} lacks {', '.join(result.missing)}")
    detail = f"\nnote: {result.note}" if result.note else ""
    # a target that cannot even be built deviates from nothing: that failure is never expected
    if expected_deviation is not None and state.error is None:
        if result.status == PASS:
            pytest.fail(f"{clause_id} passed on {target}, but it is listed as an expected "
                        f"deviation ({expected_deviation}); remove it from "
                        f"expected_deviations{detail}", pytrace=False)
        pytest.xfail(f"expected deviation ({expected_deviation}): {result.status}: "
                     f"{result.error}")
    if result.status == UNDECIDED:
        pytest.fail(f"{clause_id} undecided on {target}: {result.error}{detail}", pytrace=False)
    if result.status == FAIL:
        text = f"{clause_id} violated by {target}\nerror: {result.error}{detail}"
        if result.counterexample:
            text += f"\ncounterexample:\n{result.counterexample}"
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
        from ._engine import load_spec, select_clauses

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
        from ._engine import load_spec

        try:
            check_profile(config.getoption("cachespec_profile"))
        except ValueError as err:
            raise pytest.UsageError(f"--cachespec-profile: {err}") from None
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
