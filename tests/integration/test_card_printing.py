"""Card sheets as a printer gets them: rasterised at 300 dpi, every QR read back, text and geometry measured."""

from __future__ import annotations

import io
import itertools
import random
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import base45
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from canasta.adapters.pdf import (
    CARD_HEIGHT_MM,
    CARD_WIDTH_MM,
    CARDS_PER_SHEET,
    CardFontNotFoundError,
    CardFonts,
    CardLabels,
    PrintableCard,
    card_origin_mm,
    default_card_fonts,
    render_card_sheets,
)
from canasta.adapters.qr import MODULE_SIZE_MM, ReadQr, encode_qr, read_qr_codes
from canasta.domain.errors import ValidationError

POINTS_PER_MM = 72 / 25.4
DOTS_PER_INCH = 300
HOLDERS = (
    "José Peña",
    "Ñuñez Ibáñez",
    "Łukasz Wiśniewski",
    "Ștefan Țurcanu",
    "Đorđe Đukić",
    "Øyvind Ødegård",
    "Ğül Şahin",
    "François Lefèvre-Ďurčová",
    "Zoë Ærøskøbing",
    "Ana",
    "Dvořák Horváth Kőrösi",
)


def credential_text(chooser: random.Random) -> str:
    return base45.b45encode(chooser.randbytes(chooser.randint(120, 200))).decode()


def make_cards(count: int, seed: int = 7) -> list[PrintableCard]:
    chooser = random.Random(seed)
    return [
        PrintableCard(
            programme_name="Canasta Básica — Programa Nacional de Alimentación",
            holder_name=HOLDERS[index % len(HOLDERS)],
            card_id=f"{chooser.randrange(10**11):011d}{index % 10}",
            expires_on=date(2028, 1 + index % 12, 28),
            qr_payload=credential_text(chooser),
        )
        for index in range(count)
    ]


@dataclass(frozen=True)
class Printed:
    cards: list[PrintableCard]
    data: bytes
    document: pdfium.PdfDocument


@pytest.fixture(scope="module")
def printed() -> Iterator[Printed]:
    cards = make_cards(23)  # two full sheets and one with three cards
    out = io.BytesIO()

    assert render_card_sheets(iter(cards), out) == 23

    document = pdfium.PdfDocument(out.getvalue())
    yield Printed(cards, out.getvalue(), document)
    document.close()


def cell_points(position: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a card on its sheet, in PDF points."""
    x, y = card_origin_mm(position)
    return (
        x * POINTS_PER_MM,
        y * POINTS_PER_MM,
        (x + CARD_WIDTH_MM) * POINTS_PER_MM,
        (y + CARD_HEIGHT_MM) * POINTS_PER_MM,
    )


def page_objects(page: pdfium.PdfPage, kind: int) -> list[tuple[float, float, float, float]]:
    return [item.get_bounds() for item in page.get_objects() if item.type == kind]


def read_page(page: pdfium.PdfPage) -> list[ReadQr]:
    bitmap = page.render(scale=DOTS_PER_INCH / 72, grayscale=True)
    return read_qr_codes(bitmap.to_pil())


def test_cards_are_laid_out_ten_to_an_a4_page(printed: Printed) -> None:
    sizes = [printed.document[index].get_size() for index in range(len(printed.document))]

    assert len(sizes) == 3
    assert sizes == [pytest.approx((595.276, 841.890), abs=0.001)] * 3
    assert [len(page_objects(printed.document[index], pdfium_raw.FPDF_PAGEOBJ_IMAGE)) for index in range(3)] == [
        10,
        10,
        3,
    ]


def test_every_qr_reads_back_from_a_300_dpi_raster_on_its_own_card(printed: Printed) -> None:
    pixels_per_point = DOTS_PER_INCH / 72
    for page_index in range(len(printed.document)):
        page = printed.document[page_index]
        page_height = page.get_height()
        expected = printed.cards[page_index * CARDS_PER_SHEET : (page_index + 1) * CARDS_PER_SHEET]

        found = read_page(page)

        assert sorted(code.text for code in found) == sorted(card.qr_payload for card in expected)
        for code in found:
            position = next(index for index, card in enumerate(expected) if card.qr_payload == code.text)
            left, bottom, right, top = cell_points(position)
            assert left * pixels_per_point < code.left < code.right < right * pixels_per_point
            assert (page_height - top) * pixels_per_point < code.top < code.bottom
            assert code.bottom < (page_height - bottom) * pixels_per_point
            assert code.error_correction == "Q"
            assert code.version == encode_qr(code.text).version


def test_cut_marks_are_on_the_edges_of_id_1_cards(printed: Printed) -> None:
    lines = page_objects(printed.document[0], pdfium_raw.FPDF_PAGEOBJ_PATH)
    cut_marks = [bounds for bounds in lines if not any(_inside(bounds, cell_points(p)) for p in range(10))]
    vertical = sorted(
        {round((left + right) / 2 / POINTS_PER_MM, 3) for left, _, right, _ in cut_marks if right - left < 1}
    )
    horizontal = sorted(
        {round((bottom + top) / 2 / POINTS_PER_MM, 3) for _, bottom, _, top in cut_marks if top - bottom < 1}
    )

    assert len(cut_marks) == 2 * 3 + 2 * 6
    assert [b - a for a, b in itertools.pairwise(vertical)] == pytest.approx([85.60] * 2, abs=0.002)
    assert [b - a for a, b in itertools.pairwise(horizontal)] == pytest.approx([53.98] * 5, abs=0.002)
    assert (vertical[0] + vertical[-1]) / 2 == pytest.approx(105.0, abs=0.002)  # centred on the sheet
    assert (horizontal[0] + horizontal[-1]) / 2 == pytest.approx(148.5, abs=0.002)


def _inside(bounds: tuple[float, float, float, float], cell: tuple[float, float, float, float]) -> bool:
    left, bottom, right, top = bounds
    return cell[0] <= left and right <= cell[2] and cell[1] <= bottom and top <= cell[3]


def test_qr_modules_print_at_0_508_mm_inside_the_card(printed: Printed) -> None:
    page = printed.document[0]
    images = page_objects(page, pdfium_raw.FPDF_PAGEOBJ_IMAGE)

    for position, card in enumerate(printed.cards[:CARDS_PER_SHEET]):
        size = encode_qr(card.qr_payload).size
        [(left, bottom, right, top)] = [image for image in images if _inside(image, cell_points(position))]
        assert (right - left) / POINTS_PER_MM == pytest.approx(size * MODULE_SIZE_MM, abs=0.01)
        assert (top - bottom) / POINTS_PER_MM == pytest.approx(size * MODULE_SIZE_MM, abs=0.01)
        _, cell_bottom, cell_right, _ = cell_points(position)
        # 3.5 mm from the card's right and bottom edges: the 4-module quiet zone (2.03 mm) stays on the card.
        assert (cell_right - right) / POINTS_PER_MM == pytest.approx(3.5, abs=0.01)
        assert (bottom - cell_bottom) / POINTS_PER_MM == pytest.approx(3.5, abs=0.01)


def test_names_with_accents_round_trip_exactly_through_text_extraction(printed: Printed) -> None:
    for page_index in range(len(printed.document)):
        text_page = printed.document[page_index].get_textpage()
        for position, card in enumerate(printed.cards[page_index * 10 : page_index * 10 + 10]):
            lines = text_page.get_text_bounded(*cell_points(position)).split("\r\n")

            assert lines == [
                card.programme_name,
                "Holder",
                card.holder_name,
                "Card number",
                card.card_id,
                "Valid until",
                card.expires_on.isoformat(),
            ]
        text_page.close()


def test_the_font_is_embedded_as_a_truetype_subset(printed: Printed) -> None:
    data = printed.data

    assert data.count(b"/FontFile2 ") == data.count(b"/Type /FontDescriptor") == 2
    assert data.count(b"/Subtype /TrueType") == 2
    assert b"+SourceSansPro-Regular /FirstChar 0" in data
    assert b"+SourceSansPro-Bold /FirstChar 0" in data
    assert b"/ToUnicode" in data


def test_rendering_the_same_cards_twice_gives_the_same_bytes(printed: Printed) -> None:
    again = io.BytesIO()

    render_card_sheets(printed.cards, again)

    assert again.getvalue() == printed.data


def test_a_long_name_wraps_onto_two_lines_without_losing_a_letter() -> None:
    name = "María de los Ángeles Fernández Rodríguez de la Santísima Trinidad"
    card = PrintableCard("Pensión", name, "123456789012", date(2029, 5, 1), "QR TEST")
    out = io.BytesIO()

    render_card_sheets([card], out, labels=CardLabels(holder="Titular", card_id="Tarjeta", expires_on="Vence"))

    with pdfium.PdfDocument(out.getvalue()) as document:
        lines = document[0].get_textpage().get_text_bounded(*cell_points(0)).split("\r\n")
    assert lines[0:2] == ["Pensión", "Titular"]
    assert " ".join(lines[2:4]) == name
    assert lines[4:] == ["Tarjeta", "123456789012", "Vence", "2029-05-01"]


def test_a_name_the_font_cannot_print_is_refused_naming_the_card_not_the_person() -> None:
    card = PrintableCard("Pensión", "Wang 王芳", "000000000017", date(2029, 5, 1), "QR TEST")

    with pytest.raises(ValidationError) as raised:
        render_card_sheets([card], io.BytesIO())

    assert raised.value.field == "holder_name"
    assert raised.value.fields["character"] == "U+738B"
    assert "000000000017" in raised.value.detail
    assert "Wang" not in raised.value.detail


def test_printing_no_cards_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no cards") as raised:
        render_card_sheets(iter([]), tmp_path / "empty.pdf")

    assert raised.value.field == "cards"
    assert list(tmp_path.iterdir()) == []


def test_a_payload_outside_the_qr_alphabet_is_refused_naming_the_card() -> None:
    card = PrintableCard("Pensión", "Ana", "000000000025", date(2029, 5, 1), "lowercase")

    with pytest.raises(ValidationError) as raised:
        render_card_sheets([card], io.BytesIO())

    assert raised.value.field == "qr_payload"
    assert raised.value.fields["card_id"] == "000000000025"
    assert raised.value.fields["position"] == 0


def test_a_file_appears_only_when_every_card_was_written(tmp_path: Path) -> None:
    cards = make_cards(12)
    broken = [*cards, PrintableCard("Pensión", "Ana", "000000000033", date(2029, 5, 1), "bad payload")]

    with pytest.raises(ValidationError):
        render_card_sheets(broken, tmp_path / "broken.pdf")
    written = render_card_sheets(cards, tmp_path / "cards.pdf")

    assert sorted(path.name for path in tmp_path.iterdir()) == ["cards.pdf"]
    assert (tmp_path / "cards.pdf").stat().st_mode & 0o777 == 0o600  # it holds personal data
    assert written == 12
    with pdfium.PdfDocument(tmp_path / "cards.pdf") as document:
        assert len(document) == 2


def test_a_missing_font_file_is_named_rather_than_printed_as_boxes(tmp_path: Path) -> None:
    missing = tmp_path / "NoSuchFont.ttf"
    fonts = CardFonts(regular=missing, bold=default_card_fonts().bold)

    with pytest.raises(CardFontNotFoundError, match=r"NoSuchFont\.ttf"):
        render_card_sheets(make_cards(1), io.BytesIO(), fonts=fonts)


class CountingSink(io.RawIOBase):
    """Discards what is written, remembering how many cards had been read at each write."""

    def __init__(self, read_so_far: list[int]) -> None:
        self.read_so_far = read_so_far
        self.cards_read_at_writes: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        self.cards_read_at_writes.append(self.read_so_far[0])
        return len(memoryview(data))  # type: ignore[arg-type]  # io hands us a bytes-like object


def cheap_cards(count: int, read_so_far: list[int]) -> Iterator[PrintableCard]:
    for index in range(count):
        read_so_far[0] += 1
        # Short payloads keep this test fast; the writer's memory does not depend on the symbol size.
        yield PrintableCard("Canasta", HOLDERS[index % len(HOLDERS)], f"{index:012d}", date(2030, 1, 1), f"C{index}")


def peak_memory_rendering(count: int) -> tuple[int, list[int]]:
    read_so_far = [0]
    sink = CountingSink(read_so_far)
    tracemalloc.start()
    try:
        render_card_sheets(cheap_cards(count, read_so_far), sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sink.cards_read_at_writes


def test_sheets_are_written_as_cards_arrive_in_memory_that_does_not_grow_with_the_count() -> None:
    render_card_sheets(make_cards(1), io.BytesIO())  # load the fonts before measuring

    small_peak, _ = peak_memory_rendering(100)
    large_peak, cards_read_at_writes = peak_memory_rendering(1000)

    # The first sheet's content and page objects are written before the eleventh card is read.
    assert cards_read_at_writes[1:3] == [10, 10]
    # 900 more cards make about 190 kB more PDF; what may stay is 16 bytes per sheet of offsets, and noise.
    assert large_peak - small_peak < 32 * 1024
