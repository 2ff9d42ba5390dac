"""``cachespec verdicts``: the published verdicts on real implementations (docs/verdicts/).

For each pinned implementation (torch's four caches, diskcache) the runner decides every clause;
this module writes one Markdown report per target: which package version, a row per clause, and
under each violation the checker's error, a hand-written standalone reproduction
(``repro/<target>/<CLAUSE-ID>.py``, whose module docstring is the assessment) and that snippet's
output observed against the installed package.

Reports carry no dates or timings, so regenerating changes them only when a verdict, an error
message or a snippet's output changes. ``--check-only`` regenerates the verdicts in memory and
fails when the set of violated clauses of a target differs from its committed report, when the
pinned version changed, or when a violation lacks a repro: a change of ours or of a pinned
package cannot silently change the published verdicts.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cachespec._cli import EXIT_FAIL, EXIT_OK, UsageError

#: the published targets: name -> (distribution, what exactly is checked)
VERDICT_TARGETS: dict[str, tuple[str, str]] = {
    "torch-memory": ("torch", "`torch._inductor.cache.InMemoryCache`"),
    "torch-disk": ("torch", "`torch._inductor.cache.OnDiskCache`"),
    "torch-caching-memory": (
        "torch", "`torch._inductor.runtime.caching.implementations._InMemoryCacheImpl` "
                 "(through an adapter: `Hit` unwrapped, `impl.lock()` held per call)"),
    "torch-caching-disk": (
        "torch", "`torch._inductor.runtime.caching.implementations._OnDiskCacheImpl` "
                 "(through an adapter: str keys, bytes values, `impl.lock()` held per call)"),
    "diskcache": ("diskcache", "`diskcache.Cache(directory)` with `add()` as insert "
                               "(through an adapter)"),
}
DEFAULT_OUT = Path("docs/verdicts")
#: a repro prints this as its last line (and exits 0) when it still shows the deviation
REPRODUCED = "DEVIATION REPRODUCED"
REPRO_TIMEOUT = 120.0
#: the per-check timeout of a verdict run. Far above the profiles' (a real hang still fails, a
#: loaded CI machine does not turn a slow disk into a published "deadlock").
CHECK_TIMEOUT = 180.0
#: (target, clause) whose checker verdict varies between runs at profile quick, and why. For
#: these the published verdict is decided by the repro snippet (violated when it reproduces),
#: so the committed set stays deterministic; remove an entry once the check is deterministic.
UNSTABLE: dict[tuple[str, str], str] = {
    **{(t, c): "the crash-writer check detects it only when its SIGKILL lands during a write"
       for t in ("torch-disk", "torch-caching-disk") for c in ("CRASH-ATOMIC", "CRASH-RECOVER")},
    **{("torch-caching-disk", c): "the race checks detect it only when the racing threads or "
                                  "processes interleave inside the unprotected window"
       for c in ("CONC-ONE-WINNER", "CONC-READ-WINNER", "CONC-PROC-ONE-WINNER",
                 "CONC-PROC-READ-WINNER")},
}
_MARK = "<!-- cachespec-verdicts"
_MARK_RE = re.compile(r"<!-- cachespec-verdicts (?P<body>.*?) -->")


# -- repro snippets -------------------------------------------------------------------------
@dataclass(frozen=True)
class Repro:
    path: Path
    code: str  #: the snippet without its docstring
    assessment: str  #: the snippet's module docstring


@dataclass(frozen=True)
class ReproRun:
    returncode: int | None  #: None when it timed out
    output: str  #: stdout then stderr, as observed

    @property
    def reproduced(self) -> bool:
        lines = self.output.strip().splitlines()
        return self.returncode == 0 and bool(lines) and lines[-1].strip() == REPRODUCED


def repro_path(out: Path, target: str, clause_id: str) -> Path:
    return out / "repro" / target / f"{clause_id}.py"


def load_repro(path: Path) -> Repro:
    """The snippet at ``path`` split into code and assessment (its module docstring)."""
    source = path.read_text()
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise UsageError(f"repro {path} does not parse: {err}") from None
    doc = ast.get_docstring(tree) or ""
    code = source
    first = tree.body[0] if tree.body else None
    if doc and isinstance(first, ast.Expr) and first.end_lineno is not None:
        code = "\n".join(source.splitlines()[first.end_lineno:])
    return Repro(path, code.strip("\n") + "\n", doc.strip())


def run_repro(path: Path, timeout: float = REPRO_TIMEOUT) -> ReproRun:
    """Run a snippet as a user would (``python snippet.py``) in a scratch directory."""
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    env.pop("PYTHONPATH", None)  # standalone: only the installed packages
    with tempfile.TemporaryDirectory(prefix="cachespec-repro-") as cwd:
        try:
            proc = subprocess.run([sys.executable, str(path.resolve())], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            return ReproRun(None, out + f"\n(timed out after {timeout:g} s)\n")
    output = proc.stdout + (f"--- stderr ---\n{proc.stderr}" if proc.stderr.strip() else "")
    return ReproRun(proc.returncode, output)


# -- the facts of one target ------------------------------------------------------------------
@dataclass
class Verdicts:
    target: str
    package: str
    version: str | None
    profile: str
    capabilities: list[str]
    clauses: list[Any]  #: ClauseResult of every clause
    error: str | None = None

    @property
    def violated(self) -> list[str]:
        return [c.id for c in self.clauses if c.status == "fail"]


def package_version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def collect(targets: Sequence[str], profile: str, timeout: float = CHECK_TIMEOUT,
            progress: Callable[[str], None] | None = None,
            out_dir: Path | None = DEFAULT_OUT) -> list[Verdicts]:
    """Run the conformance checks on each target (all clauses, MUST and SHOULD); UNSTABLE
    clauses are settled by the repros under ``out_dir``."""
    from ._runner import run_target

    out = []
    for name in targets:
        dist = VERDICT_TARGETS[name][0]
        if progress:
            progress(f"checking {name} ({dist} {package_version(dist) or 'not installed'}) "
                     f"at profile {profile} ...")
        report = run_target(name, profile, "should", timeout=timeout)
        v = Verdicts(name, dist, package_version(dist), profile, report.capabilities,
                     report.clauses, report.error)
        settle_unstable(v, out_dir)
        out.append(v)
    return out


def settle_unstable(v: Verdicts, out: Path | None,
                    run: Callable[[Path], ReproRun] = run_repro) -> None:
    """Decide the UNSTABLE clauses of ``v`` by their repro (see UNSTABLE)."""
    for c in v.clauses:
        why = UNSTABLE.get((v.target, c.id))
        if why is None or c.status == "n/a":
            continue
        note = f"(this clause's checker verdict varies between runs at profile quick: {why}; " \
               "the published verdict is the repro's)"
        path = repro_path(out, v.target, c.id) if out is not None else None
        if c.status == "fail":
            c.error = f"{c.error}\n{note}"
        elif path is not None and path.is_file() and run(path).reproduced:
            c.status = "fail"
            c.error = f"not detected by the checker in this run {note}"


# -- rendering ------------------------------------------------------------------------------
_TMP_PATH = re.compile(r"(/[^\s'\"]*)?/cachespec-(check|repro)-[^\s'\"]*")


def _scrub(text: str, limit: int = 1500) -> str:
    """Checker output without run-specific temp paths, bounded in size."""
    text = _TMP_PATH.sub("<storage>", text.strip())
    return text if len(text) <= limit else text[:limit] + " ..."


def _fence(text: str, lang: str = "") -> list[str]:
    ticks = "````" if "```" in text else "```"
    return [f"{ticks}{lang}", text.rstrip("\n"), ticks]


def render_report(v: Verdicts, out: Path,
                  run: Callable[[Path], ReproRun] = run_repro) -> tuple[str, list[str]]:
    """The report's Markdown and the problems found (violations without a working repro)."""
    from cachespec.spec import get_clause

    problems: list[str] = []
    dist_v = f"{v.package} {v.version or '(not installed)'}"
    counts = {s: sum(c.status == s for c in v.clauses) for s in ("pass", "fail", "n/a")}
    must = sum(c.status == "fail" and c.level == "MUST" for c in v.clauses)
    lines = [
        f"# Verdicts: `{v.target}` ({dist_v})", "",
        f"{_MARK} target={v.target} package={v.package} version={v.version} "
        f"violated={','.join(v.violated) or '-'} -->",
        "<!-- generated by `cachespec verdicts`; edit the snippets under "
        f"repro/{v.target}/ (their docstrings are the assessments), not this file -->", "",
        f"- Implementation: {VERDICT_TARGETS[v.target][1]}",
        f"- Package: **{dist_v}**",
        f"- Capabilities: {', '.join(f'`{c}`' for c in v.capabilities) or 'none'}",
        f"- Profile: `{v.profile}` (regenerate with `cachespec verdicts`)",
        f"- Result: {counts['pass']} pass, **{counts['fail']} violated** ({must} MUST, "
        f"{counts['fail'] - must} SHOULD), {counts['n/a']} n/a", "",
    ]
    if v.error:
        lines += [f"**The run failed:** {_scrub(v.error)}", ""]
        problems.append(f"{v.target}: the run failed: {v.error}")
    lines += ["## Every clause", "", "| clause | level | verdict |", "|---|---|---|"]
    for c in v.clauses:
        shown = {"pass": "pass", "n/a": "n/a", "fail": f"**[violated](#{c.id.lower()})**"}
        if c.status == "fail" and is_false_positive(out, v.target, c.id):
            shown["fail"] += " (false positive of the spec)"
        elif c.status == "fail" and (v.target, c.id) in UNSTABLE:
            shown["fail"] += " (settled by the repro)"
        note = f" (needs {', '.join(c.missing)})" if c.status == "n/a" and c.missing else ""
        lines.append(f"| `{c.id}` | {c.level} | {shown[c.status]}{note} |")
    lines.append("")
    fails = [c for c in v.clauses if c.status == "fail"]
    if fails:
        lines += ["## Violations", ""]
    for c in fails:
        clause = get_clause(c.id)
        rel = repro_path(Path("."), v.target, c.id).as_posix()
        lines += [f"### {c.id}", "", f"**{c.level}:** {clause.text}", "",
                  "**What the checker reported:**", "", *_fence(_scrub(c.error or "")), ""]
        if c.counterexample and c.counterexample.strip():
            lines += ["<details><summary>checker counterexample</summary>", "",
                      *_fence(_scrub(c.counterexample)), "", "</details>", ""]
        path = repro_path(out, v.target, c.id)
        if not path.is_file():
            lines += [f"**TODO: no repro** (`{rel}` does not exist).", ""]
            problems.append(f"{v.target}: {c.id} is violated but has no repro ({path})")
            continue
        repro = load_repro(path)
        result = run(path)
        lines += [f"**Reproduction** ([`{rel}`]({rel})):", "", *_fence(repro.code, "python"), "",
                  f"**Observed with {dist_v}:**", "", *_fence(_scrub(result.output, 4000)), ""]
        if not result.reproduced:
            lines += ["**WARNING: this snippet no longer reproduces the deviation.**", ""]
            problems.append(f"{v.target}: repro {path} did not print {REPRODUCED!r} "
                            f"(exit {result.returncode})")
        lines += ["**Assessment.** " + (repro.assessment or "TODO: no assessment"), ""]
        if not repro.assessment:
            problems.append(f"{v.target}: repro {path} has no docstring (the assessment)")
    return "\n".join(lines).rstrip("\n") + "\n", problems


def is_false_positive(out: Path | None, target: str, clause_id: str) -> bool:
    """Whether the clause's repro documents the verdict as a false positive of the spec."""
    path = repro_path(out, target, clause_id) if out is not None else None
    return bool(path and path.is_file()
                and load_repro(path).assessment.startswith("FALSE POSITIVE"))


def render_index(all_verdicts: Sequence[Verdicts], out: Path | None = None) -> str:
    """docs/verdicts/README.md: implementations against clause families."""
    from cachespec.spec import FAMILIES

    head = "| implementation | " + " | ".join(FAMILIES) + " |"
    lines = ["# What cachespec found", "",
             "<!-- generated by `cachespec verdicts`; do not edit by hand -->", "",
             "Each cell lists the violated clauses of that family (MUST in bold, *FP* = a false "
             "positive of the spec, explained in the report), `ok` when every applicable clause "
             "passes, `n/a` when none applies. Profile "
             f"`{all_verdicts[0].profile if all_verdicts else 'quick'}`; regenerate with "
             "`cachespec verdicts` from the repository root.", "",
             head, "|---" * (len(FAMILIES) + 1) + "|"]
    for v in all_verdicts:
        cells = []
        for fam in FAMILIES:
            mine = [c for c in v.clauses if c.id.split("-", 1)[0] == fam]
            bad = [c for c in mine if c.status == "fail"]
            if bad:
                shown = []
                for c in bad:
                    name = f"**{c.id}**" if c.level == "MUST" else c.id
                    fp = " *FP*" if is_false_positive(out, v.target, c.id) else ""
                    shown.append(f"[{name}]({v.target}.md#{c.id.lower()}){fp}")
                cells.append(", ".join(shown))
            elif any(c.status == "pass" for c in mine):
                cells.append("ok")
            else:
                cells.append("n/a")
        label = f"[`{v.target}`]({v.target}.md) ({v.package} {v.version})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- the committed reports --------------------------------------------------------------------
@dataclass(frozen=True)
class Committed:
    target: str
    version: str | None
    violated: frozenset[str]


def read_committed(path: Path) -> Committed | None:
    """The verdict facts recorded in a committed report (None if absent or unmarked)."""
    if not path.is_file():
        return None
    m = _MARK_RE.search(path.read_text())
    if not m:
        return None
    fields = dict(part.split("=", 1) for part in m.group("body").split() if "=" in part)
    violated = frozenset(x for x in fields.get("violated", "").split(",") if x and x != "-")
    ver = fields.get("version")
    return Committed(fields.get("target", ""), None if ver in (None, "None") else ver, violated)


def compare(v: Verdicts, committed: Committed | None) -> list[str]:
    """Differences between a fresh run and the committed report, one line each."""
    if committed is None:
        return [f"{v.target}: no committed report; run `cachespec verdicts`"]
    diffs = []
    if committed.version != v.version:
        diffs.append(f"{v.target}: report is for {v.package} {committed.version}, installed is "
                     f"{v.version}; regenerate with `cachespec verdicts`")
    now = set(v.violated)
    for cid in sorted(now - committed.violated):
        diffs.append(f"{v.target}: + {cid} is violated now but not in the committed report")
    for cid in sorted(committed.violated - now):
        diffs.append(f"{v.target}: - {cid} is in the committed report but no longer violated")
    return diffs


def stale_repros(out: Path, v: Verdicts) -> list[str]:
    """Snippets of clauses this target no longer violates."""
    folder = out / "repro" / v.target
    if not folder.is_dir():
        return []
    now = set(v.violated)
    return [f"{v.target}: repro {p} is for {p.stem}, which is not violated"
            for p in sorted(folder.glob("*.py")) if p.stem not in now]


# -- the command ----------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verdicts", help="regenerate the published verdicts on torch and diskcache",
        description="Check the pinned real implementations and write docs/verdicts/<target>.md "
                    "(every clause, and per violation a repro run against the installed "
                    "package). Exit 1 when a violation lacks a working repro or, with "
                    "--check-only, when the verdicts differ from the committed reports.")
    p.add_argument("--profile", choices=("quick", "default", "thorough"), default="quick",
                   help="search effort; the committed reports use quick (the default)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help="the reports folder (default: docs/verdicts, run from the repo root)")
    p.add_argument("--target", action="append", metavar="T", choices=tuple(VERDICT_TARGETS),
                   help=f"only this target (repeatable; default all: {', '.join(VERDICT_TARGETS)})")
    p.add_argument("--check-only", action="store_true",
                   help="write nothing; fail if the violated clauses differ from the reports")
    p.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                   help=f"per-check timeout (default {CHECK_TIMEOUT:g})")
    p.set_defaults(func=cmd_verdicts)


def cmd_verdicts(args: argparse.Namespace) -> int:
    out: Path = args.out
    targets = list(dict.fromkeys(args.target or VERDICT_TARGETS))
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.check_only and not out.is_dir():
        raise UsageError(f"--out {out}: no such directory (run from the repository root or "
                         "pass --out docs/verdicts)")
    if not args.check_only and not out.parent.is_dir():
        raise UsageError(f"--out {out}: parent directory {out.parent} does not exist")
    missing = sorted({VERDICT_TARGETS[t][0] for t in targets
                      if package_version(VERDICT_TARGETS[t][0]) is None})
    if missing:
        raise UsageError(f"not installed: {', '.join(missing)}; pip install -e '.[torch,diskcache]'")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results = collect(targets, args.profile, args.timeout, say, out)
    problems: list[str] = []
    for v in results:
        print(f"{v.target}: violated {', '.join(v.violated) or 'nothing'}")
        if v.error:
            problems.append(f"{v.target}: the run failed: {v.error}")
    if args.check_only:
        for v in results:
            problems += compare(v, read_committed(out / f"{v.target}.md"))
            problems += [f"{v.target}: {cid} is violated but has no repro "
                         f"({repro_path(out, v.target, cid)})"
                         for cid in v.violated if not repro_path(out, v.target, cid).is_file()]
            problems += stale_repros(out, v)
    else:
        out.mkdir(exist_ok=True)
        for v in results:
            text, found = render_report(v, out)
            (out / f"{v.target}.md").write_text(text)
            problems += found + stale_repros(out, v)
            say(f"wrote {out / f'{v.target}.md'}")
        if set(targets) == set(VERDICT_TARGETS):
            (out / "README.md").write_text(render_index(results, out))
            say(f"wrote {out / 'README.md'}")
    for line in problems:
        print(line)
    if problems:
        print(f"verdicts: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_FAIL
    print("verdicts: OK" + (" (match the committed reports)" if args.check_only else ""))
    return EXIT_OK


__all__ = ["CHECK_TIMEOUT", "Committed", "REPRODUCED", "Repro", "ReproRun", "UNSTABLE",
           "VERDICT_TARGETS", "Verdicts", "cmd_verdicts", "collect", "compare", "load_repro",
           "read_committed", "register", "render_index", "render_report", "repro_path",
           "is_false_positive", "run_repro", "settle_unstable", "stale_repros"]
