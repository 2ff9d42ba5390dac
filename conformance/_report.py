"""Report writers: the terminal table, JSON, Markdown and JUnit XML of a conformance Report.

All four carry the same facts: per target, its capabilities and one row per clause (id, level,
pass / FAIL / UNDECIDED / n/a); under each failure, the error and the minimal counterexample;
beside any verdict, the check's note on what it chose to test. ``header`` and ``check_line`` are
the progress lines ``cachespec check`` prints as it goes.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from ._engine import CheckOutcome
from ._results import FAIL, NA, PASS, UNDECIDED, ClauseResult, Report, TargetReport

_SHOWN = {PASS: "pass", FAIL: "FAIL", NA: "n/a", UNDECIDED: "UNDECIDED"}


def _indent(text: str, prefix: str = "      ") -> str:
    return textwrap.indent(text.rstrip(), prefix)


def progress_line(target: str, result: ClauseResult) -> str:
    return f"{target}: {result.id} {_SHOWN[result.status]} ({result.seconds:.1f}s)"


def header(targets: Sequence[str], profile: str, level: str) -> str:
    """What a run is about to do, printed before the first check starts."""
    counted = "MUST" if level == "must" else "MUST and SHOULD"
    return (f"cachespec check: {len(targets)} target(s): {', '.join(targets)}; "
            f"profile {profile}; level {level} ({counted} clauses)")


def check_line(target: str, check: str, outcome: CheckOutcome) -> str:
    """One line per finished check, so a log shows progress while a run takes minutes."""
    parts = [f"{len(outcome.passed)} judged"]
    if outcome.failed:
        parts.append(f"{len(outcome.failed)} failed ({', '.join(sorted(outcome.failed))})")
    if outcome.undecided:
        parts.append(f"{len(outcome.undecided)} not judged")
    return f"{target}: check {check} finished in {outcome.seconds:.1f}s: {', '.join(parts)}"


def render_target_table(t: TargetReport) -> str:
    lines = [f"== {t.target}  [{', '.join(t.capabilities) or 'no capabilities'}]"]
    if t.error:
        lines.append(f"   error: {t.error}")
    width = max([len(c.id) for c in t.clauses] + [6])
    lines.append(f"   {'clause':<{width}}  {'level':<6}  result")
    for c in t.clauses:
        note = f"  (needs {', '.join(c.missing)})" if c.status == NA and c.missing else ""
        lines.append(f"   {c.id:<{width}}  {c.level:<6}  {_SHOWN[c.status]}{note}")
        if c.note:
            lines.append(_indent(f"note: {c.note}"))
        if c.status == UNDECIDED:
            lines.append(_indent(f"{c.error}"))
        if c.status == FAIL:
            lines.append(_indent(f"error: {c.error}"))
            if c.counterexample:
                lines.append(_indent("counterexample:"))
                lines.append(_indent(c.counterexample, "        "))
    n = t.counts()
    lines.append(f"   {n[PASS]} pass, {n[FAIL]} fail, {n[UNDECIDED]} undecided, {n[NA]} n/a "
                 f"in {t.seconds:.1f}s")
    return "\n".join(lines)


def render_table(report: Report) -> str:
    body = "\n\n".join(render_target_table(t) for t in report.targets)
    failed = [t.target for t in report.targets if t.error or t.failures(report.level)]
    level = "MUST" if report.level == "must" else "MUST+SHOULD"
    verdict = (f"FAIL ({level}): {', '.join(failed)}" if failed
               else f"OK: no {level} clause fails")
    return f"{body}\n\n{verdict}"


def write_json(report: Report, path: Path) -> None:
    Path(path).write_text(json.dumps(report.to_dict(), indent=2) + "\n")


def _md_cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", "<br>")


def render_markdown(report: Report) -> str:
    out = [f"# cachespec conformance report (profile {report.profile})", ""]
    for t in report.targets:
        n = t.counts()
        out += [f"## `{t.target}`", "",
                f"Capabilities: {', '.join(f'`{c}`' for c in t.capabilities) or 'none'}  ",
                f"{n[PASS]} pass, {n[FAIL]} fail, {n[UNDECIDED]} undecided, {n[NA]} n/a in "
                f"{t.seconds:.1f} s", ""]
        if t.error:
            out += [f"**Error:** {_md_cell(t.error)}", ""]
        out += ["| clause | level | result |", "|---|---|---|"]
        for c in t.clauses:
            shown = f"**{_SHOWN[c.status]}**" if c.status in (FAIL, UNDECIDED) else \
                _SHOWN[c.status]
            out.append(f"| `{c.id}` | {c.level} | {shown} |")
        fails = [c for c in t.clauses if c.status in (FAIL, UNDECIDED)]
        if fails:
            out += ["", "### Failures", ""]
            for c in fails:
                out += [f"#### `{c.id}`", "", f"Error: {_md_cell(c.error)}", ""]
                if c.counterexample:
                    out += ["```", c.counterexample.rstrip(), "```", ""]
        noted = [c for c in t.clauses if c.note]
        if noted:
            out += ["", "### Notes", ""] + [f"- `{c.id}`: {_md_cell(c.note)}" for c in noted]
        out.append("")
    return "\n".join(out)


def write_markdown(report: Report, path: Path) -> None:
    Path(path).write_text(render_markdown(report))


def junit_tree(report: Report) -> ET.ElementTree:
    suites = ET.Element("testsuites", name="cachespec")
    for t in report.targets:
        n = t.counts()
        suite = ET.SubElement(suites, "testsuite", name=t.target, tests=str(len(t.clauses)),
                              failures=str(n[FAIL] + n[UNDECIDED]), skipped=str(n[NA]),
                              errors="0",
                              time=f"{t.seconds:.3f}")
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="capabilities", value=",".join(t.capabilities))
        ET.SubElement(props, "property", name="profile", value=report.profile)
        for c in t.clauses:
            case = ET.SubElement(suite, "testcase", classname=f"cachespec.{t.target}",
                                 name=c.id, time=f"{c.seconds:.3f}")
            if c.status in (FAIL, UNDECIDED):
                kind = "violation" if c.status == FAIL else "undecided"
                el = ET.SubElement(case, "failure", message=(c.error or "")[:500],
                                   type=f"{c.level}-{kind}")
                el.text = f"{c.error}\n\ncounterexample:\n{c.counterexample or '(none)'}"
            elif c.status == NA:
                ET.SubElement(case, "skipped",
                              message=f"n/a: needs {', '.join(c.missing) or 'capabilities'}")
            if c.note:
                ET.SubElement(case, "system-out").text = f"note: {c.note}"
        if t.error:
            err = ET.SubElement(suite, "system-err")
            err.text = t.error
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(report: Report, path: Path) -> None:
    junit_tree(report).write(str(path), encoding="utf-8", xml_declaration=True)


__all__ = ["check_line", "header", "junit_tree", "progress_line", "render_markdown", "render_table", "write_json",
           "write_junit", "write_markdown"]
