"""``import cachespec.reference`` stays cheap: it pulls in none of the heavy optional packages
(hypothesis and pytest belong to the spec and the harness, torch only to comparisons)."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import cachespec.reference
heavy = ("hypothesis", "pytest", "_pytest", "torch")
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)) or "none")
"""


def test_importing_the_reference_loads_no_hypothesis_pytest_or_torch() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    assert out == "none"


def test_the_probe_sees_a_heavy_import() -> None:
    # The probe itself works: the same listing after importing pytest names it.
    probe = _PROBE.replace("import cachespec.reference", "import cachespec.reference, pytest")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert "pytest" in out
