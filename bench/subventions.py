"""Subsidies to associations: our validation and our reading vs the plain libraries.

No real file of this size is available offline: this script writes SYNTHETIC inputs
and measures, side by side, in one run, each in a fresh process (so that memory figures
stay apart):

  - validation of a SCDL subventions CSV (16 columns, schema
    `catalog/schemas/scdl-subventions-2.1.1.json`) of N rows, all valid (SIRETs with
    valid Luhn keys built with `stdnum.luhn`, amounts with a decimal point, ISO dates),
    then with 1 % of the rows holding one bad cell (a decimal comma in `montant`, or a
    SIRET with a wrong key in `idBeneficiaire`):
      - ours: `tasks.quality.schema.validate.validate` (frictionless, plus the SIRET keys,
        one-of-required, real dates, duplicate rows, and every problem in French; the
        file is streamed, and the duplicates cost 12 bytes a row, 20 while they are
        sorted at the end of the file);
      - frictionless: `frictionless.validate` with the same schema, which ignores the
        schema's `custom_checks` (so the wrong SIRET keys go unseen) and stops at its
        default limit of 1 000 errors;
  - reading a .docx and an .odt holding one table of M subsidy rows (header
    « Association | Objet | Montant », amounts « 1 500,00 € » with U+00A0, a TOTAL row):
      - ours: `tasks.subventions.extraction.read_document` (merged cells, header, totals,
        Decimal amounts, the décision around the table);
      - naive: the cells' text only (python-docx `[c.text for c in row.cells]`, odfpy
        `teletype.extractText` per cell).

It prints wall time (imports excluded; the fastest of `--repetitions` runs, ours and the
reference in turn, as other processes share the machine) and peak memory (VmHWM, the
highest of those runs) of each, and the ratios ours / reference (the cost of our extra
checks and of our careful reading). The peak memory includes the libraries loaded: for
the validation each side loads only its own, for the reading both load the same.
Run: uv run python bench/subventions.py [--lignes 5000 50000] [--lignes-documents 2000]
     [--repetitions 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load_census import _peak_mb, in_fresh_process  # noqa: E402

SCHEMA = ROOT / "catalog" / "schemas" / "scdl-subventions-2.1.1.json"
NBSP = "\u00a0"


# Synthetic inputs


def siret(number: int) -> str:
    """A SIRET valid for stdnum: a SIREN with its Luhn key, a NIC, the key of all 14."""
    from stdnum import luhn

    siren = f"{number % 10**8:08d}"
    siren += luhn.calc_check_digit(siren)
    body = f"{siren}{number % 10**4:04d}"
    return body + luhn.calc_check_digit(body)


def write_csv(path: Path, rows: int, bad: bool) -> int:
    """The SCDL file of `rows` subsidies; with `bad`, one row in 100 has one bad cell.
    Returns how many cells are bad."""
    import csv
    import json

    fields = [f["name"] for f in json.loads(SCHEMA.read_text(encoding="utf-8"))["fields"]]
    attribuant = siret(21_590_522)
    broken = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(fields)
        for i in range(rows):
            beneficiaire = siret(10_000_000 + i * 7919)
            montant = f"{500 + (i * 37) % 20000}.{i % 100:02d}"
            if bad and i % 100 == 50:
                broken += 1
                if i % 200 == 50:
                    montant = montant.replace(".", ",")  # « 1500,50 »
                else:  # a wrong key: 14 digits, so only the SIRET check sees it
                    beneficiaire = beneficiaire[:-1] + str((int(beneficiaire[-1]) + 1) % 10)
            month, day = 1 + i % 12, 1 + i % 28
            writer.writerow(
                [
                    "Commune exemple (SYNTHÉTIQUE)",
                    attribuant,
                    f"2023-{month:02d}-{day:02d}",
                    f"DEL-2023-{i // 50:04d}",
                    f"Association {i}",
                    beneficiaire,
                    f"W{590000000 + i:09d}" if i % 3 == 0 else "",
                    f"Fonctionnement, projet « {i % 40} »",
                    montant,
                    "aide en numéraire",
                    "unique",
                    f"2023-{month:02d}-{day:02d}" + ("/2023-12-31" if i % 2 else ""),
                    "",
                    "non",
                    "1" if i % 5 else "0.5",
                    "",
                ]
            )
    return broken


def document_rows(rows: int) -> tuple[list[list[str]], Decimal]:
    from tests.subventions_fixtures import euros

    table = [["Association", "Objet", "Montant"]]
    total = Decimal("0.00")
    for i in range(rows):
        amount = Decimal(150 + (i * 37) % 9000) + Decimal(i % 100) / 100
        total += amount
        table.append([f"Association {i}", f"Fonctionnement {i % 40}", euros(amount, "nbsp")])
    return table, total


def write_documents(rows: int, folder: Path) -> tuple[Path, Path]:
    """A .docx and an .odt: a « Délibération » paragraph, then one table of `rows`
    subsidies closed by a TOTAL row (« 1 500,00 € », with U+00A0)."""
    import docx

    from tests.subventions_fixtures import Cell, Para, euros, write_odt

    table, total = document_rows(rows)
    table.append(["TOTAL", "", euros(total, "nbsp")])
    para = "Délibération n° 2023-04 du 14/03/2023 (EXEMPLE SYNTHÉTIQUE)"
    # python-docx directly: its table.cell(r, c), used by the tests' writer, walks the
    # whole table on each call.
    document = docx.Document()
    document.add_paragraph(para)
    grid = document.add_table(rows=len(table), cols=3)
    for row, texts in zip(grid.rows, table, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    docx_path = folder / "subventions.docx"
    document.save(str(docx_path))
    odt_path = folder / "subventions.odt"
    write_odt(odt_path, [Para(para), [[Cell(text) for text in texts] for texts in table]])
    return docx_path, odt_path


# Measures (each in a fresh process)


def measure_validation(kind: str, path: Path, queue) -> None:
    """Imports before the clock starts: only the checking counts. Each side imports only
    what it uses, so that the reference's memory is not swollen by our libraries."""
    import json

    import frictionless
    from frictionless import Schema

    if kind == "nous":
        from tasks.quality.schema.validate import validate

    start = time.perf_counter()
    if kind == "nous":
        found = len(validate(path, SCHEMA).problems)
    else:
        schema = Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
        # A relative path under a basepath: frictionless refuses absolute paths as unsafe.
        report = frictionless.validate(path.name, basepath=str(path.parent), schema=schema)
        found = len(report.flatten(["type"]))
    queue.put((found, time.perf_counter() - start, _peak_mb()))


def measure_reading(kind: str, path: Path, queue) -> None:
    """Imports before the clock starts: only opening and reading the document counts."""
    import docx
    from odf import opendocument, table, teletype

    from tasks.subventions.extraction import read_document

    start = time.perf_counter()
    if kind == "nous":
        reading = read_document(path)
        found = len(reading.lines)
        if reading.issues or not all(check.agrees for check in reading.checks):
            sys.exit(f"lecture inattendue de {path.name} : {reading.issues}")
    elif path.suffix == ".docx":
        found = 0
        for grid in docx.Document(str(path)).tables:
            for row in grid.rows:
                found += bool([cell.text for cell in row.cells])
    else:
        found = 0
        document = opendocument.load(str(path))
        for row in document.getElementsByType(table.TableRow):
            cells = row.getElementsByType(table.TableCell)
            found += bool([teletype.extractText(cell) for cell in cells])
    queue.put((found, time.perf_counter() - start, _peak_mb()))


def side_by_side(target, kinds: tuple[str, str], path: Path, label: str, repetitions: int):
    """Both sides measured `repetitions` times, in turn so that both meet the same load
    of the machine: the fastest time of each, and its highest peak memory."""
    runs = {kind: [] for kind in kinds}
    for _ in range(repetitions):
        for kind in kinds:
            runs[kind].append(in_fresh_process(target, kind, path, label=label))
    return [
        (found[0][0], min(r[1] for r in found), max(r[2] for r in found)) for found in runs.values()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lignes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--lignes-documents", type=int, default=2000)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    repeat = args.repetitions
    results = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for rows in args.lignes:
            for bad in (False, True):
                path = folder / f"subventions-{rows}{'-erreurs' if bad else ''}.csv"
                broken = write_csv(path, rows, bad)
                label = f"validation{', 1 % erronées' if bad else ''}"
                kinds = ("nous", "frictionless")
                ours, plain = side_by_side(measure_validation, kinds, path, label, repeat)
                if not bad and (ours[0] or plain[0]):
                    print(f"attention : le fichier valide de {rows} lignes a des problèmes")
                results.append((label, rows, f"{broken} cellules fausses", ours, plain))
        start = time.perf_counter()
        docx_path, odt_path = write_documents(args.lignes_documents, folder)
        print(
            f"Documents synthétiques : {args.lignes_documents} lignes, docx "
            f"{docx_path.stat().st_size / 1e3:.0f} ko, odt {odt_path.stat().st_size / 1e3:.0f} ko, "
            f"écrits en {time.perf_counter() - start:.1f} s"
        )
        for path in (docx_path, odt_path):
            label = f"lecture {path.suffix[1:]}"
            ours, naive = side_by_side(measure_reading, ("nous", "naïf"), path, label, repeat)
            results.append((label, args.lignes_documents, "", ours, naive))
    print(
        "nous : validate / read_document ; référence : frictionless.validate / texte des "
        "cellules ; trouvés : problèmes (validation) ou lignes lues (documents)"
    )
    print(
        f"{'mesure':<26} {'lignes':>7} {'nous (s)':>9} {'réf. (s)':>9} {'rapport':>8} "
        f"{'Mo nous':>8} {'Mo réf.':>8} {'trouvés nous/réf.':>18}"
    )
    for label, rows, note, (found, seconds, peak), (ref_found, ref_seconds, ref_peak) in results:
        print(
            f"{label:<26} {rows:>7} {seconds:>9.2f} {ref_seconds:>9.2f} "
            f"{seconds / ref_seconds:>7.2f}× {peak:>8.0f} {ref_peak:>8.0f} "
            f"{f'{found}/{ref_found}':>18} {note}"
        )


if __name__ == "__main__":
    main()
