"""One private ``redis-server`` per process tree, for the ``redis`` target.

The first process that builds the target starts a server on a unix socket in a private temp
directory (no TCP port, no persistence: ``--save '' --appendonly no``) and exports its URL in
``CACHESPEC_REDIS_URL``, so every process it starts afterwards (check workers, crash children,
stress workers, which all rebuild the target by name) connects to the same server instead of
starting one. When that variable is already set (by a parent, or by the user pointing at their
own server) nothing is started.

The server must not outlive its starter, however the starter ends:
* normal exit: an ``atexit`` hook stops it (only in the process that started it: a forked child
  inherits atexit hooks and must not stop its parent's server);
* SIGKILL or any death that skips atexit: the server runs under a tiny ``sh`` watchdog whose
  stdin is a pipe from the starter; the starter's death closes the pipe, ``read`` sees EOF, and
  the watchdog kills the server and removes the directory (an orderly stop writes a line). The watchdog lives in its own session
  so a Ctrl-C or a killpg of the starter's group reaches only the starter; the pipe does the rest.
  (PR_SET_PDEATHSIG was not used: it fires when the *thread* that forked dies, and the target
  may be built from a worker thread.)
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

URL_ENV = "CACHESPEC_REDIS_URL"
UNAVAILABLE = ("no redis-server on PATH; install Debian's redis-server package or set "
               "CACHESPEC_REDIS_URL")
#: how long a starting server may take to answer PING; a server that dies first fails at once
START_TIMEOUT = 60.0
#: longest unix socket path (sun_path is 108 bytes with its NUL)
_MAX_SOCKET_PATH = 100

# Runs as `sh -c WATCHDOG cachespec-redis-watchdog DIR redis-server ARGS...`. The server's
# stdin is /dev/null (a background job of a non-interactive shell), its output goes to a log
# next to the socket; `read` returns when the starter closes the pipe or dies.
_WATCHDOG = ('d=$1; shift; trap "" INT HUP; "$@" >"$d/redis.log" 2>&1 & pid=$!; '
             'echo "$pid"; read _; kill "$pid" 2>/dev/null; wait "$pid"; rm -rf "$d"')


class ServerError(Exception):
    """The private server could not be started; the message says why (its log's tail)."""


@dataclass
class PrivateServer:
    """A started server: its URL, the server's pid, the watchdog and the directory."""

    url: str
    pid: int
    directory: Path
    watchdog: subprocess.Popen[bytes]
    owner_pid: int

    def stop(self) -> None:
        """Stop the server and remove its directory; a no-op outside the starting process."""
        if os.getpid() != self.owner_pid:
            return
        if self.watchdog.poll() is None:
            self._stop_watchdog()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _stop_watchdog(self) -> None:
        try:  # a line, not only EOF: a forked child may still hold the pipe's write end
            if self.watchdog.stdin is not None:
                self.watchdog.stdin.write(b"stop\n")
                self.watchdog.stdin.close()
        except OSError:  # the watchdog is gone already
            pass
        try:
            self.watchdog.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a server deaf to the watchdog's SIGTERM: exit anyway
            for pid in (self.pid, self.watchdog.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.watchdog.wait()


_lock = threading.Lock()
_server: PrivateServer | None = None


def server_binary() -> str | None:
    return shutil.which("redis-server")


def current_server() -> PrivateServer | None:
    """The server this process started (None if it started none)."""
    return _server if _server is not None and _server.owner_pid == os.getpid() else None


def server_url() -> str:
    """The URL every process of this tree uses: ``CACHESPEC_REDIS_URL``, else a private
    server started now (and exported in that variable for the children)."""
    global _server
    with _lock:
        url = os.environ.get(URL_ENV)
        if url:
            return url
        _server = start_server()
        atexit.register(_server.stop)
        os.environ[URL_ENV] = _server.url
        return _server.url


def _socket_dir() -> Path:
    """A private (0700) directory short enough for a unix socket path."""
    d = Path(tempfile.mkdtemp(prefix="cachespec-redis-"))
    if len(str(d / "redis.sock")) <= _MAX_SOCKET_PATH:
        return d
    d.rmdir()  # a long TMPDIR (a check session's scratch dir): fall back to /tmp
    return Path(tempfile.mkdtemp(prefix="cachespec-redis-", dir="/tmp"))


def start_server() -> PrivateServer:
    """Start a watched redis-server on a unix socket and wait until it answers PING."""
    binary = server_binary()
    if binary is None:
        raise ServerError(UNAVAILABLE)
    directory = _socket_dir()
    sock = directory / "redis.sock"
    args = [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
            "--dir", str(directory), "--save", "", "--appendonly", "no", "--daemonize", "no"]
    watchdog = subprocess.Popen(["sh", "-c", _WATCHDOG, "cachespec-redis-watchdog",
                                 str(directory), *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    assert watchdog.stdout is not None
    line = watchdog.stdout.readline()
    watchdog.stdout.close()
    server = PrivateServer(f"unix://{sock}", int(line or 0), directory, watchdog, os.getpid())
    try:
        _wait_until_ready(server, sock)
    except BaseException:
        server.stop()
        raise
    return server


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _wait_until_ready(server: PrivateServer, sock: Path) -> None:
    """Poll PING until it answers; fail at once if the server exited, else after START_TIMEOUT."""
    import redis

    deadline = time.monotonic() + START_TIMEOUT
    pause = 0.001
    while True:
        if not server.pid or not _alive(server.pid):
            raise ServerError(f"redis-server exited at start: {_log_tail(server.directory)}")
        if sock.exists():
            client = redis.Redis(unix_socket_path=str(sock), socket_timeout=5)
            try:
                if client.ping():
                    return
            except redis.exceptions.RedisError:
                pass
            finally:
                client.close()
        if time.monotonic() > deadline:
            raise ServerError(f"redis-server did not answer PING within {START_TIMEOUT:.0f} s: "
                              f"{_log_tail(server.directory)}")
        time.sleep(pause)  # a poll interval, not a synchronisation: readiness is PING's answer
        pause = min(pause * 2, 0.05)


def _log_tail(directory: Path) -> str:
    try:
        lines = (directory / "redis.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(lines[-3:]) or "empty log"


__all__ = ["PrivateServer", "ServerError", "UNAVAILABLE", "URL_ENV", "current_server",
           "server_binary", "server_url", "start_server"]
