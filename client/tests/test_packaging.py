"""The client is a project of its own: it depends on requests only and imports nothing of the gateway."""

import ast
import tomllib
from pathlib import Path

CLIENT = Path(__file__).resolve().parent.parent


def test_it_depends_on_requests_only():
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert [dependency.split(">")[0] for dependency in project["dependencies"]] == ["requests"]
    assert project["optional-dependencies"]["shop"] == ["Flask>=3"]  # the example shop only


def test_nothing_in_it_imports_the_gateway():
    sources = [*CLIENT.glob("polybanking_client/*.py"), CLIENT / "httpd.py"]
    assert len(sources) >= 5
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] != "polybanking", f"{source.name} imports {name}"
