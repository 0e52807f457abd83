"""FICTITIOUS documents of the commune of Sailly-lez-Lannoy (59522) listing its subsidies
to associations, 2016–2022, typed the way town halls type them.

The associations' names follow the spellings other modules group and identify, but
every amount, objet, date and délibération number below is INVENTED: none of it is
about the real commune. The data are Decimal values held here (the source of truth),
written out in the messy ways people format them; `Expected` says what a correct reading
must find.

Messes: a title row merged across the table, two-row headers (« Subvention 2017 » over
« Fonctionnement » / « Exceptionnelle »), a TOTAL row equal to the sum of the lines, blank
rows (repeated in ODF), a table nested in a cell (with a « Sous-total »), cells merged
down two rows, amounts « 1 500,00 € » with U+00A0 and U+202F, « 1.200,50 », « 300,- »,
« 1 500 euros », « 1,200.50 », a « néant » row, `<text:s c="2"/>` spaces in ODF, « Délibération
n° … du … » paragraphs, a cp1252 CSV, and one table whose year and date appear nowhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import docx
import openpyxl
from odf.opendocument import OpenDocumentText
from odf.table import CoveredTableCell, TableCell, TableColumn, TableRow
from odf.table import Table as OdfTable
from odf.text import H, P, S

from tasks.subventions.model import Decision

NBSP, NNBSP = "\u00a0", "\u202f"


# --- A document, whatever its format ----------------------------------------------


@dataclass
class Cell:
    text: str = ""
    span: int = 1
    nested: list | None = None  # rows of a table inside this cell
    value: Decimal | None = None  # a number cell (ODF currency, spreadsheet number)


BELOW = Cell("<fusionnée avec la cellule du dessus>")  # continues the cell above


@dataclass(frozen=True)
class Blank:
    count: int = 1  # consecutive empty rows


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str


def euros(amount: Decimal, style: str) -> str:
    """`amount` as people type it; the integer-only styles refuse cents."""
    units, cents = f"{amount:.2f}".split(".")
    grouped = f"{int(units):,}"
    if style in {"dash", "euros", "eur", "plain"} and cents != "00":
        raise ValueError(f"{amount} has cents: style {style} cannot write it")
    formats = {
        "nbsp": f"{grouped.replace(',', NBSP)},{cents}{NBSP}€",
        "nnbsp": f"{grouped.replace(',', NNBSP)},{cents} €",
        "dot": f"{grouped.replace(',', '.')},{cents}",
        "english": f"{grouped}.{cents}",
        "dash": f"{units},-",
        "euros": f"{grouped.replace(',', ' ')} euros",
        "eur": f"{units} EUR",
        "plain": units,
        "comma": f"{units},{cents}",
    }
    return formats[style]


# --- What a reading must find ------------------------------------------------------


@dataclass(frozen=True)
class ExpectedLine:
    fichier: str
    tableau: int
    beneficiaire: str
    objet: str | None
    montant: Decimal


@dataclass
class Expected:
    lines: dict[int, list[ExpectedLine]] = field(default_factory=dict)  # per year
    decisions: dict[tuple[str, int], Decision] = field(default_factory=dict)  # as printed
    printed_totals: dict[str, Decimal] = field(default_factory=dict)  # per file
    unknown: tuple[str, int] = ("", 0)  # the table whose year and date appear nowhere
    answer: Decision = field(default_factory=Decision)  # the officer's answer for it

    def total(self, year: int) -> Decimal:
        return sum((line.montant for line in self.lines[year]), Decimal("0.00"))

    def count(self, year: int) -> int:
        return len(self.lines[year])

    def add(self, year: int, fichier: str, tableau: int, lines: list[tuple]) -> None:
        self.lines.setdefault(year, []).extend(ExpectedLine(fichier, tableau, *x) for x in lines)
        printed = self.printed_totals.get(fichier, Decimal("0.00"))
        self.printed_totals[fichier] = printed + sum((x[2] for x in lines), Decimal("0.00"))


def _d(text: str) -> Decimal:
    return Decimal(text)


def _amount(amount: Decimal, style: str) -> Cell:
    if style == "value":  # a number cell shown as currency: the file also holds 250
        return Cell(euros(amount, "nbsp"), value=amount)
    if style == "number":
        return Cell(value=amount)
    return Cell(euros(amount, style))


def _simple_rows(data: list[tuple]) -> tuple[list[list[Cell]], list[tuple]]:
    """(beneficiary, objet, amount, style) → table rows and the lines they hold."""
    rows = [[Cell(b), Cell(o), _amount(a, s)] for b, o, a, s in data]
    return rows, [(b, o, a) for b, o, a, _ in data]


def _split_rows(data: list[tuple]) -> tuple[list[list[Cell]], list[tuple]]:
    """(beneficiary, objet, fonctionnement, style, exceptionnelle, style) with None for
    no amount → rows under a Fonctionnement/Exceptionnelle header, and their lines."""
    rows, lines = [], []
    for b, o, fonct, fs, exc, es in data:
        rows.append(
            [Cell(b), Cell(o)]
            + [_amount(a, s) if a is not None else Cell() for a, s in ((fonct, fs), (exc, es))]
        )
        for amount, nature in ((fonct, "Fonctionnement"), (exc, "Exceptionnelle")):
            if amount is not None:
                lines.append((b, f"{o} — {nature}" if o != nature else o, amount))
    return rows, lines


def _total_row(lines: list[tuple], style: str, label: str, width_before: int) -> list[Cell]:
    total = sum((x[2] for x in lines), Decimal("0.00"))
    return [Cell(label, span=width_before), Cell(euros(total, style))]


# --- The seven years ---------------------------------------------------------------


def _y2016(folder: Path, expected: Expected) -> None:
    data = [
        ("G.R.S", "Fonctionnement", _d("800.00"), "nbsp"),
        ("Coop. école maternelle", "Classe de découverte", _d("1200.50"), "dot"),
        ("Comité des fêtes", "Fête communale", _d("1500.00"), "nbsp"),
        ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1500.00"), "euros"),
        ("U.S. Sailly football", "Fonctionnement", _d("2500.00"), "nnbsp"),
        ("Club des aînés", "Repas annuel", _d("450.00"), "plain"),
        ("Anciens combattants UNC", "Cérémonies patriotiques", _d("250.00"), "nbsp"),
    ]
    rows, lines = _simple_rows(data)
    # The Comité des fêtes has two objets: its name cell is merged down two rows.
    rows.insert(3, [BELOW, Cell("Marché de Noël"), Cell(euros(_d("300"), "dash"))])
    lines.insert(3, ("Comité des fêtes", "Marché de Noël", _d("300.00")))
    table = [
        [Cell("Subventions aux associations", span=3)],
        [Cell("Association"), Cell("Objet"), Cell("Montant")],
        *rows[:5],
        [Cell("Club de judo"), Cell("Fonctionnement"), Cell("néant")],
        Blank(),
        *rows[5:],
        _total_row(lines, "nbsp", "TOTAL GÉNÉRAL", 2),
    ]
    write_docx(
        folder / "2016.docx",
        [
            Heading("Commune de Sailly-lez-Lannoy"),
            Heading("Subventions aux associations – Exercice 2016"),
            Para("Délibération n° 2016-08 du 14/03/2016 portant attribution des subventions."),
            table,
            Para("Le Maire,"),
        ],
    )
    expected.add(2016, "2016.docx", 1, lines)
    expected.decisions[("2016.docx", 1)] = Decision(
        2016, dt.date(2016, 3, 14), "Délibération n° 2016-08"
    )


def _split_table(title: str, year: int, data: list[tuple], nested: list, total_style: str):
    rows, lines = _split_rows(data)
    return [
        [Cell(title, span=4)],
        [Cell("Association"), Cell("Objet"), Cell(f"Subvention {year}", span=2)],
        [BELOW, BELOW, Cell("Fonctionnement"), Cell("Exceptionnelle")],
        *rows[:3],
        [Cell("Associations culturelles (détail ci-dessous) :", span=4, nested=nested)],
        *rows[3:5],
        [Cell("Club de judo"), Cell("Fonctionnement"), Cell("néant"), Cell()],
        Blank(2),
        *rows[5:],
    ], lines


def _nested(data: list[tuple]) -> tuple[list, list[tuple]]:
    rows, lines = _simple_rows(data)
    subtotal = sum((x[2] for x in lines), Decimal("0.00"))
    header = [Cell("Association"), Cell("Objet"), Cell("Montant")]
    return [header, *rows, [Cell("Sous-total", span=2), Cell(euros(subtotal, "comma"))]], lines


def _y2017(folder: Path, expected: Expected) -> None:
    nested, nested_lines = _nested(
        [
            ("Club des aînés", "Atelier mémoire", _d("180.00"), "plain"),
            ("Amicale laïque de Sailly-lez-Lannoy", "Bibliothèque", _d("320.00"), "nbsp"),
        ]
    )
    data = [
        ("G.R.S", "Gymnastique", _d("800.00"), "plain", None, None),
        ("Coop. école maternelle", "Sorties scolaires", _d("600.00"), "comma", _d("350"), "dash"),
        (
            "Comité des fêtes",
            "Feux d'artifice  (14 juillet)",
            _d("1500"),
            "nnbsp",
            _d("400"),
            "nbsp",
        ),
        ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1200.50"), "dot", None, None),
        ("U.S. Sailly football", "Tournoi de jeunes", _d("2500"), "euros", _d("750"), "comma"),
        ("Club des aînés", "Voyage annuel", _d("500.00"), "eur", None, None),
        ("Anciens combattants UNC", "Cérémonies", _d("250.00"), "value", None, None),
    ]
    table, lines = _split_table("Commune de Sailly-lez-Lannoy", 2017, data, nested, "nbsp")
    everything = [*lines, *nested_lines]
    total = sum((x[2] for x in everything), Decimal("0.00"))
    table.append([Cell("Total :", span=2), Cell(euros(total, "nnbsp"), span=2)])
    write_odt(
        folder / "2017.odt",
        [
            Heading("Subventions aux associations 2017"),
            Para("Conseil municipal du 05/04/2017 :  délibération n° 2017-05."),
            table,
        ],
    )
    expected.add(2017, "2017.odt", 1, lines)
    expected.add(2017, "2017.odt", 2, nested_lines)
    for number in (1, 2):
        expected.decisions[("2017.odt", number)] = Decision(
            2017, dt.date(2017, 4, 5), "délibération n° 2017-05"
        )


def _y2018(folder: Path, expected: Expected) -> None:
    nested, nested_lines = _nested(
        [
            ("Club des aînés", "Chorale", _d("220.00"), "nbsp"),
            ("APE de l'école Saint-Joseph", "Kermesse", _d("380.00"), "euros"),
        ]
    )
    data = [
        ("G.R.S", "Gymnastique", _d("850.00"), "nbsp", None, None),
        ("Coopérative école maternelle", "Sorties", _d("650.00"), "nnbsp", _d("300"), "dash"),
        ("Comité des fêtes", "Ducasse", _d("1600.00"), "nbsp", _d("450.00"), "dot"),
        ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1250.00"), "dot", None, None),
        ("U.S. Sailly football", "Équipes jeunes", _d("2600"), "euros", None, None),
        ("Club des aînés", "Voyage annuel", _d("520.00"), "nbsp", None, None),
        ("APE de l'école Saint-Joseph", "Fonctionnement", _d("400.00"), "plain", None, None),
        ("Anciens combattants UNC", "Cérémonies", _d("260.00"), "nnbsp", None, None),
    ]
    table, lines = _split_table("Budget primitif 2018", 2018, data, nested, "nbsp")
    everything = [*lines, *nested_lines]
    table.append(_total_row(everything, "nbsp", "TOTAL", 3))
    write_docx(
        folder / "2018.docx",
        [
            Heading("Subventions aux associations"),
            Para("Délibération du 12 mars 2018 : le conseil municipal attribue :"),
            table,
        ],
    )
    expected.add(2018, "2018.docx", 1, lines)
    expected.add(2018, "2018.docx", 2, nested_lines)
    for number in (1, 2):
        expected.decisions[("2018.docx", number)] = Decision(2018, dt.date(2018, 3, 12), None)


def _y2019_2020(folder: Path, expected: Expected) -> None:
    rows19, lines19 = _simple_rows(
        [
            ("GRS", "Gymnastique", _d("900.00"), "nbsp"),
            ("Coopérative de l'école maternelle", "Sorties", _d("700.00"), "plain"),
            ("Comité des fêtes", "Ducasse", _d("1650.00"), "english"),
            ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1300.00"), "nnbsp"),
            ("U.S. Sailly football", "Fonctionnement", _d("2700.00"), "nbsp"),
            ("Club des aînés", "Voyage annuel", _d("540.00"), "eur"),
            ("APE de l'école Saint-Joseph", "Fonctionnement", _d("420.00"), "dash"),
            ("Anciens combattants UNC", "Cérémonies", _d("270.00"), "comma"),
        ]
    )
    data20 = [
        ("GRS", "Gymnastique", _d("900.00"), "plain"),
        ("Coopérative de l'école maternelle", "Sorties", _d("500.00"), "nbsp"),
        ("Comité des fêtes", "Ducasse annulée (crise sanitaire)", _d("300.00"), "dash"),
        ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1300.00"), "euros"),
        ("US Sailly Football", "Fonctionnement", _d("2700.00"), "nnbsp"),
        ("Club des aînés", "Colis de Noël", _d("600.00"), "dot"),
        ("APE de l'école Saint-Joseph", "Fonctionnement", _d("420.00"), "nbsp"),
        ("Anciens combattants UNC", "Cérémonies", _d("270.00"), "plain"),
        ("Harmonie municipale", "Achat de partitions", _d("1050.00"), "nbsp"),
    ]
    # The 2020 table puts the amount before the objet.
    rows20 = [[Cell(b), Cell(euros(a, s)), Cell(o)] for b, o, a, s in data20]
    lines20 = [(b, o, a) for b, o, a, _ in data20]
    total20 = sum((x[2] for x in lines20), Decimal("0.00"))
    write_docx(
        folder / "2019-2020.docx",
        [
            Heading("Subventions aux associations 2019-2020"),
            Heading("Subventions 2019"),
            Para("Délibération n° 2019-12 du 12/03/2019"),
            [
                [Cell("Bénéficiaire"), Cell("Objet de la subvention"), Cell("Montant attribué")],
                *rows19,
                _total_row(lines19, "nbsp", "Total", 2),
            ],
            Heading("Subventions 2020"),
            Para("Conseil municipal, séance du 3 février 2020."),
            [
                [Cell("Nom de l'association"), Cell("Montant (€)"), Cell("Objet")],
                *rows20,
                [Cell("TOTAL"), Cell(euros(total20, "nbsp")), Cell()],
            ],
        ],
    )
    expected.add(2019, "2019-2020.docx", 1, lines19)
    expected.add(2020, "2019-2020.docx", 2, lines20)
    expected.decisions[("2019-2020.docx", 1)] = Decision(
        2019, dt.date(2019, 3, 12), "Délibération n° 2019-12"
    )
    expected.decisions[("2019-2020.docx", 2)] = Decision(2020, dt.date(2020, 2, 3), None)


def _y2021(folder: Path, expected: Expected) -> None:
    data = [
        ("GRS", "Gymnastique", _d("950.00"), "nnbsp"),
        ("Coopérative de l'école maternelle", "Sorties", _d("720.00"), "nbsp"),
        ("Comite des Fetes", "Ducasse", _d("1700.00"), "nbsp"),
        ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1350.00"), "euros"),
        ("US Sailly Football", "Fonctionnement", _d("2750.00"), "dot"),
        ("Club des aînés", "Voyage annuel", _d("560.00"), "value"),
        ("APE de l'école Saint-Joseph", "Fonctionnement", _d("440.00"), "plain"),
        ("Anciens combattants UNC", "Cérémonies  du 11 novembre", _d("280.00"), "dash"),
        ("Harmonie municipale", "Fonctionnement", _d("1100.00"), "nbsp"),
    ]
    rows, lines = _simple_rows(data)
    rows.insert(3, [BELOW, Cell("Marché de Noël"), Cell(euros(_d("350"), "nnbsp"))])
    lines.insert(3, ("Comite des Fetes", "Marché de Noël", _d("350.00")))
    write_odt(
        folder / "2021.odt",
        [
            Heading("Budget primitif 2021"),
            Para("Délibération n° 2021-07 du 29/03/2021"),
            [
                [Cell("Subventions attribuées", span=3)],
                [Cell("Association"), Cell("Objet"), Cell("Montant")],
                *rows[:4],
                Blank(),
                *rows[4:],
                [Cell("Club de judo"), Cell(), Cell("néant")],
                _total_row(lines, "nbsp", "TOTAL GÉNÉRAL", 2),
            ],
        ],
    )
    expected.add(2021, "2021.odt", 1, lines)
    expected.decisions[("2021.odt", 1)] = Decision(
        2021, dt.date(2021, 3, 29), "Délibération n° 2021-07"
    )


def _y2021_complements(folder: Path, expected: Expected) -> None:
    data = [
        ("Harmonie municipale", "Concert de la Sainte-Cécile", _d("350.00"), "comma"),
        ("Club des aînés", "Sortie au musée", _d("200.00"), "plain"),
    ]
    rows, lines = _simple_rows(data)
    table = [
        [Cell("Bénéficiaire"), Cell("Objet"), Cell("Montant")],
        *rows,
        _total_row(lines, "comma", "Total", 2),
    ]
    name = "complements_subventions.csv"
    write_csv(folder / name, table)
    expected.add(2021, name, 1, lines)
    expected.decisions[(name, 1)] = Decision()
    expected.unknown = (name, 1)
    expected.answer = Decision(2021, dt.date(2021, 9, 27), "Délibération n° 2021-31")


def _y2022(folder: Path, expected: Expected) -> None:
    data = [
        ("GRS", "Gymnastique", _d("950.00"), "number"),
        ("Coopérative de l'école maternelle", "Sorties", _d("750.50"), "number"),
        ("Comité des fêtes", "Ducasse", _d("1750.00"), "nbsp"),
        ("Amicale laïque de Sailly-lez-Lannoy", "Fonctionnement", _d("1400.00"), "number"),
        ("US Sailly Football", "Fonctionnement", _d("2800.00"), "number"),
        ("Club des aînés", "Voyage annuel", _d("580.00"), "dash"),
        ("APE de l'école Saint-Joseph", "Fonctionnement", _d("450.00"), "number"),
        ("Anciens combattants UNC", "Cérémonies", _d("290.00"), "number"),
        ("Harmonie municipale", "Fonctionnement", _d("1150.00"), "number"),
    ]
    lines = [(b, o, a) for b, o, a, _ in data]
    rows = [[Cell(b), Cell(o), _amount(a, s)] for b, o, a, s in data]
    total = sum((x[2] for x in lines), Decimal("0.00"))
    write_xlsx(
        folder / "2022.xlsx",
        "Subventions 2022",
        [
            [Cell("Commune de Sailly-lez-Lannoy", span=3)],
            [Cell("Délibération n° 2022-15 du 21/03/2022", span=3)],
            Blank(),
            [Cell("Association"), Cell("Objet"), Cell("Montant")],
            *rows,
            [Cell("TOTAL"), Cell(), Cell(value=total)],
        ],
    )
    expected.add(2022, "2022.xlsx", 1, lines)
    expected.decisions[("2022.xlsx", 1)] = Decision(
        2022, dt.date(2022, 3, 21), "Délibération n° 2022-15"
    )


def write_documents(folder: Path) -> Expected:
    """The commune's documents for 2016–2022 in `folder`, and what they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = Expected()
    for year in (_y2016, _y2017, _y2018, _y2019_2020, _y2021, _y2021_complements, _y2022):
        year(folder, expected)
    return expected


# --- Writers -----------------------------------------------------------------------


def _width(rows: list) -> int:
    return max(sum(cell.span for cell in row) for row in rows if not isinstance(row, Blank))


def _expanded(rows: list) -> list:
    """Blank markers as empty rows (for the formats without repeated rows)."""
    out = []
    for row in rows:
        out.extend([[]] * row.count if isinstance(row, Blank) else [row])
    return out


def write_docx(path: Path, blocks: list) -> None:
    document = docx.Document()
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=1)
        elif isinstance(block, Para):
            document.add_paragraph(block.text)
        else:
            rows = _expanded(block)
            _fill_docx(document.add_table(rows=len(rows), cols=_width(block)), rows)
    document.save(str(path))


def _fill_docx(table, rows: list) -> None:
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        column = 0
        for cell in row:
            target = table.cell(r, column)
            if cell is BELOW:
                table.cell(r - 1, column).merge(target)
            else:
                target.text = cell.text or str(cell.value or "")
                if cell.span > 1:
                    target = target.merge(table.cell(r, column + cell.span - 1))
                if cell.nested:
                    inner = _expanded(cell.nested)
                    _fill_docx(target.add_table(len(inner), _width(cell.nested)), inner)
            column += cell.span


def write_odt(path: Path, blocks: list) -> None:
    document = OpenDocumentText()
    for block in blocks:
        if isinstance(block, Heading):
            document.text.addElement(_odt_text(H(outlinelevel=1), block.text))
        elif isinstance(block, Para):
            document.text.addElement(_odt_text(P(), block.text))
        else:
            document.text.addElement(_odt_table(block))
    document.save(str(path))


def _odt_text(element, text: str):
    """Runs of spaces as <text:s c="n"/>, the way OpenDocument must store them."""
    for index, part in enumerate(re.split(r"( {2,})", text)):
        if index % 2:
            element.addElement(S(c=len(part)))
        elif part:
            element.addText(part)
    return element


def _odt_table(rows: list) -> OdfTable:
    width = _width(rows)
    table = OdfTable()
    table.addElement(TableColumn(numbercolumnsrepeated=width))
    for r, row in enumerate(rows):
        if isinstance(row, Blank):
            # LibreOffice's way: one row repeated, its empty cells as one repeated cell
            # (here far wider than the table, as a spreadsheet paste leaves them).
            line = TableRow(numberrowsrepeated=row.count)
            line.addElement(TableCell(numbercolumnsrepeated=1024))
            table.addElement(line)
            continue
        table.addElement(_odt_row(rows, r))
    return table


def _odt_row(rows: list, r: int) -> TableRow:
    line = TableRow()
    column = 0
    for cell in rows[r]:
        if cell is BELOW:
            line.addElement(CoveredTableCell())
            column += 1
            continue
        attributes = {}
        if cell.span > 1:
            attributes["numbercolumnsspanned"] = cell.span
        down = _rows_below(rows, r, column)
        if down > 1:
            attributes["numberrowsspanned"] = down
        if cell.value is not None:
            attributes.update(valuetype="currency", currency="EUR", value=str(cell.value))
        element = TableCell(**attributes)
        element.addElement(_odt_text(P(), cell.text or (str(cell.value) if cell.value else "")))
        if cell.nested:
            element.addElement(_odt_table(cell.nested))
        line.addElement(element)
        for _ in range(cell.span - 1):
            line.addElement(CoveredTableCell())
        column += cell.span
    return line


def _rows_below(rows: list, r: int, column: int) -> int:
    count = 1
    for row in rows[r + 1 :]:
        cells = _grid(row)
        if column >= len(cells) or cells[column] is not BELOW:
            break
        count += 1
    return count


def _grid(row) -> list:
    if isinstance(row, Blank):
        return []
    return [cell for cell in row for _ in range(cell.span)]


def write_xlsx(path: Path, title: str, rows: list) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for r, row in enumerate(_expanded(rows), start=1):
        column = 1
        for cell in row:
            value = cell.value if cell.value is not None else (cell.text or None)
            sheet.cell(r, column, value)
            if cell.span > 1:
                sheet.merge_cells(
                    start_row=r, start_column=column, end_row=r, end_column=column + cell.span - 1
                )
            column += cell.span
    book.save(path)


def write_csv(path: Path, rows: list, *, encoding: str = "cp1252", delimiter: str = ";") -> None:
    # Excel's « CSV (séparateur : point-virgule) » on Windows: cp1252 and `;`.
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
        for row in _expanded(rows):
            writer.writerow([text for cell in row for text in [cell.text, *[""] * (cell.span - 1)]])


# --- Broken inputs -----------------------------------------------------------------

HTML_PAGE = b"""<!DOCTYPE html><html><head><title>Erreur 404</title></head>
<body><h1>Page introuvable</h1><p>Le document demand\xc3\xa9 n'existe plus.</p></body></html>"""


def write_broken_documents(folder: Path) -> dict[str, Path]:
    """Documents a reading must refuse or question, by what is wrong with them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": folder / "page_erreur.docx",
        "truncated": folder / "tronque.xlsx",
        "legacy": folder / "ancien.doc",
        "amounts": folder / "montants_illisibles.docx",
        "no_amount_column": folder / "colonne_renommee.odt",
    }
    paths["html"].write_bytes(HTML_PAGE)  # what a portal serves when the file is gone
    write_xlsx(paths["truncated"], "Feuil1", [[Cell("Association"), Cell("Montant")]])
    paths["truncated"].write_bytes(paths["truncated"].read_bytes()[:300])
    paths["legacy"].write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # OLE2 header
    write_docx(
        paths["amounts"],
        [
            Para("Délibération n° 2023-01 du 16/01/2023"),
            [
                [Cell("Association"), Cell("Objet"), Cell("Montant")],
                [Cell("Club des aînés"), Cell("Repas"), Cell("mille euros")],
                [Cell("GRS"), Cell("Gymnastique"), Cell("-200,00 €")],
                [Cell("Harmonie municipale"), Cell("Fonctionnement"), Cell("500,00")],
            ],
        ],
    )
    write_odt(
        paths["no_amount_column"],
        [
            Para("Délibération n° 2023-02 du 16/01/2023"),
            [
                [Cell("Association"), Cell("Objet"), Cell("Versé")],
                [Cell("Club des aînés"), Cell("Repas"), Cell("450,00 €")],
            ],
        ],
    )
    return paths


# --- The data officer's answers ------------------------------------------------------


def answer_report(out: Path, expected: Expected) -> None:
    """Answer what the first build asked, as a data officer does in a spreadsheet: the
    year and date of the silent table; for each beneficiary the API could not settle,
    the first candidate listed (« SIRET – NOM – … »), or an RNA typed by hand."""

    def decide(row: dict) -> dict:
        if (row["fichier"], int(row["tableau"])) == expected.unknown:
            answer = expected.answer
            row.update(annee=str(answer.annee), date=answer.date.isoformat(), origine="agent")
        return row

    def identify(row: dict) -> dict:
        if row["origine"] in ("ambigu", "introuvable") and row["candidats"]:
            row["siret"] = row["candidats"][:14]
        elif row["origine"] == "introuvable":
            row["rna"] = "W595999099"
        return row

    edit_rows(out / "decisions.csv", decide)
    edit_rows(out / "identifiants.csv", identify)


def edit_rows(path: Path, change) -> None:
    """Edit a reviewable file as a spreadsheet saves it (UTF-8 with BOM, `;`)."""
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";")
    rows = [change(dict(row)) for row in reader]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=reader.fieldnames, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


# --- TOTAL rows --------------------------------------------------------------------


def write_same_year_documents(folder: Path) -> tuple[Path, Path]:
    """Two documents for 2019: the délibération prints a TOTAL, its complement none."""
    folder.mkdir(parents=True, exist_ok=True)
    main, complement = folder / "deliberation_2019.docx", folder / "complement_2019.docx"
    write_docx(
        main,
        [
            Para("Délibération n° 2019-12 du 12/03/2019"),
            [
                [Cell("Association"), Cell("Objet"), Cell("Montant")],
                [Cell("GRS"), Cell("Gymnastique"), Cell("900,00 €")],
                [Cell("Club des aînés"), Cell("Voyage"), Cell("540,00 €")],
                [Cell("TOTAL", span=2), Cell("1 440,00 €")],
            ],
        ],
    )
    write_docx(
        complement,
        [
            Para("Délibération n° 2019-30 du 23/09/2019"),
            [
                [Cell("Association"), Cell("Objet"), Cell("Montant")],
                [Cell("Harmonie municipale"), Cell("Partitions"), Cell("350,00 €")],
            ],
        ],
    )
    return main, complement


def write_category_subtotals(path: Path) -> None:
    """Sport and culture each closed by « Total sport » / « Total culture », then the
    TOTAL GÉNÉRAL of the whole table (row 9)."""
    write_docx(
        path,
        [
            Para("Délibération n° 2019-12 du 12/03/2019"),
            [
                [Cell("Association"), Cell("Objet"), Cell("Montant")],
                [Cell("Sport", span=3)],
                [Cell("GRS"), Cell("Gymnastique"), Cell("900,00 €")],
                [Cell("U.S. Sailly football"), Cell("Fonctionnement"), Cell("2 700,00 €")],
                [Cell("Total sport", span=2), Cell("3 600,00 €")],
                [Cell("Culture", span=3)],
                [Cell("Harmonie municipale"), Cell("Partitions"), Cell("350,00 €")],
                [Cell("Total culture", span=2), Cell("350,00 €")],
                [Cell("TOTAL GÉNÉRAL", span=2), Cell("3 950,00 €")],
            ],
        ],
    )


def write_wrong_total(path: Path) -> None:
    """A TOTAL row (row 4) that is not the sum of the lines above it."""
    write_docx(
        path,
        [
            Para("Délibération n° 2019-12 du 12/03/2019"),
            [
                [Cell("Association"), Cell("Objet"), Cell("Montant")],
                [Cell("GRS"), Cell("Gymnastique"), Cell("900,00 €")],
                [Cell("Club des aînés"), Cell("Voyage"), Cell("540,00 €")],
                [Cell("TOTAL", span=2), Cell("1 500,00 €")],
            ],
        ],
    )
