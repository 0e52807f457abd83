"""Rebuild samples/mirror/ from the real files in samples/reference/ (see README.md).

Values are never invented: files are copied, or reshaped into the layout the real
source serves. Run: `uv run python samples/build_mirror.py`; the result is committed
and a test checks that it matches this script's output.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
MIRROR = HERE / "mirror"
MEL = "200093201"
GEO_COMMUNES = (
    "geo.api.gouv.fr/communes@codeDepartement=59&fields=nom,code,codesPostaux,siren,"
    "codeEpci,codeDepartement,codeRegion,population&format=json"
)
GEO_ASSOCIEES = "geo.api.gouv.fr/communes_associees_deleguees@codeDepartement=59"
COMPARATEUR = "www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
MELODI_CATALOGUE = "api.insee.fr/melodi/catalog/all"
EPCI_PACKAGE = "unpkg.com/@etalab/decoupage-administratif/data/epci.json"
# A fixed date keeps the zip byte-for-byte reproducible.
ZIP_DATE = (2025, 6, 26, 0, 0, 0)


def geo_communes(communes: list[dict], epcis: list[dict]) -> list[dict]:
    """`/communes?fields=...`: current communes only, with the EPCI of each member."""
    epci_of = {member["code"]: epci["code"] for epci in epcis for member in epci["membres"]}
    return [
        {
            "nom": commune["nom"],
            "code": commune["code"],
            "codesPostaux": commune.get("codesPostaux", []),
            "siren": commune["siren"],
            "codeEpci": epci_of.get(commune["code"]),
            "codeDepartement": commune["departement"],
            "codeRegion": commune["region"],
            "population": commune["population"],
        }
        for commune in communes
        if commune["type"] == "commune-actuelle"
    ]


def geo_associees_deleguees(communes: list[dict]) -> list[dict]:
    return [
        {
            "code": commune["code"],
            "nom": commune["nom"],
            "type": commune["type"],
            "chefLieu": commune["chefLieu"],
            "codeDepartement": commune["departement"],
            "codeRegion": commune["region"],
        }
        for commune in communes
        if commune["type"] in {"commune-associee", "commune-deleguee"}
    ]


def write_json(relative: str, document: list[dict]) -> None:
    target = MIRROR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def write_zip(relative: str, member: str, payload: bytes) -> None:
    target = MIRROR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, payload)


def main() -> None:
    communes = json.loads((REFERENCE / "communes_dep59.json").read_text(encoding="utf-8"))
    epcis = json.loads((REFERENCE / "epci_with_nord_members.json").read_text(encoding="utf-8"))
    write_json(GEO_COMMUNES, geo_communes(communes, epcis))
    write_json(GEO_ASSOCIEES, geo_associees_deleguees(communes))
    comparateur = (REFERENCE / "base_cc_comparateur_RP2022_MEL95.csv").read_bytes()
    write_zip(COMPARATEUR, "base_cc_comparateur.csv", comparateur)
    catalogue = REFERENCE / "melodi_catalog_summary_2026-01-06.json"
    write_json(MELODI_CATALOGUE, json.loads(catalogue.read_text(encoding="utf-8")))
    write_json(EPCI_PACKAGE, epcis)
    print(f"Miroir reconstruit dans {MIRROR}")


if __name__ == "__main__":
    main()
