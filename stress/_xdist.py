"""pytest plugin: stress tests that share one cache across pytest-xdist workers, checked once.

Every test that uses the ``stress_slice`` fixture runs a slice of a stress run (worker processes
and faults, see ``_run``) on the session's one cache directory and writes its histories to the
session's one history directory, both named by xdist's ``testrun_uid``: so under ``pytest -n N``
the slices of all xdist workers contend for the same entries. The merged history is judged
once, in the controller, at the end of the session: the final reads are recorded in it, then
``judge`` (the same function as ``cachespec stress`` and ``cachespec verify``) decides; a
violation fails the run. Without xdist (``-n 0``) the one process is the controller.

Across hosts (``--tx ssh=...``) the cache and history directories must be one shared path
(``--stress-dir`` on a shared file system); the check then compares ops by time only within a
host (each host has its own monotonic clock) and applies the clock-free checks across hosts
(see ``cachespec.stress._hosts``). A worker's host is ``CACHESPEC_STRESS_HOST`` if set (so
``--tx popen//env:CACHESPEC_STRESS_HOST=a`` simulates hosts on one machine), else its host name.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cachespec.stress._config import StressConfig, StressResult
from cachespec.stress._run import run_stress
from cachespec.stress._workload import Workload

DEFAULT_TARGET = "reference-disk"


def _add(group: Any, *names: str, **kwargs: Any) -> None:
    try:
        group.addoption(*names, **kwargs)
    except ValueError:
        pass  # another plugin (or a conftest) declared it already


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cachespec-stress", "cachespec stress (shared-cache stress tests)")
    _add(group, "--soak", action="store_true", default=False,
         help="run the long stress soaks (tests marked soak)")
    _add(group, "--stress-target", default=DEFAULT_TARGET, metavar="TARGET",
         help=f"target of the shared-cache stress tests ({DEFAULT_TARGET})")
    _add(group, "--stress-dir", default=None, metavar="DIR",
         help="parent of the session's cache and history directories (a shared file system "
              "when xdist workers run on several hosts); default: the temp dir")
    _add(group, "--stress-keep", action="store_true", default=False,
         help="keep the stress cache and histories even when the check passes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long stress soaks; opt in with --soak")
    if not hasattr(config, "workerinput") and hasattr(config.option, "testrunuid") \
            and not config.option.testrunuid:
        # Decide the run id here so the controller knows the directory its workers will use
        # (xdist hands this option to every worker as workerinput["testrunuid"]).
        config.option.testrunuid = uuid.uuid4().hex
    config.stash[_UID] = _uid(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("soak", False):
        return
    skip = pytest.mark.skip(reason="long soak: run with --soak")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)


_UID = pytest.StashKey[str]()


def _uid(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return str(workerinput["testrunuid"])
    return str(getattr(config.option, "testrunuid", None) or uuid.uuid4().hex)


def run_root(config: pytest.Config) -> Path:
    """``<stress-dir>/cachespec-stress-<testrun_uid>``: the same path in every xdist worker."""
    base = config.getoption("stress_dir", None) or tempfile.gettempdir()
    return Path(base) / f"cachespec-stress-{config.stash[_UID]}"


@dataclass
class StressSlice:
    """What a test gets: ``run(...)`` runs one slice on the session's shared cache."""

    config: pytest.Config
    name: str
    target: str
    soak: bool
    calls: int = 0  #: slices run so far: each gets its own history files

    @property
    def root(self) -> Path:
        return run_root(self.config)

    def run(self, *, duration: float = 5.0, procs: int = 2, threads: int = 2, faults: str = "",
            keys: int = 32, sizes: Any = None, stuck_timeout: float = 10.0, seed: int = 0,
            target: str | None = None, mix: str | None = None,
            key_epoch: float | None = None) -> StressResult:
        """One slice; ``mix`` (``"get=1"``) and ``key_epoch`` (0: the same keys throughout)
        let a test run phases that depend on each other, e.g. one host writes, then another
        reads what it wrote, with no luck in whether their ops meet."""
        from cachespec.stress._faults import parse_faults
        from cachespec.stress._workload import parse_mix

        extra: dict[str, Any] = {"sizes": sizes} if sizes else {}
        if mix is not None:
            extra["mix"] = parse_mix(mix)
        if key_epoch is not None:
            extra["epoch"] = key_epoch
        workload = Workload(keys=keys, seed=seed, **extra)
        worker = getattr(self.config, "workerinput", {}).get("workerid", "main")
        self.calls += 1
        # A second slice of one test must not overwrite the first one's history files.
        suffix = "" if self.calls == 1 else f"-r{self.calls}"
        cfg = StressConfig(
            target=target or self.target, procs=procs, threads=threads, duration=duration,
            workload=workload, faults=parse_faults(faults), storage=self.root / "cache",
            history_dir=self.root / "history", stuck_timeout=stuck_timeout, seed=seed,
            tag=f"{worker}-{self.name}{suffix}", check=False)
        return run_stress(cfg)


@pytest.fixture
def stress_slice(request: pytest.FixtureRequest) -> Iterator[StressSlice]:
    """Run stress slices on the session's shared cache; checked at the end of the session."""
    safe = "".join(c if c.isalnum() else "_" for c in request.node.name)[:60]
    yield StressSlice(request.config, safe, request.config.getoption("stress_target"),
                      bool(request.config.getoption("soak")))


def check_session(root: Path) -> tuple[list[Any], str]:
    """Judge every slice's history under ``root``: (violations, one-line summary).

    The final reads are made here, once for the whole session, and recorded in the session's
    history; the verdict is then ``judge(history)``, exactly what ``cachespec verify`` gives
    for ``root/history``. A history that already holds final reads is judged as it is.
    """
    from cachespec.stress._final import final_reads, used_keys
    from cachespec.stress._history import read_history
    from cachespec.stress._judge import judge

    history = root / "history"
    events = read_history(sorted(history.glob("*.jsonl")))
    parents = [e for e in events if e["ev"] == "meta" and e.get("role") == "parent"]
    if not parents:
        return [], ""
    hosts = {m.get("host") for m in events if m["ev"] == "meta" and m.get("role")}
    if not any(e["ev"] == "meta" and "final_reads" in e for e in events):
        versions: dict[str | None, int | None] = {}
        for p in parents:
            for g, v in p.get("group_versions") or [[None, None]]:
                if versions.get(g) is None:
                    versions[g] = v
        groups = sorted(versions.items(), key=lambda kv: str(kv[0]))
        keys = used_keys(events)
        timeout = max(float(p.get("stall_timeout") or 10.0) for p in parents)
        for n, target in enumerate(sorted({p["target"] for p in parents})):
            final_reads(target, root / "cache", history / f"session-final-{n}.jsonl", keys,
                        groups, timeout)
        events = read_history(sorted(history.glob("*.jsonl")))
    files = len(list(history.glob("*.jsonl")))
    ops = sum(1 for e in events if e["ev"] in ("ok", "fail"))
    summary = (f"{files} history files, {ops} ops by {len(parents)} slices on {len(hosts)} "
               f"host(s)" + ("" if len(hosts) <= 1 else " (real time within each host only)"))
    return judge(events), summary


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return  # workers only write histories; the controller checks them once
    root = run_root(config)
    if not (root / "history").is_dir():
        return
    from cachespec.stress._report import format_violation

    violations, summary = check_session(root)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None and summary:
        tr.write_sep("=", f"cachespec stress: merged check of {summary}")
        for v in violations[:20]:
            tr.write_line(format_violation(v), red=True)
        if violations:
            tr.write_sep("=", f"cachespec stress: {len(violations)} violation(s); "
                              f"histories kept in {root}", red=True)
        else:
            tr.write_line("cachespec stress: 0 violations")
    if violations:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif not config.getoption("stress_keep", False):
        shutil.rmtree(root, ignore_errors=True)
