"""Print the import graph of the installed package, one layer per line, and any upward edge.

    python tools/importgraph.py            # the graph between the five layers, then the verdict
    python tools/importgraph.py --modules  # every module-to-module edge

Layers, bottom-up: base (the ``cachespec`` package itself and ``cachespec._usage``: the version,
exit codes, UsageError) < reference < spec < conformance < stress < cli (``cachespec._cli`` and
``cachespec.__main__``). A module may import its own layer and the ones below it, never above:
that is what lets a newcomer read the tree bottom-up. Imports inside functions count too (they
are edges all the same, only deferred); an exit status of 1 means an upward edge exists.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: package prefix -> source folder (the package-dir mapping of pyproject.toml)
FOLDERS = {
    "cachespec.reference": ROOT / "reference",
    "cachespec.spec": ROOT / "spec",
    "cachespec.conformance": ROOT / "conformance",
    "cachespec.stress": ROOT / "stress",
    "cachespec": ROOT / "src" / "cachespec",
}
LAYERS = ["base", "reference", "spec", "conformance", "stress", "cli"]
BASE = ("cachespec", "cachespec._usage")


def layer_of(module: str) -> str:
    if module in BASE:
        return "base"
    for name in ("reference", "spec", "conformance", "stress"):
        if module == f"cachespec.{name}" or module.startswith(f"cachespec.{name}."):
            return name
    return "cli"  # cachespec._cli, cachespec.__main__


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for prefix, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            if prefix == "cachespec" and parts and parts[0] in ("reference", "spec",
                                                                 "conformance", "stress"):
                continue
            out.setdefault(name, path)
    return out


def imports_of(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    # strings naming modules to import in a child process are edges too
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for word in node.value.replace(":", " ").replace("(", " ").split():
                if word.startswith("cachespec.") and word.replace(".", "").replace("_", "").isalnum():
                    found.add(word)
    return {m for m in found if m == "cachespec" or m.startswith("cachespec.")}


def edges() -> list[tuple[str, str]]:
    known = modules()
    out = []
    for name, path in known.items():
        for target in sorted(imports_of(name, path)):
            # keep the longest known module the import names
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                out.append((name, target))
    return sorted(set(out))


def upward(edge_list: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rank = {n: i for i, n in enumerate(LAYERS)}
    return [(a, b) for a, b in edge_list if rank[layer_of(b)] > rank[layer_of(a)]]


def main(argv: list[str]) -> int:
    all_edges = edges()
    if "--modules" in argv:
        for a, b in all_edges:
            print(f"{a} -> {b}")
        print()
    layer_edges: dict[tuple[str, str], int] = {}
    for a, b in all_edges:
        key = (layer_of(a), layer_of(b))
        if key[0] != key[1]:
            layer_edges[key] = layer_edges.get(key, 0) + 1
    for (a, b), n in sorted(layer_edges.items(), key=lambda kv: (LAYERS.index(kv[0][0]),
                                                                 LAYERS.index(kv[0][1]))):
        print(f"{a:>12} -> {b:<12} {n} module edges")
    bad = upward(all_edges)
    for a, b in bad:
        print(f"UPWARD: {a} -> {b}")
    print("no upward edges" if not bad else f"{len(bad)} upward edges")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
