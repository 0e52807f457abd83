"""`opendata-mel subventions build` end to end, as a data officer runs it: the commune's
documents (generated docx, odt, xlsx, csv with the messes of real ones), the recorded
answers of the Recherche d'entreprises API on a loopback server, a warehouse built by a
real refresh, and a second run after the officer has answered the report."""

from __future__ import annotations

import csv
import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tasks.subventions.validation import validate
from tests.conftest import ROOT
from tests.subventions_fixtures import answer_report, write_broken_documents, write_documents

pytestmark = pytest.mark.usefixtures("prefect_api")

RECORDED = ROOT / "tests" / "fixtures" / "recherche-entreprises"
SCHEMA = ROOT / "catalog" / "schemas" / "scdl-subventions-2.1.1.json"
EXEMPLES = ROOT / "tests" / "fixtures" / "scdl-subventions"
FILE_NAME = re.compile(r"^\d{8}_215905225_commune-de-sailly-lez-lannoy\.csv$")


@pytest.fixture
def office(workspace: Path, mirror_dir: Path, full_run) -> Path:
    """A workspace whose warehouse holds the communes (copied from the full refresh) and
    whose mirror answers as the Recherche d'entreprises API recorded."""
    shutil.copytree(RECORDED, mirror_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md"))
    warehouse = workspace / "entrepot" / "opendata.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(full_run[1], warehouse)
    return workspace


def build(documents: Path, out: Path) -> int:
    return main(["subventions", "build", "--input", str(documents), "--out", str(out)])


def scdl_file(out: Path) -> Path:
    [path] = [p for p in out.glob("*.csv") if FILE_NAME.match(p.name)]
    return path


def rows_of(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def subventions_in(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("select count(*) from raw.subventions").fetchall()[0][0]


def test_first_run_asks_then_the_answers_make_a_valid_file(office, tmp_path, capsys):
    documents, out = tmp_path / "documents", tmp_path / "sortie"
    expected = write_documents(documents)
    warehouse = office / "entrepot" / "opendata.duckdb"

    # First run: the report asks what the documents do not say; nothing is loaded.
    assert build(documents, out) == 1
    error = capsys.readouterr().err
    assert "NON publiable" in error and str(out / "rapport.md") in error
    report = (out / "rapport.md").read_text(encoding="utf-8")
    fichier, tableau = expected.unknown
    assert f"Année des subventions introuvable pour le tableau {tableau} de {fichier}" in report
    assert "AMBIGU" in report and "INTROUVABLE" in report
    assert "« G.R.S » (2016, 2017, 2018); « GRS » (2019, 2020, 2021, 2022)" in report
    assert not [p for p in out.glob("*.csv") if FILE_NAME.match(p.name)]
    [unfit] = out.glob("NON-PUBLIABLE_*.csv")
    assert FILE_NAME.match(unfit.name.removeprefix("NON-PUBLIABLE_"))
    written = rows_of(unfit)
    [harmonie, *_] = [
        n
        for n, row in enumerate(written, start=2)
        if row["nomBeneficiaire"] == "Harmonie municipale"
    ]
    assert (
        "Au moins l'une des colonnes idBeneficiaire ou rnaBeneficiaire doit comporter une "
        f"valeur : colonne idBeneficiaire, ligne {harmonie}"
    ) in report
    assert subventions_in(warehouse) == 0

    # The officer answers the report, in the two reviewable files.
    answer_report(out, expected)

    assert build(documents, out) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "fichier SCDL valide" in printed and "marts.subventions" in printed
    path = scdl_file(out)
    assert not list(out.glob("NON-PUBLIABLE_*"))
    assert path.name.startswith(max(r["dateConvention"] for r in rows_of(path)).replace("-", ""))
    assert validate(path, SCHEMA).publiable
    written = rows_of(path)
    assert list(written[0]) == [
        "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision",
        "nomBeneficiaire", "idBeneficiaire", "rnaBeneficiaire", "objet", "montant", "nature",
        "conditionsVersement", "datesPeriodeVersement", "idRAE", "notificationUE",
        "pourcentageSubvention", "dispositifAide",
    ]  # fmt: skip
    assert not [r for r in written if "total" in r["nomBeneficiaire"].lower()]
    by_year: dict[int, list[dict]] = {}
    for row in written:
        by_year.setdefault(int(row["datesPeriodeVersement"][:4]), []).append(row)
    assert sorted(by_year) == sorted(expected.lines)
    for year in expected.lines:
        assert len(by_year[year]) == expected.count(year), year
        assert sum(Decimal(r["montant"]) for r in by_year[year]) == expected.total(year), year
    # one name per association across the years, the one of the latest year
    assert {r["nomBeneficiaire"] for r in written if r["nomBeneficiaire"].upper() == "GRS"} == {
        "GRS"
    }
    assert all(r["idAttribuant"] == "21590522500011" for r in written)

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        loaded = conn.execute(
            "select annee, count(*), sum(montant) from marts.subventions group by 1 order by 1"
        ).fetchall()
        checks = conn.execute(
            "select count(*), count(*) filter (where not succes) from meta.validations "
            "where mart = 'subventions'"
        ).fetchall()[0]
    assert loaded == [
        (year, expected.count(year), expected.total(year)) for year in sorted(expected.lines)
    ]
    assert checks[0] > 0 and checks[1] == 0


def test_a_broken_document_is_named_and_nothing_is_loaded(office, tmp_path, capsys):
    documents, out = tmp_path / "documents", tmp_path / "sortie"
    broken = write_broken_documents(tmp_path / "casse")
    documents.mkdir()
    shutil.copy(broken["html"], documents / broken["html"].name)

    assert build(documents, out) == 1
    error = capsys.readouterr().err
    assert broken["html"].name in error and "Que faire" in error
    assert subventions_in(office / "entrepot" / "opendata.duckdb") == 0


def test_the_official_examples_are_judged_as_the_standard_says(capsys):
    assert main(["subventions", "valider", str(EXEMPLES / "exemple_valide.csv")]) == 1
    shown = capsys.readouterr().out
    # valid for the standard; our real-date check still names its impossible date
    assert "exemple_valide.csv : conforme au schéma scdl/subventions 2.1.1" in shown
    assert "Date inexistante : colonne datesPeriodeVersement, ligne 27" in shown
    for name in ("exemple_invalide_erreurs_cellules.csv", "exemple_invalide_erreurs_colonnes.csv"):
        assert main(["subventions", "valider", str(EXEMPLES / name)]) == 1
        assert f"{name} : NON conforme" in capsys.readouterr().out
