"""SCDL subventions validation, judged against the standard's official examples."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from tasks.quality.schema.validate import AVERTISSEMENT, DATE, ERREUR, Validation, validate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "catalog" / "schemas" / "scdl-subventions-2.1.1.json"
EXEMPLES = Path(__file__).resolve().parent / "fixtures" / "scdl-subventions"
SIRET = "La valeur n'est pas conforme au format Siret"
ONE_OF = "Au moins l'une des colonnes idBeneficiaire ou rnaBeneficiaire doit comporter une valeur"
NOMBRE = "Format de nombre incorrect"


def where(validation: Validation, niveau: str | None = None) -> set[tuple]:
    return {
        (p.ligne, p.colonne, p.titre)
        for p in validation.problems
        if niveau is None or p.niveau == niveau
    }


def rows_of(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((EXEMPLES / name).read_text(encoding="utf-8"))))


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def test_schema_is_the_official_one_byte_for_byte():
    official = Path("/work/shared/reference/scdl-subventions/schema.json")
    if not official.exists():
        pytest.skip("shared reference copy not mounted")
    assert SCHEMA.read_bytes() == official.read_bytes()


def test_valid_example_is_conforme_but_its_impossible_dates_are_flagged():
    validation = validate(EXEMPLES / "exemple_valide.csv", SCHEMA)

    assert validation.conforme
    assert not validation.publiable
    assert {p.niveau for p in validation.problems} == {DATE}
    column = "datesPeriodeVersement"
    assert where(validation) == {
        (24, column, "Période de versement inversée"),  # 2017-04-12/2017-03-09
        (25, column, "Période de versement inversée"),  # 2017-12-20/2017-03-09
        (27, column, "Date inexistante"),  # 2017-03-02/2017-30-05
        (29, column, "Période de versement inversée"),  # 2017-03-02/2017-01-10
    }
    assert (
        "Date inexistante : colonne datesPeriodeVersement, ligne 27 — la date 2017-30-05 "
        "n'existe pas : corrigez-la (AAAA-MM-JJ), peut-être 2017-05-30 ?"
    ) in validation.lines()


def test_cell_errors_example_at_the_right_cells():
    validation = validate(EXEMPLES / "exemple_invalide_erreurs_cellules.csv", SCHEMA)

    assert not validation.conforme
    assert where(validation, ERREUR) >= {
        (6, "montant", NOMBRE),  # "100000,1"
        (9, "pourcentageSubvention", NOMBRE),  # "0,5"
        (2, "pourcentageSubvention", "Valeur hors limites"),  # 100
        (7, "idAttribuant", SIRET),  # 218601946: 9 digits
        (10, "idBeneficiaire", SIRET),  # 33496296600000: Luhn fails
        (6, "idBeneficiaire", SIRET),  # 32402138500000.0
        (5, "rnaBeneficiaire", "Format incorrect"),  # W3222
        (5, "dateConvention", "Format de date incorrect"),  # 05/12/2016
        (6, "notificationUE", "Valeur booléenne incorrecte"),  # no
        (8, "notificationUE", "Valeur booléenne incorrecte"),  # yes
        (8, "datesPeriodeVersement", "Format incorrect"),  # 2017-06-27_2018-06-27
        (10, "montant", "Cellule vide"),
        (9, "idBeneficiaire", ONE_OF),
        (16, "nature", "Valeur non autorisée"),  # comma instead of ;
    }
    # dispositifAide (new in 2.1) is optional: validata only warns when it is missing.
    assert where(validation, AVERTISSEMENT) == {
        (1, "dispositifAide", "Colonne facultative manquante")
    }
    lines = validation.lines()
    assert (
        "Format de nombre incorrect : colonne montant, ligne 6 — le séparateur décimal à "
        "utiliser est le point (écrire 100000.1, pas 100000,1)"
    ) in lines
    assert (
        "Format de date incorrect : colonne dateConvention, ligne 5 — la date s'écrit "
        "AAAA-MM-JJ (écrire 2016-12-05, pas 05/12/2016)"
    ) in lines
    assert (
        "Valeur booléenne incorrecte : colonne notificationUE, ligne 8 — seules les valeurs "
        "oui ou non sont autorisées (écrire oui, pas yes)"
    ) in lines
    siret = next(
        line for line in lines if line.startswith(f"{SIRET} : colonne idBeneficiaire, ligne 10")
    )
    assert siret.endswith("vérifiez le numéro sur annuaire-entreprises.data.gouv.fr")
    # Sorted as the file reads: by ligne, then in the schema's column order.
    assert lines[0].startswith("Colonne facultative manquante : colonne dispositifAide, ligne 1")
    assert lines.index(siret) < lines.index(
        next(line for line in lines if line.startswith("Cellule vide : colonne montant, ligne 10"))
    )


def test_column_errors_example_names_the_expected_columns_on_ligne_1():
    validation = validate(EXEMPLES / "exemple_invalide_erreurs_colonnes.csv", SCHEMA)

    assert not validation.conforme
    header = {p for p in validation.problems if p.ligne == 1}
    assert {(p.colonne, p.titre, p.niveau) for p in header} == {
        ("nomBeneficiaire", "Nom de colonne incorrect", ERREUR),
        ("idAttribuant", "Colonne mal placée", ERREUR),
        ("dispositifAide", "Colonne facultative manquante", AVERTISSEMENT),
    }
    assert (
        "Nom de colonne incorrect : colonne nomBeneficiaire, ligne 1 — renommez la colonne "
        "« NOM_Beneficiaire » en « nomBeneficiaire »"
    ) in validation.lines()
    # Columns are matched by name: the swapped columns are checked as themselves, so
    # « Ville de Poitiers » is never taken for a SIRET.
    assert not any("Ville de Poitiers" in p.detail for p in validation.problems)
    assert where(validation, ERREUR) >= {
        (6, "montant", NOMBRE),  # "100000,10"
        (9, "pourcentageSubvention", NOMBRE),
        (7, "idAttribuant", SIRET),
        (27, "idBeneficiaire", SIRET),  # 47972165600100
        (5, "rnaBeneficiaire", "Format incorrect"),
        (5, "dateConvention", "Format de date incorrect"),
        (10, "montant", "Cellule vide"),
        (9, "idBeneficiaire", ONE_OF),
    }


def test_injected_errors_are_reported_at_their_cell_and_nowhere_else(tmp_path):
    rows = rows_of("exemple_valide.csv")
    header = rows[0]
    # rows[n - 1] is ligne n: the header is ligne 1.
    rows[4 - 1][header.index("idBeneficiaire")] = "38033590100028"  # last digit changed
    rows[12 - 1][header.index("montant")] = "80000,50"
    path = write(tmp_path / "injecte.csv", rows)

    validation = validate(path, SCHEMA)

    assert where(validation, ERREUR) == {(4, "idBeneficiaire", SIRET), (12, "montant", NOMBRE)}
    assert where(validation, AVERTISSEMENT) == set()
    assert where(validation, DATE) == where(validate(EXEMPLES / "exemple_valide.csv", SCHEMA))
    assert (
        "Format de nombre incorrect : colonne montant, ligne 12 — le séparateur décimal à "
        "utiliser est le point (écrire 80000.50, pas 80000,50)"
    ) in validation.lines()


def test_decimal_point_amount_and_percentage_of_one_are_valid(tmp_path):
    rows = rows_of("exemple_valide.csv")[:2]
    header = rows[0]
    rows[1][header.index("montant")] = "1500.00"
    rows[1][header.index("pourcentageSubvention")] = "1"
    validation = validate(write(tmp_path / "ok.csv", rows), SCHEMA)

    assert validation.problems == ()
    assert validation.conforme and validation.publiable


def test_header_problems_missing_required_and_unknown_column(tmp_path):
    rows = rows_of("exemple_valide.csv")[:3]
    for row in rows:
        del row[8]  # montant
        row.append("x")
    rows[0][-1] = "commentaire"
    validation = validate(write(tmp_path / "entete.csv", rows), SCHEMA)

    assert where(validation, ERREUR) == {
        (1, "montant", "Colonne manquante"),
        (1, "commentaire", "Colonne inconnue"),
    }
    assert not validation.conforme


def test_blank_duplicate_and_short_rows(tmp_path):
    rows = rows_of("exemple_valide.csv")[:3]
    rows += [[], rows[1], rows[2][:5]]
    validation = validate(write(tmp_path / "lignes.csv", rows), SCHEMA)

    assert where(validation) == {
        (4, None, "Ligne vide"),
        (5, None, "Ligne en double"),
        (6, "idBeneficiaire", "Cellule manquante"),
    }


def test_not_utf8_is_a_french_problem_not_a_traceback(tmp_path):
    text = (EXEMPLES / "exemple_valide.csv").read_text(encoding="utf-8")
    path = tmp_path / "windows.csv"
    path.write_bytes(text.encode("cp1252"))

    validation = validate(path, SCHEMA)

    encoding = [p for p in validation.problems if p.titre == "Encodage du fichier incorrect"]
    assert [(p.ligne, p.niveau) for p in encoding] == [(2, ERREUR)]  # first « N° » on ligne 2
    assert not validation.conforme


@pytest.mark.parametrize(
    ("content", "titre"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Le fichier n'est pas un fichier CSV"),
        (b"%PDF-1.4\n", "Le fichier n'est pas un fichier CSV"),
        (b"", "Fichier vide"),
    ],
)
def test_not_a_csv_is_a_french_problem(tmp_path, content, titre):
    path = tmp_path / "subventions.csv"
    path.write_bytes(content)

    validation = validate(path, SCHEMA)

    assert [p.titre for p in validation.problems] == [titre]
    assert not validation.conforme


def test_semicolon_separator_is_reported_on_ligne_1(tmp_path):
    rows = rows_of("exemple_valide.csv")[:3]
    path = tmp_path / "excel.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(rows)

    validation = validate(path, SCHEMA)

    assert where(validation, ERREUR) == {(1, None, "Séparateur de colonnes incorrect")}


def test_every_kind_of_defect_is_found_in_its_place_and_order(tmp_path):
    """One of each defect: the same problems, in the same order, as the row-by-row
    validation (one stdnum call and one sha256 a row) found before it was made faster."""
    rows = rows_of("exemple_valide.csv")
    header = rows[0]

    def put(ligne: int, column: str, value: str) -> None:
        rows[ligne - 1][header.index(column)] = value

    put(3, "montant", "33000,50")
    put(4, "idBeneficiaire", "38033590100028")  # last digit changed
    put(5, "idBeneficiaire", "379 394 224 00016")
    put(6, "idAttribuant", "210600045")  # a SIREN
    put(7, "idBeneficiaire", "")
    put(7, "rnaBeneficiaire", "")
    put(8, "dateConvention", "07/07/2015")
    put(9, "dateConvention", "2015-7-7")  # frictionless takes it: only we flag it
    put(10, "dateConvention", "2015-02-30")
    put(11, "datesPeriodeVersement", "2017-02-30/2017-13-01")
    put(12, "datesPeriodeVersement", "2017-12-31/2017-01-01")
    put(13, "notificationUE", "yes")
    put(14, "pourcentageSubvention", "80")
    put(15, "nature", "aide en numéraire, aide en nature")
    put(16, "rnaBeneficiaire", "w333216789")
    put(17, "objet", "")
    put(18, "idRAE", "ABCDEFG")
    put(19, "idBeneficiaire", "５２４９９１２０５０００１３")  # full-width, right key
    put(20, "idBeneficiaire", "５２４９９１２０５０００１４")  # full-width, wrong key
    put(21, "idBeneficiaire", "35600000012346")  # La Poste: no Luhn key, digits sum to 30
    put(22, "idBeneficiaire", "35600000012345")
    put(23, "montant", " 1 500 € ")
    rows += [list(rows[2]), [], rows[4][:6], [*rows[5], "en trop", "encore"], rows[1], rows[1]]

    validation = validate(write(tmp_path / "defauts.csv", rows), SCHEMA)

    assert [(p.ligne, p.colonne, p.titre) for p in validation.problems] == [
        (3, "montant", NOMBRE),
        (4, "idBeneficiaire", SIRET),
        (5, "idBeneficiaire", SIRET),
        (6, "idAttribuant", SIRET),
        (7, "idBeneficiaire", ONE_OF),
        (8, "dateConvention", "Format de date incorrect"),
        (9, "dateConvention", "Format de date incomplet"),
        (10, "dateConvention", "Date inexistante"),
        (11, "datesPeriodeVersement", "Date inexistante"),
        (11, "datesPeriodeVersement", "Date inexistante"),
        (12, "datesPeriodeVersement", "Période de versement inversée"),
        (13, "notificationUE", "Valeur booléenne incorrecte"),
        (14, "pourcentageSubvention", "Valeur hors limites"),
        (15, "nature", "Valeur non autorisée"),
        (16, "rnaBeneficiaire", "Format incorrect"),
        (17, "objet", "Cellule vide"),
        (18, "idRAE", "Texte trop long"),
        (20, "idBeneficiaire", SIRET),
        (22, "idBeneficiaire", SIRET),
        (23, "montant", NOMBRE),
        (24, "datesPeriodeVersement", "Période de versement inversée"),
        (25, "datesPeriodeVersement", "Période de versement inversée"),
        (27, "datesPeriodeVersement", "Date inexistante"),
        (29, "datesPeriodeVersement", "Période de versement inversée"),
        (31, "montant", NOMBRE),
        (31, None, "Ligne en double"),  # last of its row, though known at the file's end
        (32, None, "Ligne vide"),
        (33, "rnaBeneficiaire", "Cellule manquante"),  # frictionless's first, then ours
        (33, "idBeneficiaire", SIRET),
        (34, None, "Cellule en trop"),
        (34, "idAttribuant", SIRET),
        (35, None, "Ligne en double"),
        (36, None, "Ligne en double"),
    ]
    assert [p.niveau for p in validation.problems].count(DATE) == 8
    assert [p.niveau for p in validation.problems].count(AVERTISSEMENT) == 3
    lines = validation.lines()
    for expected in (
        f"{SIRET} : colonne idBeneficiaire, ligne 20 — la clé de contrôle de "
        "５２４９９１２０５０００１４ est fausse (chiffre mal recopié ?) ; vérifiez le numéro sur "
        "annuaire-entreprises.data.gouv.fr",
        f"{SIRET} : colonne idBeneficiaire, ligne 22 — la clé de contrôle de 35600000012345 est "
        "fausse (chiffre mal recopié ?) ; vérifiez le numéro sur annuaire-entreprises.data.gouv.fr",
        f"{SIRET} : colonne idBeneficiaire, ligne 5 — retirez espaces et « .0 » ajoutés par le "
        "tableur (37939422400016) ; le numéro est bon une fois nettoyé ; vérifiez le numéro sur "
        "annuaire-entreprises.data.gouv.fr",
        f"{ONE_OF} : colonne idBeneficiaire, ligne 7 — renseignez idBeneficiaire (Identification "
        "SIRET du bénéficiaire) ou rnaBeneficiaire (Identification RNA du bénéficiaire)",
        "Format de date incomplet : colonne dateConvention, ligne 9 — la date s'écrit AAAA-MM-JJ, "
        "sur 10 caractères (écrire 2015-07-07, pas 2015-7-7)",
        "Date inexistante : colonne datesPeriodeVersement, ligne 11 — la date 2017-13-01 n'existe "
        "pas : corrigez-la (AAAA-MM-JJ), peut-être 2017-01-13 ?",
        "Période de versement inversée : colonne datesPeriodeVersement, ligne 12 — la période "
        "s'écrit début/fin : écrire 2017-01-01/2017-12-31 si les dates sont interverties, sinon "
        "corrigez-les",
        "Ligne en double : ligne 31 — supprimez cette ligne si la subvention de la ligne 3 a été "
        "saisie deux fois",
        "Ligne en double : ligne 36 — supprimez cette ligne si la subvention de la ligne 2 a été "
        "saisie deux fois",
    ):
        assert expected in lines


def test_duplicates_over_a_long_file_are_those_of_a_plain_dict(tmp_path):
    rnd = random.Random(2016)
    example = rows_of("exemple_valide.csv")
    rows, first, expected = [example[0]], {}, set()
    for i in range(3000):
        row = list(rnd.choice(example[1:]))
        if rnd.random() < 0.9:  # most rows are unique
            row[example[0].index("objet")] = f"Fonctionnement {i}"
        rows.append(row)
        key, ligne = tuple(row), len(rows)
        if key in first:
            expected.add((ligne, f"identique à la ligne {first[key]}"))
        first.setdefault(key, ligne)

    validation = validate(write(tmp_path / "long.csv", rows), SCHEMA)

    found = {(p.ligne, p.detail) for p in validation.problems if p.titre == "Ligne en double"}
    assert len(expected) > 200
    assert found == expected


def test_a_windows_byte_after_a_bom_is_shown_where_it_is(tmp_path):
    text = (EXEMPLES / "exemple_valide.csv").read_text(encoding="utf-8")
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("N°", "\u00e9", 1).encode("cp1252"))

    validation = validate(path, SCHEMA)

    [encoding] = [p for p in validation.problems if p.titre == "Encodage du fichier incorrect"]
    assert (encoding.ligne, encoding.detail) == (
        2,
        "octet 0xe9 invalide en UTF-8 (fichier probablement en Windows-1252)",
    )
