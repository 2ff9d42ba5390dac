"""docs/SPEC.md is the rendered spec, kept in sync."""

from __future__ import annotations

from pathlib import Path

import cachespec.spec as spec

SPEC_MD = Path(__file__).resolve().parents[1] / "docs" / "SPEC.md"


def test_spec_md_is_the_rendered_spec() -> None:
    rendered = spec.render_markdown()
    assert SPEC_MD.read_text(encoding="utf-8") == rendered, (
        "docs/SPEC.md is stale: regenerate it with\n  python -c \"import cachespec.spec as s; "
        "open('docs/SPEC.md', 'w').write(s.render_markdown())\"")


def test_render_names_every_clause_check_and_torch_test() -> None:
    text = spec.render_markdown()
    for c in spec.CLAUSES:
        assert f"`{c.id}` | {c.level}" in text
    for check in spec.CHECKS:
        assert f"`{check.name}`" in text
    for test, _, _ in spec.TORCH_ASSERTIONS:
        assert f"`{test}`" in text
