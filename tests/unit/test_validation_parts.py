"""The pure parts that make the SCDL validation fast without changing what it finds
(tasks/quality/schema/): the table-based Luhn key against python-stdnum, the compact
duplicate digests against a plain dict of the rows, the chunked UTF-8 check against
bytes.decode."""

from __future__ import annotations

import random
import re

import pytest
from stdnum import luhn
from stdnum.fr import siret as stdnum_siret

from tasks.quality.schema.duplicates import BLOCK, RowDigests
from tasks.quality.schema.problems import Problem, is_siret, luhn_valid
from tasks.quality.schema.rows import with_duplicates
from tasks.quality.schema.validate import first_non_utf8

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def stdnum_says(value: str) -> bool:
    """What is_siret did before, one call to stdnum per cell."""
    return bool(re.fullmatch(r"\d{14}", value)) and stdnum_siret.is_valid(value)


def with_key(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def sirets(count: int, seed: int) -> list[str]:
    """Valid SIRETs (both keys right), the same with one digit changed, random digits,
    La Poste's establishments (no Luhn key), and other lengths."""
    rnd = random.Random(seed)
    values = []
    for _ in range(count):
        siren = with_key(f"{rnd.randrange(10**8):08d}")
        good = with_key(siren + f"{rnd.randrange(10**4):04d}")
        k = rnd.randrange(14)
        miscopied = good[:k] + str((int(good[k]) + rnd.randrange(1, 10)) % 10) + good[k + 1 :]
        poste = f"356000000{rnd.randrange(10**5):05d}"
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.choice([9, 13, 14, 15])))
        values += [good, miscopied, poste, digits]
    return values


def test_luhn_key_agrees_with_stdnum_on_every_length():
    rnd = random.Random(20)
    numbers = ["".join(rnd.choice("0123456789") for _ in range(n)) for n in range(1, 21)] * 500
    numbers += [with_key(number) for number in numbers]
    assert sum(luhn.is_valid(n) for n in numbers) > len(numbers) // 2  # both answers tested
    assert [luhn_valid(n) for n in numbers] == [luhn.is_valid(n) for n in numbers]


def test_siret_check_agrees_with_stdnum_on_many_numbers():
    values = sirets(5000, seed=14)
    expected = [stdnum_says(v) for v in values]
    assert 4000 < sum(expected) < 10000  # valid ones, and La Poste's with a digit sum of 5
    is_siret.cache_clear()
    assert [is_siret(v) for v in values] == expected
    assert [is_siret(v) for v in values] == expected  # answered again from the cache


@pytest.mark.parametrize(
    "value",
    [
        "33496296600000",  # the official example with cell errors: its key fails
        "47972165600100",  # the example with column errors
        "38033590100028",  # a real SIRET, last digit changed
        "21060004500393",
        "35600000012345",  # La Poste: digits summing to 29, not a multiple of 5
        "35600000000049",  # La Poste's head office has a Luhn key, and this one is wrong
        "218601946",  # a SIREN
        "32402138500000.0",
        "2106 0004 5003 92",
        "３８０３３５９０１０００２８",  # full-width digits, wrong key
        "",
    ],
)
def test_known_invalid_sirets_stay_invalid(value):
    assert not is_siret(value)
    assert not stdnum_says(value)


@pytest.mark.parametrize(
    "value",
    [
        "21060004500392",
        "38033590100027",
        "35600000012346",  # La Poste: digits summing to 30
        "35600000000048",  # La Poste's head office
        "３８０３３５９０１０００２７",  # full-width digits: stdnum reads them as digits
    ],
)
def test_known_valid_sirets_stay_valid(value):
    assert is_siret(value)
    assert stdnum_says(value)


def test_duplicates_are_those_a_dict_of_the_rows_finds_over_several_blocks():
    rnd = random.Random(7)
    pool = [[f"Association {i}", f"{i * 37}.00"] for i in range(400)]
    digests, first, expected = RowDigests(), {}, []
    ligne = 1
    for i in range(BLOCK * 2 + 500):
        ligne += rnd.choice([1, 1, 1, 2])  # blank rows are not counted
        cells = rnd.choice(pool) if rnd.random() < 0.01 else [f"Association {i}", "1.00"]
        key = "\x1f".join(cells)
        if key in first:
            expected.append((ligne, first[key]))
        first.setdefault(key, ligne)
        digests.add(cells, ligne)

    assert len(expected) > 500
    assert digests.duplicates() == expected
    assert digests.nbytes == 12 * (BLOCK * 2 + 500)  # 8-byte digest and 4-byte ligne a row


def test_no_duplicate_and_cells_that_are_not_text():
    digests = RowDigests()
    assert digests.duplicates() == []
    digests.add(["a", None], 2)
    digests.add(["a", "None"], 3)  # the same once written, as before: str(None)
    digests.add(["a", "b"], 4)
    assert digests.duplicates() == [(3, 2)]


def problem(ligne: int, titre: str) -> Problem:
    return Problem(ligne, "montant", titre, "", "", "erreur")


def test_a_duplicate_comes_last_of_its_row_among_the_problems():
    found = [problem(2, "a"), problem(5, "b"), problem(5, "c"), problem(9, "d")]
    merged = with_duplicates(found, [(3, 2), (5, 2), (9, 3), (12, 2)])
    assert [(p.ligne, p.titre) for p in merged] == [
        (2, "a"),
        (3, "Ligne en double"),
        (5, "b"),
        (5, "c"),
        (5, "Ligne en double"),
        (9, "d"),
        (9, "Ligne en double"),
        (12, "Ligne en double"),
    ]
    assert merged[4].detail == "identique à la ligne 2"
    assert with_duplicates(found, []) == found


def decode_says(data: bytes) -> tuple[int, str] | None:
    """Where bytes.decode stops, counted in the file (BOM included)."""
    offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        data[offset:].decode("utf-8")
    except UnicodeDecodeError as error:
        start = offset + error.start
        return data[:start].count(b"\n") + 1, data[start : start + 1].hex()
    return None


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_utf8_check_by_chunks_finds_the_byte_decode_finds(size):
    rnd = random.Random(size)
    pieces = ["é", "€", "𝄞", "a", ",", "\n", "\r\n"]
    for _ in range(300):
        data = "".join(rnd.choice(pieces) for _ in range(40)).encode()
        if rnd.random() < 0.3:
            data = b"\xef\xbb\xbf" + data
        if rnd.random() < 0.7:  # a Windows byte, a cut character, a stray continuation byte
            k = rnd.randrange(len(data) + 1)
            data = data[:k] + rnd.choice([b"\xe9", b"\xe2\x82", b"\x80", b"\xff"]) + data[k:]
        chunks = iter([data[i : i + size] for i in range(0, len(data), size)])
        assert first_non_utf8(chunks) == decode_says(data), data


def test_utf8_check_points_past_a_bom_to_the_bad_byte():
    # Before, the place was counted after the BOM but read in the file: 3 bytes early.
    data = b"\xef\xbb\xbfnom\nVILLE D'ANTIBES\n\xc9COLE,1\n"
    assert first_non_utf8(iter([data])) == (3, "c9")
