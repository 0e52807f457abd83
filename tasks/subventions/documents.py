"""A commune's document (.docx, .odt, .xlsx, .csv) as a neutral sequence of blocks in
reading order: text (headings, paragraphs) and tables (rows of cell strings).

Merged cells are undone the way a reader sees them: a cell merged across columns is one
cell (its `span` says how many grid columns it covers), a cell merged down several rows
is repeated in each row (the same objet for several beneficiaries). A table nested in a
cell comes right after the table holding it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import docx
import openpyxl
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from odf import opendocument, teletype
from odf.namespaces import OFFICENS, TABLENS, TEXTNS

from tasks.core.errors import InvalidFormat

# Spreadsheets and LibreOffice tables pad rows with « 1 000 000 empty cells »: a run that
# long is padding, not columns or rows anyone filled.
MAX_REPEAT = 100
_CONVERT = "libreoffice --headless --convert-to {target} « fichier »"


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(eq=False)
class Table:
    rows: list[list[str]]
    spans: list[list[int]] = field(default_factory=list)  # grid columns of each cell
    parent: Table | None = None  # the table whose cell holds this one

    def __post_init__(self):
        if not self.spans:
            self.spans = [[1] * len(row) for row in self.rows]

    def grid(self, index: int, *, fill: bool) -> list[str]:
        """Row `index` with one string per grid column; a merged cell's text fills all
        the columns it covers (`fill`, for headers) or only its first one (for data,
        so that an amount merged over two columns is not counted twice)."""
        cells = []
        for text, span in zip(self.rows[index], self.spans[index], strict=True):
            cells.extend([text] * span if fill else [text] + [""] * (span - 1))
        return cells


Block = Text | Table


def read_blocks(path: Path) -> list[Block]:
    """The blocks of `path`, chosen by its extension; InvalidFormat when it cannot be read."""
    readers = {".docx": _read_docx, ".odt": _read_odt, ".xlsx": _read_xlsx, ".csv": _read_csv}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InvalidFormat(
            f"le format « {path.suffix or 'sans extension'} » n'est pas lu",
            where=str(path),
            action=_advice(path.suffix.lower()),
        )
    return reader(path)


def _advice(suffix: str) -> str:
    if suffix in {".doc", ".rtf"}:
        return "convertissez-le en .docx : " + _CONVERT.format(target="docx")
    if suffix in {".xls", ".ods"}:
        return "convertissez-le en .xlsx : " + _CONVERT.format(target="xlsx")
    return "fournissez le document en .docx, .odt, .xlsx ou .csv (exporté depuis le logiciel)"


def _unreadable(path: Path, kind: str, error: Exception) -> InvalidFormat:
    return InvalidFormat(
        f"le fichier n'est pas un document {kind} lisible ({type(error).__name__})",
        where=str(path),
        action=(
            f"ouvrez-le et réenregistrez-le au format {kind} (Fichier > Enregistrer sous) ; "
            "un ancien .doc se convertit avec " + _CONVERT.format(target="docx")
        ),
    )


def _load(path: Path, kind: str, load):
    try:
        return load()
    except FileNotFoundError:
        raise
    # A damaged or disguised file (an HTML page saved as .docx, a truncated zip) fails
    # in the parsing libraries with a dozen unrelated exception types.
    except Exception as error:
        raise _unreadable(path, kind, error) from error


def _add_text(blocks: list[Block], text: str) -> None:
    if text.strip():
        blocks.append(Text(text.strip()))


def _table(rows: list[list[str]], spans: list[list[int]], parent: Table | None) -> Table:
    """A table without the trailing empty cells and rows that editors leave behind."""
    for texts, widths in zip(rows, spans, strict=True):
        while texts and not texts[-1]:
            texts.pop()
            widths.pop()
    while rows and not rows[-1]:
        rows.pop()
        spans.pop()
    return Table(rows, spans, parent)


def _collapse(slots: list[tuple[object, str]]) -> tuple[list[str], list[int]]:
    """Grid slots (cell identity, text) → cells and spans: consecutive slots of the
    same cell are one horizontally merged cell."""
    texts: list[str] = []
    widths: list[int] = []
    previous = None
    for key, text in slots:
        if texts and key is previous:
            widths[-1] += 1
        else:
            texts.append(text)
            widths.append(1)
        previous = key
    return texts, widths


# --- Word -------------------------------------------------------------------------


def _read_docx(path: Path) -> list[Block]:
    document = _load(path, "Word (.docx)", lambda: docx.Document(str(path)))
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            _add_text(blocks, item.text)
        else:
            blocks.extend(_docx_tables(item, None))
    return blocks


def _docx_tables(table: DocxTable, parent: Table | None) -> list[Table]:
    rows, spans, nested = [], [], []
    holders: set = set()  # cells already seen: a vertical merge repeats its nested tables
    for row in table.rows:
        # python-docx gives the same _tc for every slot a merged cell covers (the cell
        # above for a vertical merge continuation), which is what the reader sees.
        slots: list[tuple[object, str]] = [(object(), "")] * row.grid_cols_before
        for cell in row.cells:
            slots.append((cell._tc, cell.text.strip()))
            if cell._tc not in holders:
                holders.add(cell._tc)
                nested.extend(cell.tables)
        texts, widths = _collapse(slots)
        rows.append(texts)
        spans.append(widths)
    own = _table(rows, spans, parent)
    return [own, *[t for inner in nested for t in _docx_tables(inner, own)]]


# --- OpenDocument -----------------------------------------------------------------

_CONTAINERS = {"section", "list", "list-item", "list-header", "soft-page-break"}
_ROW_GROUPS = {"table-header-rows", "table-rows", "table-row-group"}


def _read_odt(path: Path) -> list[Block]:
    document = _load(path, "OpenDocument (.odt)", lambda: opendocument.load(str(path)))
    blocks: list[Block] = []
    _walk_odt(document.text, blocks)
    return blocks


def _walk_odt(element, blocks: list[Block], *, tables: bool = True) -> None:
    for child in element.childNodes:
        namespace, name = getattr(child, "qname", (None, None))
        if namespace == TEXTNS and name in {"h", "p"}:
            # extractText, unlike str(), turns <text:s c="2"/> back into two spaces.
            _add_text(blocks, teletype.extractText(child))
        elif namespace == TEXTNS and name in _CONTAINERS:
            _walk_odt(child, blocks, tables=tables)
        elif namespace == TABLENS and name == "table" and tables:
            blocks.extend(_odt_tables(child, None))


def _attribute(element, name: str, default: int = 1) -> int:
    value = element.attributes.get((TABLENS, name))
    return int(value) if value else default


def _odt_rows(table) -> list:
    rows = []
    for child in table.childNodes:
        namespace, name = getattr(child, "qname", (None, None))
        if namespace == TABLENS and name in _ROW_GROUPS:
            rows.extend(_odt_rows(child))
        elif namespace == TABLENS and name == "table-row":
            rows.extend([child] * _repeat(child, "number-rows-repeated"))
    return rows


def _repeat(element, name: str) -> int:
    count = _attribute(element, name)
    if count > MAX_REPEAT:
        return 1 if not teletype.extractText(element).strip() else MAX_REPEAT
    return count


@dataclass
class _Origin:
    key: object
    text: str
    last_row: int


def _odt_tables(table, parent: Table | None) -> list[Table]:
    covering: dict[int, _Origin] = {}  # grid column → the cell spanning over it
    rows, spans, nested = [], [], []
    for index, row in enumerate(_odt_rows(table)):
        slots = []
        for cell in (c for c in row.childNodes if getattr(c, "qname", (None,))[0] == TABLENS):
            for copy in range(_repeat(cell, "number-columns-repeated")):
                column = len(slots)
                if cell.qname[1] == "covered-table-cell":
                    slots.append(_covered(covering, column, index))
                    continue
                text, inner = _odt_cell(cell)
                origin = _Origin(
                    object(), text, index + _attribute(cell, "number-rows-spanned") - 1
                )
                for offset in range(_attribute(cell, "number-columns-spanned")):
                    covering[column + offset] = origin
                slots.append((origin.key, text))
                nested.extend(inner if copy == 0 else [])
        texts, widths = _collapse(slots)
        rows.append(texts)
        spans.append(widths)
    own = _table(rows, spans, parent)
    return [own, *[t for inner in nested for t in _odt_tables(inner, own)]]


def _covered(covering: dict[int, _Origin], column: int, row: int) -> tuple[object, str]:
    origin = covering.get(column)
    if origin is None or origin.last_row < row:
        return object(), ""  # a stray covered cell: an empty slot, not someone's text
    return origin.key, origin.text


def _odt_cell(cell) -> tuple[str, list]:
    """The cell's own text (nested tables excluded) and its nested tables."""
    kind = cell.attributes.get((OFFICENS, "value-type"))
    if kind in {"float", "currency", "percentage"}:
        value = cell.attributes.get((OFFICENS, "value")) or ""
        shown = _as_displayed(value) if value and kind != "percentage" else value
        return shown, [c for c in cell.childNodes if _is_table(c)]
    parts: list[Block] = []
    _walk_odt(cell, parts, tables=False)
    texts = [block.text for block in parts if isinstance(block, Text)]
    return "\n".join(texts), [c for c in cell.childNodes if _is_table(c)]


def _is_table(node) -> bool:
    return getattr(node, "qname", None) == (TABLENS, "table")


# --- Spreadsheet and CSV ----------------------------------------------------------


def _read_xlsx(path: Path) -> list[Block]:
    book = _load(
        path,
        "Excel (.xlsx)",
        lambda: openpyxl.load_workbook(
            io.BytesIO(path.read_bytes()), read_only=True, data_only=True
        ),
    )
    blocks: list[Block] = []
    for sheet in book.worksheets:
        _add_text(blocks, sheet.title)
        rows = [[_xlsx_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        blocks.append(_table(rows, [[1] * len(row) for row in rows], None))
    book.close()
    return blocks


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return _as_displayed(str(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _as_displayed(number: str) -> str:
    """A number cell the way the sheet shows it, to the cent: a formula such as =1000/3
    stores 333.3333333333333 and displays 333,33 (typed text is never rounded)."""
    try:
        return str(Decimal(number).quantize(Decimal("0.01"), ROUND_HALF_UP))
    except InvalidOperation:  # « inf », « nan »: left for the amount reader to refuse
        return number


def _read_csv(path: Path) -> list[Block]:
    raw = path.read_bytes()
    text = _load(path, "CSV (texte)", lambda: _decode(raw))
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=";,\t")
        delimiter = dialect.delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        delimiter = max(";,\t", key=first.count)
    rows = [
        [cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)
    ]
    return [_table(rows, [[1] * len(row) for row in rows], None)]


def _decode(raw: bytes) -> str:
    if b"\x00" in raw or raw.startswith(b"PK\x03\x04"):
        raise ValueError("contenu binaire")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel « CSV (séparateur : point-virgule) » on Windows writes cp1252.
        return raw.decode("cp1252")
