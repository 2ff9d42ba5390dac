"""The ``redis`` target: its private server's lifecycle (started, answering, stopped when its
starter exits or is SIGKILLed), the reason it is unavailable without redis-server,
``CACHESPEC_REDIS_URL`` honoured, one keyspace per storage directory, and the trust check
proving SAFE-PRIVATE-STORAGE inapplicable (n/a, not violated, never a pass) for a store that
keeps nothing in its directory. The full check and stress runs are soaks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

redis = pytest.importorskip("redis")

from cachespec.conformance import TargetError, list_targets, resolve_target  # noqa: E402
from cachespec.conformance.adapters import _redis_server  # noqa: E402
from cachespec.conformance.adapters.redis import RedisAdapter, keyspace_prefix  # noqa: E402

URL_ENV = _redis_server.URL_ENV
needs_server = pytest.mark.skipif(
    _redis_server.server_binary() is None and not os.environ.get(URL_ENV),
    reason=_redis_server.UNAVAILABLE)

#: a child that builds the target without an inherited server, prints the server's pid and
#: directory, and either exits (argv[1] == "exit") or waits for stdin to close
_CHILD = """
import sys
import redis
from cachespec.conformance import resolve_target
from cachespec.conformance.adapters import _redis_server
target = resolve_target("redis")
server = _redis_server.current_server()
info = redis.Redis.from_url(target.url).info("server")
assert info["process_id"] == server.pid, (info["process_id"], server.pid)
print(server.pid, server.directory, flush=True)
if sys.argv[1] == "wait":
    sys.stdin.read()
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(URL_ENV, None)  # the child must start its own server
    return env


def _is_redis_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return b"(redis-server)" in stat and stat.rsplit(b")", 1)[-1].split()[0] != b"Z"


@pytest.fixture
def own_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_redis_server.PrivateServer]:
    """A server of the test's own, not the session's: stopped at the end of the test."""
    server = _redis_server.start_server()
    try:
        yield server
    finally:
        server.stop()


# -- lifecycle ---------------------------------------------------------------------------------
@needs_server
def test_the_server_started_by_a_process_is_stopped_when_it_exits() -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD, "exit"], capture_output=True,
                          text=True, env=_child_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    pid, directory = done.stdout.split()
    # atexit waited for the watchdog, which reaped the server: gone before the child was
    assert not _is_redis_server(int(pid))
    assert not Path(directory).exists()


@needs_server
def test_the_server_of_a_sigkilled_process_does_not_outlive_it() -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, "wait"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=_child_env())
    assert child.stdout is not None
    pid_text, directory = child.stdout.readline().split()
    pid = int(pid_text)
    assert _is_redis_server(pid)
    child.send_signal(signal.SIGKILL)  # no atexit: only the watchdog's pipe can stop it
    child.wait()
    deadline = time.monotonic() + 60  # a bound on a cleanup, not a timing verdict
    while _is_redis_server(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _is_redis_server(pid), "the server outlived its SIGKILLed starter"
    while Path(directory).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(directory).exists()


@needs_server
def test_a_forked_child_neither_owns_nor_stops_its_parents_server(
        own_server: _redis_server.PrivateServer) -> None:
    pid = os.fork()
    if pid == 0:  # the child: a stop (as its inherited atexit hook would) must do nothing
        own_server.stop()
        os._exit(0 if _redis_server.current_server() is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert redis.Redis.from_url(own_server.url).ping()


# -- availability and which server -----------------------------------------------------------
def test_a_server_that_fails_to_start_is_a_target_error_with_its_log(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL CONFIG FILE ERROR (fake)'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.setattr(_redis_server, "server_binary", lambda: str(fake))
    monkeypatch.setattr(_redis_server, "_server", None)
    import tempfile

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    with pytest.raises(TargetError, match=r"exited at start: FATAL CONFIG FILE ERROR \(fake\)"):
        resolve_target("redis")
    assert URL_ENV not in os.environ and _redis_server.current_server() is None
    assert list((tmp_path / "tmp").iterdir()) == []  # its directory is removed


def test_without_redis_server_on_path_the_target_is_unavailable_with_the_reason(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = "no redis-server on PATH; install Debian's redis-server package or set " \
             "CACHESPEC_REDIS_URL"
    assert RedisAdapter.unavailable() == reason
    with pytest.raises(TargetError, match="no redis-server on PATH"):
        resolve_target("redis")
    (row,) = [r for r in list_targets() if r.name == "redis"]
    assert not row.available and row.error == reason


@needs_server
def test_cachespec_redis_url_is_used_and_no_server_is_started(
        monkeypatch: pytest.MonkeyPatch, own_server: _redis_server.PrivateServer,
        tmp_path: Path) -> None:
    monkeypatch.setenv(URL_ENV, own_server.url)
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server to start: the URL is enough
    monkeypatch.setattr(_redis_server, "_server", None)
    assert RedisAdapter.unavailable() is None
    target = resolve_target("redis")
    assert target.url == own_server.url and _redis_server.current_server() is None
    s = target.open(tmp_path / "store")
    try:
        assert s.insert("k", b"v") is True
    finally:
        s.close()
    plain = redis.Redis.from_url(own_server.url)
    assert plain.get(keyspace_prefix(tmp_path / "store") + "k") == b"v"
    assert plain.keys("*") == [(keyspace_prefix(tmp_path / "store") + "k").encode()]


def test_a_url_that_does_not_answer_is_a_one_line_target_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(URL_ENV, f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(TargetError, match=r"does not answer") as info:
        resolve_target("redis")
    assert "\n" not in str(info.value)


# -- storage directories are keyspaces -------------------------------------------------------
@needs_server
def test_each_storage_directory_is_its_own_keyspace(tmp_path: Path) -> None:
    target = resolve_target("redis")
    a, b = target.open(tmp_path / "a"), target.open(tmp_path / "b")
    again = target.open(tmp_path / "b" / ".." / "a")  # another spelling of a
    try:
        assert a.insert("key", b"in a") is True
        assert b.get("key") is None and b.insert("key", b"in b") is True
        assert a.get("key") == b"in a" and b.get("key") == b"in b"
        assert again.get("key") == b"in a" and again.insert("key", b"x") is False
        assert list((tmp_path / "a").iterdir()) == []  # nothing on disk: the server holds it
    finally:
        for s in (a, b, again):
            s.close()
    assert keyspace_prefix(tmp_path / "a") != keyspace_prefix(tmp_path / "b")
    assert len(keyspace_prefix(tmp_path / "a")) == len(keyspace_prefix(tmp_path / ("x" * 50)))


@needs_server
def test_another_process_on_the_same_directory_shares_the_entries(tmp_path: Path) -> None:
    target = resolve_target("redis")  # exports the session's server to children
    s = target.open(tmp_path)
    try:
        assert s.insert("shared", b"from the parent") is True
        code = ("import sys; from cachespec.conformance import resolve_target; "
                "s = resolve_target('redis').open(sys.argv[1]); "
                "print(s.get('shared'), s.insert('shared', b'child'), s.insert('new', b'c'))")
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["b'from", "the", "parent'", "False", "True"]
        assert s.get("new") == b"c"
    finally:
        s.close()


# -- the trust check: a store with nothing in its directory ----------------------------------
@needs_server
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="the trust check hands storage to another user (needs root)")
def test_trust_check_proves_the_clause_inapplicable_when_the_directory_holds_nothing(
        tmp_path: Path) -> None:
    import cachespec.spec as spec

    check = next(c for c in spec.CHECKS if c.name == "trust-storage")
    result = check.run(resolve_target("redis"), tmp_path, "quick",
                       frozenset({"SAFE-PRIVATE-STORAGE"}))
    assert result.violations == []  # before: "get returned b'planted'", a false positive
    assert not result.judged.get("SAFE-PRIVATE-STORAGE")
    assert "held no file" in result.inapplicable["SAFE-PRIVATE-STORAGE"]


# -- soaks: the whole check and a stress run with killed clients -----------------------------
def _servers_under(directory: Path) -> list[int]:
    """Pids of live redis-servers whose socket lives under ``directory``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and _is_redis_server(int(proc.name)):
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if str(directory).encode() in cmdline:
                found.append(int(proc.name))
    return found


@pytest.fixture
def short_tmpdir() -> Iterator[Path]:
    """A TMPDIR short enough for the server's socket, for a command that starts its own."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="csr-", dir="/tmp"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _run_cli(args: list[str], tmpdir: Path, pythonpath: Path | None = None
             ) -> subprocess.CompletedProcess[str]:
    env = _child_env()
    env["TMPDIR"] = str(tmpdir)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath),
                                                          env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "cachespec", *args], capture_output=True,
                          text=True, env=env, timeout=900)


@pytest.mark.soak
@needs_server
def test_check_finds_no_violation_and_leaves_no_server(short_tmpdir: Path, tmp_path: Path
                                                       ) -> None:
    import json

    done = _run_cli(["check", "redis", "--profile", "quick", "--json", str(tmp_path / "r.json")],
                    short_tmpdir)
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: an undecided clause
    report = json.loads((tmp_path / "r.json").read_text())
    statuses = {c["id"]: c["status"] for c in report["targets"][0]["clauses"]}
    assert [c for c, s in statuses.items() if s == "fail"] == [], done.stdout
    # the clauses about the storage directory's files: Redis keeps nothing there (proved by
    # the checks' probes: n/a); no input in its domain (str keys, bytes values) makes it fail,
    # so whether its errors are CacheErrors stays undecided
    files = {"DISK-CORRUPT-ENTRY", "DISK-CORRUPT-DETECTED", "DISK-CORRUPT-RECOVER",
             "SAFE-DISK-NO-CODE"} | ({"SAFE-PRIVATE-STORAGE"} if os.geteuid() == 0 else set())
    assert {c for c in files if statuses[c] != "n/a"} == set(), statuses
    assert {c for c, s in statuses.items() if s == "undecided"} <= {"ERROR-ONLY-CACHEERROR"}
    assert statuses["CONC-PROC-ONE-WINNER"] == statuses["CRASH-ATOMIC"] == "pass"
    assert _servers_under(short_tmpdir) == [] and list(short_tmpdir.iterdir()) == []


@pytest.mark.soak
@needs_server
def test_stress_with_killed_clients_finds_no_violation(short_tmpdir: Path) -> None:
    import json

    done = _run_cli(["stress", "redis", "--procs", "4", "--duration", "10", "--faults", "kill",
                     "--json", "-"], short_tmpdir)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["verdict"] == "ok" and report["violations"] == []
    assert report["faults"]["kills"] > 0 and report["ops"] > 0
    assert _servers_under(short_tmpdir) == []


_GET_THEN_SET = '''
from cachespec.conformance.adapters.redis import RedisAdapter


class GetThenSet(RedisAdapter):
    """GET, then a plain SET: the check-then-set SET NX exists to avoid."""

    def insert(self, native, key, value):
        name = native.prefix + key
        if native.client.get(name) is not None:
            return False
        native.client.set(name, value)
        return True
'''


@pytest.mark.soak
@needs_server
def test_the_same_server_used_with_get_then_set_is_caught(short_tmpdir: Path,
                                                          tmp_path: Path) -> None:
    """The clean verdict is not vacuous: the races that SET NX wins are run and do find a
    GET-then-SET on the same server."""
    import json

    (tmp_path / "redis_get_then_set.py").write_text(_GET_THEN_SET)
    done = _run_cli(["check", "redis_get_then_set:GetThenSet", "--profile", "quick",
                     "--clause", "CONC-ONE-WINNER", "--clause", "CONC-PROC-ONE-WINNER",
                     "--json", str(tmp_path / "r.json")], short_tmpdir, pythonpath=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert {c["id"]: c["status"] for c in report["targets"][0]["clauses"]} == {
        "CONC-ONE-WINNER": "fail", "CONC-PROC-ONE-WINNER": "fail"}
