"""The bundled mirror is exactly what samples/build_mirror.py makes from the real files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("version", ["4.1.0", "6.0.0"])
def test_the_mirror_serves_the_real_packages_and_the_mel_has_95_members(version):
    builder = load_builder()
    for name in builder.PACKAGE_FILES:
        served = ROOT / "samples" / "mirror" / builder.UNPKG.format(version=version, name=name)
        assert served.read_bytes() == builder.package_file(version, name)  # verbatim
    epci = ROOT / "samples" / "mirror" / builder.UNPKG.format(version=version, name="epci.json")
    mel = next(e for e in json.loads(epci.read_text()) if e["code"] == "200093201")
    members = {m["code"] for m in mel["membres"]}
    assert len(members) == 95
    assert {"59355", "59298"}.isdisjoint(members)  # communes associées of Lille


def test_every_mirror_and_reference_file_is_cited_in_the_samples_readme():
    readme = (ROOT / "samples" / "README.md").read_text(encoding="utf-8")
    for path in (ROOT / "samples" / "reference").iterdir():
        assert f"`reference/{path.name}`" in readme
    for path in (ROOT / "samples" / "mirror").rglob("*"):
        if path.is_file():
            relative = path.relative_to(ROOT / "samples" / "mirror").as_posix()
            assert f"`{relative.split('@')[0]}" in readme, relative
