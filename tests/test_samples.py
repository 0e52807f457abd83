"""The bundled mirror is exactly what samples/build_mirror.py makes from the real files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_mirror", ROOT / "samples" / "build_mirror.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_mirror_matches_its_build_script(tmp_path, monkeypatch):
    builder = load_builder()
    monkeypatch.setattr(builder, "MIRROR", tmp_path)
    builder.main()
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = ROOT / "samples" / "mirror"
    assert built == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    for relative in built:
        assert (tmp_path / relative).read_bytes() == (committed / relative).read_bytes(), relative


def test_mel_membership_comes_from_the_epci_file_not_a_list():
    builder = load_builder()
    epcis = json.loads((ROOT / "samples/reference/epci_with_nord_members.json").read_text())
    communes = json.loads((ROOT / "samples/reference/communes_dep59.json").read_text())
    served = builder.geo_communes(communes, epcis)
    mel = [c for c in served if c["codeEpci"] == builder.MEL]
    assert len(mel) == 95
    assert {"59355", "59298"}.isdisjoint(c["code"] for c in served)  # communes associées


def test_every_mirror_and_reference_file_is_cited_in_the_samples_readme():
    readme = (ROOT / "samples" / "README.md").read_text(encoding="utf-8")
    for path in (ROOT / "samples" / "reference").iterdir():
        assert f"`reference/{path.name}`" in readme
    for path in (ROOT / "samples" / "mirror").rglob("*"):
        if path.is_file():
            relative = path.relative_to(ROOT / "samples" / "mirror").as_posix()
            assert f"`{relative.split('@')[0]}" in readme, relative
