"""Rebuild samples/mirror/ from the real files in samples/reference/ (see README.md).

Values are never invented: files are copied, or reshaped into the layout the real
source serves. Run: `uv run python samples/build_mirror.py`; the result is committed
and a test checks that it matches this script's output. The COG package files
(`unpkg.com/…`, 25 MB) are not committed: `make install` extracts them from the
committed tgz (`python3 samples/build_mirror.py --paquets`, standard library only).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
MIRROR = HERE / "mirror"
# COG vintages served by the mirror: the package version of each (its README).
PACKAGES = {2024: "4.1.0", 2026: "6.0.0"}
PACKAGE_FILES = ("communes.json", "epci.json")
UNPKG = "unpkg.com/@etalab/decoupage-administratif@{version}/data/{name}"
COMPARATEUR = "www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
MOUVEMENTS = "www.insee.fr/fr/statistiques/fichier/8740222/cog_ensemble_2026_csv.zip"
FILOSOFI = {
    "www.insee.fr/fr/statistiques/fichier/6036902/base-cc-filosofi-2019_CSV.zip": (
        "cc_filosofi_2019_COM_FRANCE.csv.gz",
        "cc_filosofi_2019_COM.csv",
    ),
    "www.insee.fr/fr/statistiques/fichier/7756729/base-cc-filosofi-2021-geo2024_csv.zip": (
        "cc_filosofi_2021_COM_FRANCE.csv.gz",
        "cc_filosofi_2021_COM.csv",
    ),
}
MELODI_CATALOGUE = "api.insee.fr/melodi/catalog/all"
# A fixed date keeps the zip byte-for-byte reproducible.
ZIP_DATE = (2025, 6, 26, 0, 0, 0)


def package_file(version: str, name: str) -> bytes:
    """A data file of an @etalab/decoupage-administratif package, as published."""
    with tarfile.open(REFERENCE / f"etalab-decoupage-administratif-{version}.tgz") as archive:
        return archive.extractfile(f"package/data/{name}").read()


def write_bytes(relative: str, payload: bytes) -> None:
    """Write atomically: several test processes may extract the packages at once."""
    target = MIRROR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partiel")
    partial.write_bytes(payload)
    os.replace(partial, target)


def write_packages(only_missing: bool = False) -> None:
    """The package files the mirror serves, extracted from the committed tgz. They are
    not committed themselves (25 MB): `make install` (and the tests) extract them."""
    for version in PACKAGES.values():
        for name in PACKAGE_FILES:
            relative = UNPKG.format(version=version, name=name)
            if not (only_missing and (MIRROR / relative).is_file()):
                write_bytes(relative, package_file(version, name))


def write_zip(relative: str, member: str, payload: bytes) -> None:
    target = MIRROR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, payload)


def main() -> None:
    if sys.argv[1:] == ["--paquets"]:
        write_packages()
        print(f"Paquets du COG extraits dans {MIRROR / 'unpkg.com'}")
        return
    write_packages()
    mouvements = gzip.decompress((REFERENCE / "mouvements-communes_cog2026.csv.gz").read_bytes())
    write_zip(MOUVEMENTS, "v_mvt_commune_2026.csv", mouvements)
    for relative, (reference, member) in FILOSOFI.items():
        write_zip(relative, member, gzip.decompress((REFERENCE / reference).read_bytes()))
    comparateur = (REFERENCE / "base_cc_comparateur_RP2022_MEL95.csv").read_bytes()
    write_zip(COMPARATEUR, "base_cc_comparateur.csv", comparateur)
    catalogue = REFERENCE / "melodi_catalog_summary_2026-01-06.json"
    document = json.loads(catalogue.read_text(encoding="utf-8"))
    write_bytes(MELODI_CATALOGUE, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    print(f"Miroir reconstruit dans {MIRROR}")


if __name__ == "__main__":
    main()
