"""The README documents what a newcomer needs, and stays true to the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from flows.cli import _parser
from tasks.core.settings import Settings
from tasks.sources.mirror import mirror_relative_path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_are_documented_and_ci_runs_the_test_one():
    assert "make demo" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_cli_command_is_documented():
    commands = _parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"opendata-mel {name}" in README, f"commande non documentée : {name}"


def test_every_setting_is_documented():
    source = (ROOT / "tasks" / "core" / "settings.py").read_text()
    variables = set(re.findall(r'"(OPENDATA_[A-Z_]+)"', source))
    assert len(variables) == len(dataclasses.fields(Settings))
    for variable in variables:
        assert f"`{variable}`" in README, f"variable non documentée : {variable}"


def test_the_mirror_example_of_the_readme_is_true():
    assert (
        mirror_relative_path("https://geo.api.gouv.fr/communes?codeDepartement=59&format=json")
        == "geo.api.gouv.fr/communes@codeDepartement=59&format=json"
    )
    assert "`geo.api.gouv.fr/communes@codeDepartement=59&format=json`" in README
