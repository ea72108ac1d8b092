"""The project's own documentation (issue 17): README and docs/ are what a clone holds, so they link
only inside it, and what they show a website author is what the gateway does."""

import re
from pathlib import Path

import pytest

from polybanking.platforms.epayment.statuses import STATUS_TEXT
from polybanking.signing import compute_sign

from .test_signing import VECTORS  # PROTOCOL's vectors, independently computed

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
USER_PAGES = [ROOT / "README.md", *DOCS, ROOT / "client" / "README.md", ROOT / "deploy" / "README.md"]
WEBSITES = (ROOT / "docs" / "websites.md").read_text()


def test_readme_first_screen_says_what_to_do_after_make_run():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:30])
    assert "make run" in first_screen and "http://127.0.0.1:6543/" in first_screen
    assert "user create --username admin --superuser" in first_screen
    for page in ("docs/README.md", "docs/websites.md", "docs/operators.md"):
        assert f"]({page})" in first_screen


@pytest.mark.parametrize("page", USER_PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_pages_point_only_inside_the_project(page):
    text = page.read_text()
    for outside in ("shared folder", "PROTOCOL.md", "DESIGN.md", "../shared", "PROTOCOL §"):
        assert outside not in text, outside
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not re.match(r"https?://", target):
            assert (page.parent / target).exists(), target


def test_nothing_the_gateway_serves_points_outside_the_project():
    for path in [
        ROOT / "polybanking" / "openapi.yaml",
        *(ROOT / "polybanking" / "templates").rglob("*.jinja2"),
    ]:
        text = path.read_text()
        assert "PROTOCOL" not in text and "shared folder" not in text, path


@pytest.mark.parametrize(("key", "fields", "signature"), VECTORS)
def test_the_worked_examples_are_the_gateways_signatures(key, fields, signature):
    assert compute_sign(key, fields) == signature
    assert signature in WEBSITES


def test_the_texts_to_hash_shown_are_the_ones_hashed():
    import hashlib

    shown = re.findall(r"```\n((?:amount|config)=[^\n]*;)\n```", WEBSITES)
    assert len(shown) == 2
    for text, (_key, _fields, signature) in zip(shown, VECTORS, strict=False):
        assert hashlib.sha512(text.encode()).hexdigest() == signature


def test_the_python_snippet_computes_the_signature():
    snippet = re.search(r"```python\n(import hashlib\n\ndef compute_sign.*?)```", WEBSITES, re.S).group(1)
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 (our own documentation's code)
    for key, fields, signature in VECTORS:
        assert namespace["compute_sign"](key, fields) == signature


def test_the_status_table_is_the_apis():
    rows = re.findall(r"\| `(\d{1,2})` \| ([^|]+?) (?:\(\*\*good\*\*\) )?\|", WEBSITES)
    documented = {code: text.strip() for code, text in rows}
    assert documented == STATUS_TEXT
    assert "| `??` | Unknow (no answer yet) |" in WEBSITES
