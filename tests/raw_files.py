"""A comparateur file as the loader receives it: a zip of one CSV member, and its row in
the raw store's manifest (tests/test_load.py, tests/unit/test_arrow_reading.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tasks.sources.raw_store import RawFile, sha256_of


def as_zip(folder: Path, text: str | bytes, member: str = "base_cc_comparateur.csv") -> Path:
    path = folder / "base_cc_comparateur_csv.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, text)
    return path


def raw_row(path: Path, millesime: int = 2022) -> RawFile:
    return RawFile(
        "insee_comparateur",
        "https://www.insee.fr/x.zip",
        millesime,
        sha256_of(path),
        path.stat().st_size,
        "2026-11-29T00:00:00+00:00",
        path.name,
    )
