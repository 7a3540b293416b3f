"""Docs stay true: the API reference is regenerated from the code and names every public object."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "tools" / "gen_api_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_api_reference_is_up_to_date_and_complete():
    gen = _generator()
    text = (ROOT / "docs" / "api.md").read_text()
    assert text == gen.render(), "docs/api.md is stale: run python tools/gen_api_docs.py"
    for m in gen.MODULES:
        mod = importlib.import_module(m)
        for name in gen.public_names(mod):
            assert f"`{m}.{name}" in text, f"{m}.{name} missing from docs/api.md"


def test_docs_referenced_from_readme_and_each_other_exist():
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for ref in re.findall(r"`(docs/[a-z_]+\.md)`", doc.read_text()):
            assert (ROOT / ref).exists(), f"{doc.name} refers to missing {ref}"
