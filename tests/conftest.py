"""Test-suite configuration.

The stress plugin (``cachespec.stress._xdist``: the ``stress_slice`` fixture, ``--soak``, the
merged end-of-session check) and the conformance plugin come with the installed package as
``pytest11`` entry points, exactly as users get them.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_SCRATCH = "CACHESPEC_SUITE_TMPDIR"


def pytest_configure(config: pytest.Config) -> None:
    # Every temporary file of the run (pytest's tmp_path, the checks' scratch storage, and what
    # a deliberately broken cache writes after it was closed, such as a write-behind mutant's
    # late flush) goes below one directory that the controller removes at the end, so a run
    # leaves nothing in the machine's temp dir. xdist workers inherit it through TMPDIR.
    if hasattr(config, "workerinput") or os.environ.get(_SCRATCH):
        return
    scratch = tempfile.mkdtemp(prefix="cachespec-suite-")
    os.chmod(scratch, 0o755)  # other users' processes (the trust repros drop to uid 65534) pass through
    os.environ[_SCRATCH] = os.environ["TMPDIR"] = scratch
    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    config.stash[_KEY] = scratch


def pytest_unconfigure(config: pytest.Config) -> None:
    scratch = config.stash.get(_KEY, None)
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)


_KEY = pytest.StashKey[str]()
