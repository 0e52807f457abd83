"""The layout by stage holds: generic packages never import a pipeline, tasks never
import flows, and README « Organisation » names every package of the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

TASKS = ROOT / "tasks"
# The generic stages in pipeline order: a stage imports only the stages before it.
GENERIC = ["core", "sources", "transform", "quality", "publication", "operations"]
PIPELINES = ["refresh", "subventions", "citizen_site"]


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_tree_is_exactly_the_stages_and_the_pipelines():
    packages = sorted(p.name for p in TASKS.iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(GENERIC + PIPELINES)
    assert sorted(p.name for p in TASKS.glob("*.py")) == ["__init__.py"]


@pytest.mark.parametrize("package", GENERIC)
def test_a_generic_package_never_imports_a_pipeline(package):
    offending = {
        f"{path.relative_to(ROOT)} → {name}"
        for path in (TASKS / package).rglob("*.py")
        for name in imported(path)
        if name.split(".")[:2] in (["tasks", p] for p in PIPELINES) or name.startswith("flows")
    }
    assert offending == set()


@pytest.mark.parametrize("package", GENERIC)
def test_a_stage_imports_only_the_stages_before_it(package):
    later = GENERIC[GENERIC.index(package) + 1 :]
    offending = {
        f"{path.relative_to(ROOT)} → {name}"
        for path in (TASKS / package).rglob("*.py")
        for name in imported(path)
        if any(name.startswith(f"tasks.{stage}") for stage in later)
    }
    assert offending == set()


def test_pipelines_never_import_each_other_nor_the_flows():
    offending = {
        f"{path.relative_to(ROOT)} → {name}"
        for package in PIPELINES
        for path in (TASKS / package).rglob("*.py")
        for name in imported(path)
        if name.startswith("flows")
        or any(name.startswith(f"tasks.{other}") for other in PIPELINES if other != package)
    }
    assert offending == set()


def test_readme_organisation_names_every_package():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Organisation", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"tasks/([a-z_]+(?:/[a-z_]+)?)/", section))
    on_disk = {
        str(p.parent.relative_to(TASKS)) for p in TASKS.rglob("__init__.py") if p.parent != TASKS
    }
    assert listed == on_disk
