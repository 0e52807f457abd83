"""Read a CSV file, or the CSV inside a zip, as a stream of Arrow record batches.

Only the declared columns are converted, every value as text, each row numbered as in
the file (`_ligne`, the header being line 1). Arrow's parser skips the other columns
of a census file (~300, the registry declares ~30) where DuckDB's `read_csv` converts
every one; a zip member is decompressed as it is read (zlib releases the GIL, the
parse runs on the other core) and never written to disk. DuckDB reads the batches
where they are (`conn.register`), without a copy.
"""

from __future__ import annotations

import codecs
import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from tasks.sources.formats import member_name
from tasks.sources.registry import Source

LINE_COLUMN = "_ligne"
# Arrow's default; large enough for any header (read within the first block), small
# enough to keep a few blocks in memory only.
_BLOCK_SIZE = 1 << 20


class Batches:
    """The rows as Arrow batches (`reader`, to register with DuckDB), and the first error
    Arrow met while DuckDB was reading them (DuckDB only passes its text on)."""

    def __init__(self, reader: pacsv.CSVStreamingReader):
        self.error: pa.ArrowException | None = None
        schema = reader.schema.append(pa.field(LINE_COLUMN, pa.int64()))
        self.reader = pa.RecordBatchReader.from_batches(schema, self._numbered(reader))

    def _numbered(self, reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
        line = 2  # the first row after the header
        try:
            for batch in reader:
                numbers = pa.array(range(line, line + batch.num_rows), pa.int64())
                line += batch.num_rows
                yield batch.append_column(LINE_COLUMN, numbers)
        except pa.ArrowException as error:
            self.error = error
            raise


@contextmanager
def csv_batches(
    source: Source, path: Path, header: list[str], columns: list[str], scratch: Path
) -> Iterator[Batches]:
    """The rows of `columns` (names of `header`, as `formats.read_header` gives them).
    A row Arrow cannot read raises `pa.ArrowException` (`describe` says it in French)."""
    with ExitStack() as stack:
        stream = _utf8_stream(source, path, scratch, stack)
        reader = pacsv.open_csv(
            stream,
            # The header line is skipped and its names given: the stripped names of
            # `read_header`, that the layout was checked against. Given, not guessed, a
            # row with too many fields is an error, never the layout of the whole file.
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, block_size=_BLOCK_SIZE, use_threads=True
            ),
            # Quoted values may span lines, as DuckDB's reader allows.
            parse_options=pacsv.ParseOptions(
                delimiter=source.separator or ",", quote_char='"', newlines_in_values=True
            ),
            # Text as read: an empty cell stays '' (a fact to report, unlike a column
            # absent from an older millésime, NULL), never NULL.
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield Batches(reader)


_FIELD_COUNT = re.compile(r"Expected (\d+) columns, got (\d+): (.*)", re.DOTALL)


def describe(error: Exception, source: Source) -> str:
    """What Arrow could not read, in French for the usual cases."""
    text = str(error).strip()
    if found := _FIELD_COUNT.search(text):
        expected, got, line = found.groups()
        return (
            f"une ligne a {got} champ(s) au lieu des {expected} de l'en-tête : "
            f"« {line.strip()[:200]} »"
        )
    if "invalid UTF8" in text:
        return f"des octets ne sont pas du texte {source.encoding} (encodage déclaré)"
    return text.splitlines()[0] if text else type(error).__name__


def _utf8_stream(source: Source, path: Path, scratch: Path, stack: ExitStack):
    """The file's bytes in UTF-8: read in place (or from the zip) when they already are,
    else transcoded to a scratch copy first."""
    utf8 = is_utf8(source.encoding)
    if source.format == "zip":
        archive = stack.enter_context(zipfile.ZipFile(path))
        member = stack.enter_context(archive.open(member_name(archive, source)))
        if utf8:
            return member
        return stack.enter_context(
            utf8_copy(member, source.encoding, scratch / "membre.csv").open("rb")
        )
    if utf8:
        return str(path)
    with path.open("rb") as original:
        return stack.enter_context(
            utf8_copy(original, source.encoding, scratch / path.name).open("rb")
        )


def is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in {"utf-8", "utf8"}


def utf8_copy(stream, encoding: str, target: Path) -> Path:
    if is_utf8(encoding):
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out)
        return target
    reader = codecs.getreader(encoding)(stream)
    with target.open("w", encoding="utf-8") as out:
        shutil.copyfileobj(reader, out)
    return target
