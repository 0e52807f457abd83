"""The demo stack's deployments (samples/pile-demo.yaml applied to deployments/prefect.yaml),
without a Prefect server (they are run for real by tests/test_operations.py)."""

from __future__ import annotations

import copy
import importlib.util
import re

import pytest
import yaml

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def demo_stack():
    spec = importlib.util.spec_from_file_location("demo_stack", ROOT / "samples" / "demo_stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_demo_changes_only_what_it_says_and_says_it_in_the_form(demo_stack):
    prefect, demo = _load(demo_stack.DEPLOYMENTS), _load(demo_stack.DEMO)
    changed = demo_stack.demo_deployments(copy.deepcopy(prefect), demo)
    for before, after in zip(prefect["deployments"], changed["deployments"], strict=True):
        change = next(
            (
                c
                for c in demo["deploiements"]
                if (c["name"], c["entrypoint"]) == (before["name"], before["entrypoint"])
            ),
            None,
        )
        if change is None:
            assert after == before
            continue
        assert after["parameters"] == {**before.get("parameters", {}), **change["parameters"]}
        assert after["description"].startswith("PILE DE DÉMONSTRATION")
        assert after["description"].endswith(before["description"])
        assert {k: v for k, v in after.items() if k not in ("parameters", "description")} == {
            k: v for k, v in before.items() if k not in ("parameters", "description")
        }


def test_the_demo_refresh_reads_the_sources_of_make_demo(demo_stack):
    demo = _load(demo_stack.DEMO)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    make_demo = re.search(r"^DEMO_SOURCES := (\S+)$", makefile, re.M)[1].split(",")
    refresh = next(c for c in demo["deploiements"] if c["entrypoint"].endswith(":yearly_refresh"))
    assert refresh["parameters"]["sources"] == make_demo
    banner = re.search(r"^DEMO_BANNER := (.+)$", makefile, re.M)[1]
    site = next(c for c in demo["deploiements"] if c["entrypoint"].endswith(":citizen_site"))
    assert site["parameters"]["banner"] == banner


def test_a_demo_entry_naming_no_deployment_is_refused(demo_stack):
    prefect, demo = _load(demo_stack.DEPLOYMENTS), _load(demo_stack.DEMO)
    demo["deploiements"][0]["name"] = "inexistant"
    with pytest.raises(SystemExit, match="nomme un déploiement absent"):
        demo_stack.demo_deployments(prefect, demo)


def test_the_demo_mirror_merges_whole_hosts_and_refuses_a_host_twice(demo_stack, tmp_path):
    demo = _load(demo_stack.DEMO)
    demo_stack.merge_mirror(demo["miroir"], tmp_path / "m")
    hosts = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert "recherche-entreprises.api.gouv.fr" in hosts and "www.insee.fr" in hosts
    assert (tmp_path / "m" / "www.insee.fr").resolve() == ROOT / "samples/mirror/www.insee.fr"
    with pytest.raises(SystemExit, match="présent deux fois"):
        demo_stack.merge_mirror(["samples/mirror", "samples/mirror"], tmp_path / "m2")


def test_the_sample_answers_never_overwrite_the_officers(demo_stack, tmp_path):
    source = ROOT / "samples" / "subventions" / "59522" / "reponses"
    target = tmp_path / "sorties"
    target.mkdir()
    (target / "identifiants.csv").write_text("réponse de l'agent\n", encoding="utf-8")
    copied = demo_stack.copy_answers(source, target)
    assert "identifiants.csv" not in copied and "decisions.csv" in copied
    assert (target / "identifiants.csv").read_text(encoding="utf-8") == "réponse de l'agent\n"
    assert demo_stack.copy_answers(source, target) == []
