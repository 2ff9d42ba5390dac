"""``python tools/stress_verdicts.py``: run ``cachespec stress`` on the published file- and
server-backed targets and record each outcome in ``docs/verdicts/stress/<target>.json``.

A maintainer tool like ``tools/verdicts.py``, which shows the recorded outcome in the target's
report ("Under stress"). A stress run is a sample, not an enumeration: a clean run says the
load found nothing, a violation is a real history the judge could not explain (the kinds and
clause ids are recorded with a few of the judge's messages). Op counts and fault counts are
recorded as observed, so the file changes only when this tool is run again.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "verdicts"
#: the published targets that keep entries in files or a server, and the stress run each gets:
#: four worker processes of four threads for 10 s, with writers killed mid-operation
STRESS_ARGS = ("--procs", "4", "--threads", "4", "--duration", "10", "--faults", "kill")
STRESS_TARGETS: tuple[str, ...] = (
    "diskcache", "cachelib-fs", "cachelib-fs-defaults", "sqlite3", "sqlitedict", "lmdb", "redis",
    "torch-local-backend")
EXAMPLES = 3  #: judge messages kept per (clause, kind)


def summarize(doc: dict[str, Any], target: str, version: str | None) -> dict[str, Any]:
    """The recorded outcome: what ran, how much, and the violations grouped by clause and kind."""
    from_verdicts = _verdicts_module()
    groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for v in doc.get("violations", []):
        groups[(v.get("clause") or "?", v.get("kind") or "?")].append(v.get("message") or "")
    return {
        "target": target, "version": version,
        "command": f"cachespec stress {target} {' '.join(STRESS_ARGS)}",
        "ops": doc.get("ops"), "errors": doc.get("errors"), "faults": doc.get("faults"),
        "verdict": doc.get("verdict"), "notes": [from_verdicts.scrub(n) for n in doc.get("notes", [])],
        "violations": [
            {"clause": clause, "kind": kind, "count": len(msgs),
             "examples": [from_verdicts.scrub(m, 600) for m in msgs[:EXAMPLES]]}
            for (clause, kind), msgs in sorted(groups.items())],
    }


def run_one(target: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cachespec-stress-verdict-") as tmp:
        report = Path(tmp) / "report.json"
        # --dir inside the temporary directory: a failing run keeps its history, and here the
        # outcome is recorded, so nothing may be left behind in the machine's temp dir
        proc = subprocess.run([sys.executable, "-m", "cachespec", "stress", target, *STRESS_ARGS,
                               "--dir", str(Path(tmp) / "run"), "--json", str(report)],
                              capture_output=True, text=True, timeout=600)
        if not report.is_file():
            raise RuntimeError(f"cachespec stress {target} wrote no report (exit "
                               f"{proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return json.loads(report.read_text())


def _verdicts_module() -> Any:
    import importlib.util

    if "cachespec_tools_verdicts" in sys.modules:
        return sys.modules["cachespec_tools_verdicts"]
    spec = importlib.util.spec_from_file_location("cachespec_tools_verdicts",
                                                  ROOT / "tools" / "verdicts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python tools/stress_verdicts.py", description=__doc__)
    p.add_argument("--target", action="append", choices=STRESS_TARGETS, metavar="T",
                   help=f"only this target (repeatable; default all: {', '.join(STRESS_TARGETS)})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    args = p.parse_args(argv)
    verdicts = _verdicts_module()
    (args.out / "stress").mkdir(parents=True, exist_ok=True)
    failed = 0
    for target in args.target or STRESS_TARGETS:
        dist = verdicts.VERDICT_TARGETS[target][0]
        version = verdicts.package_version(dist)
        if version is None:
            print(f"{target}: {dist} is not installed; skipped", file=sys.stderr)
            failed += 1
            continue
        try:
            doc = summarize(run_one(target), target, version)
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            print(f"{target}: {err}", file=sys.stderr)
            failed += 1
            continue
        path = args.out / "stress" / f"{target}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        report = args.out / f"{target}.md"
        if report.is_file():  # the report's last section shows the recorded outcome
            report.write_text(verdicts.with_stress_section(report.read_text(), doc))
        kinds = ", ".join(f"{v['clause']} {v['kind']} x{v['count']}" for v in doc["violations"])
        print(f"{target}: {doc['ops']} ops, {doc['verdict']}" + (f" ({kinds})" if kinds else ""))
    verdicts.write_index(args.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
