"""`opendata-mel subventions build` end to end, as a data officer runs it: the commune's
documents (generated docx, odt, xlsx, csv with the messes of real ones), the recorded
answers of the Recherche d'entreprises API on a loopback server, a warehouse built by a
real refresh, and a second run after the officer has answered the report."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import shutil
import socket
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tasks.core.errors import InvalidData
from tasks.quality.schema.validate import validate
from tasks.subventions import decisions
from tasks.subventions.model import Decision
from tasks.subventions.steps import _documents
from tests.conftest import ROOT
from tests.subventions_fixtures import (
    answer_report,
    edit_rows,
    write_broken_documents,
    write_documents,
)

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


def build_args(documents: Path, out: Path) -> list[str]:
    return ["subventions", "build", "--input", str(documents), "--out", str(out)]


def build(documents: Path, out: Path) -> int:
    return main(build_args(documents, out))


def years_in(warehouse: Path) -> list[int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                "select distinct annee from raw.subventions order by 1"
            ).fetchall()
        ]


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

    # A year whose document left the folder is not erased silently from the warehouse.
    (documents / "2016.docx").unlink()
    assert build(documents, out) == 1
    error = capsys.readouterr().err
    assert "absente(s) des documents lus : 2016" in error and "--retirer-annees" in error
    assert years_in(warehouse) == sorted(expected.lines)
    assert main([*build_args(documents, out), "--retirer-annees"]) == 0
    assert years_in(warehouse) == sorted(expected.lines)[1:]


def closed_port() -> str:
    """A loopback address nobody listens on: the API's connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def identifier_rows(out: Path) -> dict[str, dict]:
    text = (out / "identifiants.csv").read_text(encoding="utf-8-sig")
    return {row["graphie"]: row for row in csv.DictReader(io.StringIO(text), delimiter=";")}


def test_an_unreachable_api_leaves_a_report_and_a_draft_then_the_next_run_finds(
    office, mirror, tmp_path, capsys, monkeypatch
):
    documents, out = tmp_path / "documents", tmp_path / "sortie"
    expected = write_documents(documents)
    warehouse = office / "entrepot" / "opendata.duckdb"
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()

    # The API does not answer: the report and a draft all the same, nothing loaded.
    monkeypatch.setenv("OPENDATA_MIRROR", closed_port())
    assert build(documents, out) == 1
    error = capsys.readouterr().err
    assert "Source injoignable ou en erreur : API Recherche d'entreprises injoignable" in error
    assert "(connexion impossible)" in error and "9 bénéficiaire(s) non recherché(s)" in error
    assert f"rapport : {out / 'rapport.md'}" in error
    assert "Que faire : relancez la même commande plus tard" in error
    assert "Rien n'a été chargé ni publié" in error
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert subventions_in(warehouse) == 0
    [draft] = out.glob("NON-PUBLIABLE_*.csv")
    assert FILE_NAME.match(draft.name.removeprefix("NON-PUBLIABLE_"))
    assert not [p for p in out.glob("*.csv") if FILE_NAME.match(p.name)]
    assert rows_of(draft) and {r["idBeneficiaire"] for r in rows_of(draft)} == {""}
    report = (out / "rapport.md").read_text(encoding="utf-8")
    assert "dont l'API Recherche d'entreprises injoignable" in report.splitlines()[0]
    assert report.count("| NON RECHERCHÉ : API injoignable, relancez plus tard |") == 9
    assert "SIRET INCONNU (non recherché : API injoignable, relancez plus tard)" in report
    rows = identifier_rows(out)
    assert {(r["origine"], r["siret"], r["candidats"]) for r in rows.values()} == {
        ("non recherché", "", "non recherché : API injoignable, relancez plus tard")
    }

    # Meanwhile the officer answers what they can: a year, an RNA typed by hand.
    def decide(row: dict) -> dict:
        if (row["fichier"], int(row["tableau"])) == expected.unknown:
            date = expected.answer.date.isoformat()
            row.update(annee=str(expected.answer.annee), date=date, origine="agent")
        return row

    edit_rows(out / "decisions.csv", decide)
    edit_rows(
        out / "identifiants.csv",
        lambda row: (
            {**row, "rna": "W599999099"} if row["graphie"] == "Harmonie municipale" else row
        ),
    )

    # The API is back: the others are looked up, the officer's answers are kept.
    monkeypatch.setenv("OPENDATA_MIRROR", mirror.url)
    assert build(documents, out) == 1  # still the ambiguous and the not found to settle
    error = capsys.readouterr().err
    assert "injoignable" not in error and "NON publiable" in error
    rows = identifier_rows(out)
    assert (rows["GRS"]["origine"], rows["GRS"]["siret"]) == ("api", "99900001100018")
    assert rows["Anciens combattants UNC"]["origine"] == "ambigu"
    assert (rows["Harmonie municipale"]["origine"], rows["Harmonie municipale"]["rna"]) == (
        "agent",
        "W599999099",
    )
    assert "non recherché" not in (out / "identifiants.csv").read_text(encoding="utf-8-sig")
    [answered] = [
        r
        for r in csv.DictReader(
            io.StringIO((out / "decisions.csv").read_text(encoding="utf-8-sig")), delimiter=";"
        )
        if (r["fichier"], int(r["tableau"])) == expected.unknown
    ]
    assert (answered["origine"], answered["date"]) == ("agent", expected.answer.date.isoformat())
    assert "idAttribuant" not in (out / "rapport.md").read_text(encoding="utf-8")
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before


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
    assert (
        "exemple_valide.csv : conforme au schéma scdl/subventions 2.1.1, mais 4 date(s) "
        "impossible(s) à corriger avant publication"
    ) in shown
    assert "Date inexistante : colonne datesPeriodeVersement, ligne 27" in shown
    for name in ("exemple_invalide_erreurs_cellules.csv", "exemple_invalide_erreurs_colonnes.csv"):
        assert main(["subventions", "valider", str(EXEMPLES / name)]) == 1
        assert f"{name} : NON conforme" in capsys.readouterr().out


def test_publishing_without_loading_is_refused(tmp_path, capsys):
    documents = tmp_path / "documents"
    write_documents(documents)
    args = [*build_args(documents, tmp_path / "sortie"), "--no-charger", "--publier"]
    assert main(args) == 1
    assert "publier sans charger" in capsys.readouterr().err
    assert not (tmp_path / "sortie").exists()  # refused before reading anything


def test_what_the_folder_holds_besides_documents(tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    for name in ("2019.docx", "2019.pdf", "2020.doc", "lisez-moi.txt", "~$2019.docx"):
        (folder / name).write_bytes(b"")
    paths, issues, notes = _documents(folder)
    assert [p.name for p in paths] == ["2019.docx"]
    # a copy beside its readable version and a file that is no document: noted only
    assert {(n.place.fichier, n.what.split(" (")[0]) for n in notes} == {
        ("2019.pdf", "non lu : sa version lisible, du même nom, a été lue"),
        ("lisez-moi.txt", "fichier ignoré"),
    }
    # a lone legacy document may hold a whole year: it blocks, saying what to do
    [issue] = issues
    assert issue.place.fichier == "2020.doc" and "--convert-to docx" in issue.action


def test_the_officer_answers_survive_a_spreadsheet(tmp_path):
    path = tmp_path / "decisions.csv"
    table = decisions.Table(("2019.docx", 1), "GRS", Decision(2019, None, None))
    decisions.write(path, {table.key: table}, [])
    text = path.read_text(encoding="utf-8-sig")
    header, row = text.splitlines()
    # Excel on Windows: cp1252, a French date, origine left as the program wrote it,
    # trailing empty fields dropped
    edited = row.replace(
        ";2019;;;à compléter;2019;;", ";2019;12/03/2019;Délibération n° 7;à compléter;2019"
    )
    path.write_bytes(f"{header}\n{edited}\n".encode("cp1252"))
    [answer] = decisions.read_answers(path)
    assert answer.decision == Decision(2019, dt.date(2019, 3, 12), "Délibération n° 7")

    path.write_text(f"{header}\n{edited.replace(';2019;12/03', ';19;12/03')}\n", encoding="utf-8")
    with pytest.raises(InvalidData, match="année illisible : '19'"):
        decisions.read_answers(path)


def test_an_answer_whose_table_changed_is_kept_and_never_moved(tmp_path):
    path = tmp_path / "decisions.csv"
    before = {
        ("2019.docx", 1): decisions.Table(("2019.docx", 1), "GRS", Decision()),
        ("2019.docx", 2): decisions.Table(("2019.docx", 2), "Club des aînés", Decision()),
    }
    answered = [
        decisions.Answer(("2019.docx", 1), "GRS", Decision(2019, dt.date(2019, 3, 12)), 2),
        decisions.Answer(
            ("2019.docx", 2), "Club des aînés", Decision(2020, dt.date(2020, 2, 3)), 3
        ),
    ]
    decisions.write(path, before, answered)
    # the first table left the document: the second is now « tableau 1 »
    after = {("2019.docx", 1): decisions.Table(("2019.docx", 1), "Club des aînés", Decision())}
    answers = decisions.read_answers(path)
    applied, issues = decisions.match(answers, after)
    # the answer follows its table (same first beneficiary), never the number
    assert applied == {("2019.docx", 1): Decision(2020, dt.date(2020, 2, 3))}
    [issue] = issues
    assert "« GRS »" in issue.what and "n'est plus dans les documents" in issue.what
    decisions.write(path, after, answers)
    kept = [r.split(";") for r in path.read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert kept[1][:5] == ["2019.docx", "1", "GRS", "2019", "2019-03-12"]
    assert kept[1][6] == decisions.ORPHAN
