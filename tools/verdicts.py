"""``python tools/verdicts.py``: the published verdicts on real implementations (docs/verdicts/).

A maintainer tool, not part of the installed package: run it from a checkout with cachespec,
torch and the third-party libraries installed (``pip install -e ".[test,torch,targets]"``).

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

A repro is judged on its own stdout only (exit 0 and ``DEVIATION REPRODUCED`` as the last line):
warnings that imported packages print on stderr (torch without numpy, say) cannot change a
verdict. Its stderr is shown when it fails, never parsed. Every published verdict is the
checker's: a repro illustrates a violation, it never decides one.
"""

from __future__ import annotations

import argparse
import ast
import json
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

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command's input is wrong: printed as one line, exit code 2."""

#: the published targets: name -> (distribution, what exactly is checked)
VERDICT_TARGETS: dict[str, tuple[str, str]] = {
    "torch-memory": ("torch", "`torch._inductor.cache.InMemoryCache`"),
    "torch-disk": ("torch", "`torch._inductor.cache.OnDiskCache`"),
    "torch-caching-memory": (
        "torch", "`torch._inductor.runtime.caching.implementations._InMemoryCacheImpl` "
                 "(through an adapter: `Hit` unwrapped; `get`/`insert` called without `impl.lock()`, "
                 "as torch's interfaces call them)"),
    "torch-caching-disk": (
        "torch", "`torch._inductor.runtime.caching.implementations._OnDiskCacheImpl` "
                 "(through an adapter: str keys, bytes values; `get`/`insert` called without "
                 "`impl.lock()`, as torch's interfaces call them)"),
    "diskcache": ("diskcache", "`diskcache.Cache(directory)` with `add()` as insert "
                               "(through an adapter)"),
    "cachelib-fs": ("cachelib", "`cachelib.FileSystemCache(dir, threshold=0, default_timeout=0)` "
                                "(configured as a write-once cache: no pruning, no expiry) with "
                                "`add()` as insert (through an adapter)"),
    "cachelib-fs-defaults": ("cachelib", "`cachelib.FileSystemCache(dir)` with its defaults "
                                         "(`threshold=500`, `default_timeout=300`) and `add()` as "
                                         "insert (through an adapter)"),
    "sqlite3": ("python", "Python's `sqlite3`: one table in one file, `INSERT OR IGNORE` as "
                          "insert (through an adapter)"),
    "sqlitedict": ("sqlitedict", "`sqlitedict.SqliteDict(file, autocommit=True)` with the "
                                 "check-then-set its users write (`if key not in d: d[key] = "
                                 "value`) as insert (through an adapter)"),
    "lmdb": ("lmdb", "`lmdb.Environment(dir)` with `put(key, value, overwrite=False)` as insert "
                     "(through an adapter)"),
    "redis": ("redis", "`SET key value NX` through redis-py on a real redis-server (through an "
                       "adapter)"),
    "torch-local-backend": ("torch", "`torch._inductor.remote_cache.LocalCacheBackend` with "
                                     "`put` as insert (always True: a put overwrites and returns "
                                     "nothing) and `get` as get; keys are sha256-named files "
                                     "under the storage dir, as torch's LocalAutotuneCache names "
                                     "them (through an adapter)"),
}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "verdicts"
#: a repro prints this as its last line (and exits 0) when it still shows the deviation
REPRODUCED = "DEVIATION REPRODUCED"
REPRO_TIMEOUT = 120.0
#: the per-check timeout of a verdict run. Far above the profiles' (a real hang still fails, a
#: loaded CI machine does not turn a slow disk into a published "deadlock").
CHECK_TIMEOUT = 180.0
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
    stdout: str
    stderr: str = ""

    @property
    def reproduced(self) -> bool:
        """Judged on stdout alone: stderr belongs to whatever the snippet imports."""
        lines = self.stdout.strip().splitlines()
        return self.returncode == 0 and bool(lines) and lines[-1].strip() == REPRODUCED

    @property
    def output(self) -> str:
        """What a report shows: stdout, plus stderr only when the snippet did not reproduce."""
        if self.reproduced or not self.stderr.strip():
            return self.stdout
        return f"{self.stdout}--- stderr (exit {self.returncode}) ---\n{self.stderr}"


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
            def text(b: Any) -> str:
                return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
            return ReproRun(None, text(err.stdout),
                            text(err.stderr) + f"\n(timed out after {timeout:g} s)\n")
    return ReproRun(proc.returncode, proc.stdout, proc.stderr)


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
    if dist == "python":  # the standard library (sqlite3): the interpreter and SQLite versions
        import sqlite3

        return f"{sys.version.split()[0]} (SQLite {sqlite3.sqlite_version})"
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def collect(targets: Sequence[str], profile: str, timeout: float = CHECK_TIMEOUT,
            progress: Callable[[str], None] | None = None,
            ) -> list[Verdicts]:
    """Run the conformance checks on each target (all clauses, MUST and SHOULD)."""
    from cachespec.conformance._runner import run_target

    out = []
    for name in targets:
        dist = VERDICT_TARGETS[name][0]
        if progress:
            progress(f"checking {name} ({dist} {package_version(dist) or 'not installed'}) "
                     f"at profile {profile} ...")
        report = run_target(name, profile, "should", timeout=timeout)
        v = Verdicts(name, dist, package_version(dist), profile, report.capabilities,
                     report.clauses, report.error)
        out.append(v)
    return out


# -- rendering ------------------------------------------------------------------------------
_TMP_PATH = re.compile(r"(/[^\s'\"]*)?/cachespec-(check|repro)-[^\s'\"]*")
_SITE = re.compile(r"/[^\s'\"]*/(site|dist)-packages/")
#: what is left of a machine's own paths (a venv, a home, a checkout)
_MACHINE = re.compile(r"/(tmp|root|work|home|Users|private|var/folders)/[^\s'\":]*")


def scrub(text: str, limit: int = 1500) -> str:
    """Output without this machine's paths (run-specific temp dirs, the venv, home), bounded
    in size: a committed report must read the same wherever it was generated."""
    text = _TMP_PATH.sub("<storage>", text.strip())
    text = _SITE.sub("<site-packages>/", text)
    text = _MACHINE.sub("<path>", text)
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
    counts = {s: sum(c.status == s for c in v.clauses)
              for s in ("pass", "fail", "n/a", "undecided")}
    must = sum(c.status == "fail" and c.level == "MUST" for c in v.clauses)
    lines = [
        f"# Verdicts: `{v.target}` ({dist_v})", "",
        f"{_MARK} target={v.target} package={v.package} version={v.version} "
        f"violated={','.join(v.violated) or '-'} -->",
        "<!-- generated by `python tools/verdicts.py`; edit the snippets under "
        f"repro/{v.target}/ (their docstrings are the assessments), not this file -->", "",
        f"- Implementation: {VERDICT_TARGETS[v.target][1]}",
        f"- Package: **{dist_v}**",
        f"- Capabilities: {', '.join(f'`{c}`' for c in v.capabilities) or 'none'}",
        f"- Profile: `{v.profile}` (regenerate with `python tools/verdicts.py`)",
        f"- Result: {counts['pass']} pass, **{counts['fail']} violated** ({must} MUST, "
        f"{counts['fail'] - must} SHOULD), {counts['n/a']} n/a"
        + (f", {counts['undecided']} undecided (applicable, but no check judged them)"
           if counts["undecided"] else ""), "",
    ]
    if v.error:
        lines += [f"**The run failed:** {scrub(v.error)}", ""]
        problems.append(f"{v.target}: the run failed: {v.error}")
    lines += ["## Every clause", "", "| clause | level | verdict |", "|---|---|---|"]
    for c in v.clauses:
        shown = {"pass": "pass", "n/a": "n/a", "fail": f"**[violated](#{c.id.lower()})**",
                 "undecided": "undecided (no check judged it)"}
        if c.status == "fail" and is_false_positive(out, v.target, c.id):
            shown["fail"] += " (false positive of the spec)"
        note = (f" (needs {', '.join(c.missing)})" if c.status == "n/a" and c.missing else
                f" (proved: {scrub(c.note)})" if c.status == "n/a" and getattr(c, "note", None)
                else "")
        lines.append(f"| `{c.id}` | {c.level} | {shown[c.status]}{note} |")
    lines.append("")
    fails = [c for c in v.clauses if c.status == "fail"]
    if fails:
        lines += ["## Violations", ""]
    for c in fails:
        clause = get_clause(c.id)
        rel = repro_path(Path("."), v.target, c.id).as_posix()
        lines += [f"### {c.id}", "", f"**{c.level}:** {clause.text}", "",
                  "**What the checker reported:**", "", *_fence(scrub(c.error or "")), ""]
        if c.counterexample and c.counterexample.strip():
            lines += ["<details><summary>checker counterexample (a standalone program: save it to a file and run it with python)</summary>", "",
                      *_fence(scrub(c.counterexample)), "", "</details>", ""]
        path = repro_path(out, v.target, c.id)
        if not path.is_file():
            lines += [f"**TODO: no repro** (`{rel}` does not exist).", ""]
            problems.append(f"{v.target}: {c.id} is violated but has no repro ({path})")
            continue
        repro = load_repro(path)
        result = run(path)
        lines += [f"**Reproduction** ([`{rel}`]({rel})):", "", *_fence(repro.code, "python"), "",
                  f"**Observed with {dist_v}:**", "", *_fence(scrub(result.output, 4000)), ""]
        if not result.reproduced:
            lines += ["**WARNING: this snippet no longer reproduces the deviation.**", ""]
            problems.append(f"{v.target}: repro {path} did not print {REPRODUCED!r} "
                            f"(exit {result.returncode})")
        lines += ["**Assessment.** " + (repro.assessment or "TODO: no assessment"), ""]
        if not repro.assessment:
            problems.append(f"{v.target}: repro {path} has no docstring (the assessment)")
    lines += render_stress(read_stress(out, v.target))
    return "\n".join(lines).rstrip("\n") + "\n", problems


def read_stress(out: Path | None, target: str) -> dict[str, Any] | None:
    """The outcome ``tools/stress_verdicts.py`` recorded for ``target`` (None: never run)."""
    path = out / "stress" / f"{target}.json" if out is not None else None
    if path is None or not path.is_file():
        return None
    doc: dict[str, Any] = json.loads(path.read_text())
    # a hand-written reading of the outcome (what the violations are, by design or not) lives
    # beside it, so that recording a new run never overwrites it
    assessment = path.with_suffix(".assessment.md")
    if assessment.is_file():
        doc["assessment"] = assessment.read_text().strip()
    return doc


def with_stress_section(report: str, doc: dict[str, Any] | None) -> str:
    """A report with its "Under stress" section (always the last one) replaced by ``doc``'s."""
    head = report.split("\n## Under stress\n", 1)[0].rstrip("\n")
    return "\n".join([head, "", *render_stress(doc)]).rstrip("\n") + "\n"


def write_index(out: Path) -> str:
    """docs/verdicts/README.md from the committed reports, and the README's copy of its table."""
    every = [read_committed_verdicts(out / f"{t}.md") for t in VERDICT_TARGETS]
    index = render_index([v for v in every if v is not None], out)
    (out / "README.md").write_text(index)
    if out.resolve() == DEFAULT_OUT.resolve():
        README.write_text(with_readme_table(README.read_text(), index))
    return index


def render_stress(doc: dict[str, Any] | None) -> list[str]:
    """The report's "Under stress" section, from the recorded outcome (nothing if none)."""
    if doc is None:
        return []
    faults = ", ".join(f"{k}={v}" for k, v in sorted((doc.get("faults") or {}).items())
                       if not isinstance(v, (list, dict)))
    lines = ["## Under stress", "",
             f"Recorded by `python tools/stress_verdicts.py` with {doc['target']} "
             f"{doc.get('version')}: `{doc['command']}` ran {doc.get('ops')} operations "
             f"({doc.get('errors')} raised errors; faults: {faults or 'none'}); the judge's "
             f"verdict: **{doc.get('verdict')}**.", ""]
    lines += [f"- note: {n}" for n in doc.get("notes") or []]
    if doc.get("violations"):
        lines += ["", "| clause | kind | count |", "|---|---|---|"]
        lines += [f"| `{x['clause']}` | {x['kind']} | {x['count']} |" for x in doc["violations"]]
        for x in doc["violations"]:
            lines += ["", f"First messages of `{x['clause']}` {x['kind']}:", "",
                      *_fence("\n".join(x["examples"]))]
    if doc.get("assessment"):
        lines += ["", "**Assessment.** " + doc["assessment"]]
    return lines + [""]


def is_false_positive(out: Path | None, target: str, clause_id: str) -> bool:
    """Whether the clause's repro documents the verdict as a false positive of the spec."""
    path = repro_path(out, target, clause_id) if out is not None else None
    return bool(path and path.is_file()
                and load_repro(path).assessment.startswith("FALSE POSITIVE"))


def render_index(all_verdicts: Sequence[Verdicts], out: Path | None = None) -> str:
    """docs/verdicts/README.md: implementations against clause families."""
    from cachespec.spec import FAMILIES

    head = "| implementation | " + " | ".join(FAMILIES) + " | stress |"
    lines = ["# What cachespec found", "",
             "<!-- generated by `python tools/verdicts.py`; do not edit by hand -->", "",
             "Each cell lists the violated clauses of that family (MUST in bold, *FP* = a false "
             "positive of the spec, explained in the report), `ok` when every applicable clause "
             "passes, `n/a` when none applies; *undecided* clauses (applicable, but no check "
             "judged them) are listed in italics. Profile "
             f"`{all_verdicts[0].profile if all_verdicts else 'quick'}`; regenerate with "
             "`python tools/verdicts.py` from the repository root. The stress column is the "
             "outcome `python tools/stress_verdicts.py` recorded (`cachespec stress` with writers "
             "killed; – where not run): a sample of what load finds, not an enumeration.", "",
             head, "|---" * (len(FAMILIES) + 2) + "|"]
    for v in all_verdicts:
        cells = []
        for fam in FAMILIES:
            mine = [c for c in v.clauses if c.id.split("-", 1)[0] == fam]
            bad = [c for c in mine if c.status == "fail"]
            open_ = [f"*{c.id}*" for c in mine if c.status == "undecided"]
            if bad or open_:
                shown = []
                for c in bad:
                    name = f"**{c.id}**" if c.level == "MUST" else c.id
                    fp = " *FP*" if is_false_positive(out, v.target, c.id) else ""
                    shown.append(f"[{name}]({v.target}.md#{c.id.lower()}){fp}")
                cells.append(", ".join(shown + open_))
            elif any(c.status == "pass" for c in mine):
                cells.append("ok")
            else:
                cells.append("n/a")
        stress = read_stress(out, v.target)
        cells.append("–" if stress is None else "ok" if not stress.get("violations") else
                     f"[{', '.join(sorted({x['kind'] for x in stress['violations']}))}]"
                     f"({v.target}.md#under-stress)")
        label = f"[`{v.target}`]({v.target}.md) ({v.package} {v.version})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


README = Path(__file__).resolve().parents[1] / "README.md"
_TABLE_START, _TABLE_END = "<!-- verdicts-table: generated by tools/verdicts.py -->", "<!-- /verdicts-table -->"


def readme_table(index: str) -> str:
    """The index's table with links that work from the repository root (README.md)."""
    rows = [line for line in index.splitlines() if line.startswith("|")]
    return "\n".join(re.sub(r"\]\((?!https?:)([^)]+\.md)", r"](docs/verdicts/\1", r)
                     for r in rows) + "\n"


def with_readme_table(readme: str, index: str) -> str:
    """README.md with its "What cachespec found" table replaced by the index's."""
    start, end = readme.find(_TABLE_START), readme.find(_TABLE_END)
    if start < 0 or end < start:
        raise UsageError(f"README.md has no {_TABLE_START} ... {_TABLE_END} block")
    return readme[:start + len(_TABLE_START)] + "\n" + readme_table(index) + readme[end:]


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
    # a value runs to the next " name=" (a version may hold spaces: "3.11.7 (SQLite 3.40.1)")
    fields = dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", m.group("body")))
    violated = frozenset(x for x in fields.get("violated", "").split(",") if x and x != "-")
    ver = fields.get("version")
    return Committed(fields.get("target", ""), None if ver in (None, "None") else ver, violated)


_ROW = re.compile(r"^\| `(?P<id>[A-Z0-9-]+)` \| (?P<level>MUST|SHOULD) \| (?P<shown>[^|]*) \|$",
                  re.M)


def read_committed_verdicts(path: Path) -> Verdicts | None:
    """A committed report read back as Verdicts (clause rows only): the index is rebuilt from
    the reports on disk, so regenerating one target keeps every other target's row."""
    from cachespec.conformance._runner import ClauseResult

    committed = read_committed(path)
    if committed is None:
        return None
    text = path.read_text()
    status = lambda shown: ("fail" if "violated" in shown else "undecided" if "undecided" in shown
                            else "n/a" if shown.startswith("n/a") else "pass")
    clauses = [ClauseResult(m["id"], m["level"], status(m["shown"].strip()))
               for m in _ROW.finditer(text)]
    package = VERDICT_TARGETS.get(committed.target, ("?",))[0]
    return Verdicts(committed.target, package, committed.version, "quick", [], clauses)


def compare(v: Verdicts, committed: Committed | None) -> list[str]:
    """Differences between a fresh run and the committed report, one line each."""
    if committed is None:
        return [f"{v.target}: no committed report; run `python tools/verdicts.py`"]
    diffs = []
    if committed.version != v.version:
        diffs.append(f"{v.target}: report is for {v.package} {committed.version}, installed is "
                     f"{v.version}; regenerate with `python tools/verdicts.py`")
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
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python tools/verdicts.py",
        description="Check the pinned real implementations and write docs/verdicts/<target>.md "
                    "(every clause, and per violation a repro run against the installed "
                    "package). Exit 1 when a violation lacks a working repro or, with "
                    "--check-only, when the verdicts differ from the committed reports.")
    p.add_argument("--profile", choices=("quick", "default", "thorough"), default="quick",
                   help="search effort; the committed reports use quick (the default)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help="the reports folder (default: docs/verdicts of this checkout)")
    p.add_argument("--target", action="append", metavar="T", choices=tuple(VERDICT_TARGETS),
                   help=f"only this target (repeatable; default all: {', '.join(VERDICT_TARGETS)})")
    p.add_argument("--check-only", action="store_true",
                   help="write nothing; fail if the violated clauses differ from the reports")
    p.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                   help=f"per-check timeout (default {CHECK_TIMEOUT:g})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return cmd_verdicts(args)
    except UsageError as err:
        print(f"verdicts: error: {err}", file=sys.stderr)
        return EXIT_USAGE


def cmd_verdicts(args: argparse.Namespace) -> int:
    out: Path = args.out
    targets = list(dict.fromkeys(args.target or VERDICT_TARGETS))
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.check_only and not out.is_dir():
        raise UsageError(f"--out {out}: no such directory")
    if not args.check_only and not out.parent.is_dir():
        raise UsageError(f"--out {out}: parent directory {out.parent} does not exist")
    missing = sorted({VERDICT_TARGETS[t][0] for t in targets
                      if package_version(VERDICT_TARGETS[t][0]) is None})
    if missing:
        raise UsageError(f"not installed: {', '.join(missing)}; pip install -e '.[torch,targets]'")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results = collect(targets, args.profile, args.timeout, say)
    problems: list[str] = []
    for v in results:
        print(f"{v.target}: violated {', '.join(v.violated) or 'nothing'}")
        undecided = [c.id for c in v.clauses if c.status == "undecided"]
        if undecided:
            print(f"{v.target}: undecided (no check judged them) {', '.join(undecided)}")
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
        write_index(out)
        say(f"wrote {out / 'README.md'} and the table in README.md")
    for line in problems:
        print(line)
    if problems:
        print(f"verdicts: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_FAIL
    print("verdicts: OK" + (" (match the committed reports)" if args.check_only else ""))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
