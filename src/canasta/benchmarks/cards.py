"""``canasta bench cards``: cards per second rendered into print-ready PDF sheets, against the bare QR encoder.

The full path is what a print run does per card: encode the credential as a QR symbol (alphanumeric mode,
level Q), lay out the card's text in the embedded font, draw the symbol, and write each A4 sheet of ten to a
PDF file on disk as soon as it is complete. One process, one core.

The baseline, measured in the same run over the same payloads, is zxing-cpp's QR encoder alone: no card can be
printed faster than its QR code is made, so ``ratio = rate / baseline_rate`` is the share of the time the
encoder takes, and 1.0 would mean the PDF is free. (A text-only layout would flatter the ratio without saying
anything about the real cost, which is the QR code.) Rounds interleave the two measurements so a noisy machine
slows both alike; each rate is the median over rounds, by wall clock, and again by CPU time (``cpu_...``),
which a shared machine disturbs less.

Payloads are Base45 text over 120-200 random bytes (160-300 characters), like signed credentials. Names carry
accents and letters from Latin Extended, as in production. ``compare_generators`` also times segno, the pure
Python encoder, on a sample, for the record kept in ``docs/printing.md``.
"""

from __future__ import annotations

import random
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import base45
import segno
import zxingcpp

from canasta.adapters.pdf import CARDS_PER_SHEET, PrintableCard, render_card_sheets
from canasta.adapters.qr import ERROR_CORRECTION

if TYPE_CHECKING:
    from canasta.config import Settings

__all__ = ["run"]

_GIVEN = ("José", "María José", "Łukasz", "Ștefan", "Đorđe", "Øyvind", "Ğül", "Ana Lucía", "Zoë", "Nuño")
_FAMILY = ("Peña", "Ñuñez Ibáñez", "Wiśniewski", "Țurcanu", "Đukić", "Ødegård", "Şahin", "Dvořák", "da Silva")
_PROGRAMME = "Canasta Básica — Programa Nacional de Alimentación"
_PAYLOAD_POOL = 1000  # distinct payloads, reused in turn: zxing-cpp caches nothing between calls
_SEED = 20261129


def _payloads(count: int) -> list[str]:
    chooser = random.Random(_SEED)
    return [base45.b45encode(chooser.randbytes(chooser.randint(120, 200))).decode() for _ in range(count)]


def _cards(size: int, payloads: list[str]) -> Iterator[PrintableCard]:
    chooser = random.Random(_SEED)
    for index in range(size):
        yield PrintableCard(
            programme_name=_PROGRAMME,
            holder_name=f"{chooser.choice(_GIVEN)} {chooser.choice(_FAMILY)}",
            card_id=f"{chooser.randrange(10**11):011d}{chooser.randrange(10)}",
            expires_on=date(2029, 1 + index % 12, 28),
            qr_payload=payloads[index % len(payloads)],
        )


class _Timing:
    """Wall-clock and CPU seconds of one measurement, taken together."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> _Timing:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu


def _render(size: int, payloads: list[str], folder: Path) -> tuple[_Timing, int]:
    path = folder / "cards.pdf"
    with _Timing() as timing:
        written = render_card_sheets(_cards(size, payloads), path)
    if written != size:
        raise RuntimeError(f"wrote {written} cards, not {size}")
    return timing, path.stat().st_size


def _encode_only(size: int, payloads: list[str]) -> _Timing:
    qr_code, pool = zxingcpp.BarcodeFormat.QRCode, len(payloads)
    with _Timing() as timing:
        for index in range(size):
            zxingcpp.create_barcode(payloads[index % pool], qr_code, ec_level=ERROR_CORRECTION)
    return timing


def _segno_seconds_per_code(payloads: list[str]) -> float:
    started = time.perf_counter()
    for payload in payloads:
        segno.make_qr(payload, error=ERROR_CORRECTION.lower(), mode="alphanumeric", boost_error=False)
    return (time.perf_counter() - started) / len(payloads)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(settings: Settings, size: int, **options: Any) -> dict[str, Any]:
    """Render ``size`` cards into one PDF file ``rounds`` times (default 3) and compare with the bare encoder.

    Options: ``rounds`` (int, default 3); ``compare_generators`` (bool, default True) also times segno on up
    to 100 payloads. ``settings`` is unused: this benchmark touches no database.
    """
    _ = settings
    rounds = max(1, int(options.get("rounds", 3)))
    payloads = _payloads(min(size, _PAYLOAD_POOL))
    rss_before = _peak_rss_mb()
    full: list[_Timing] = []
    baseline: list[_Timing] = []
    pdf_bytes = 0
    with tempfile.TemporaryDirectory(prefix="canasta-bench-cards-") as folder:
        for round_number in range(rounds):
            # Alternate which goes first, so neither always runs on a cold or a warm machine.
            if round_number % 2:
                baseline.append(_encode_only(size, payloads))
                timing, pdf_bytes = _render(size, payloads, Path(folder))
            else:
                timing, pdf_bytes = _render(size, payloads, Path(folder))
                baseline.append(_encode_only(size, payloads))
            full.append(timing)
    rates = [size / timing.wall for timing in full]
    baseline_rates = [size / timing.wall for timing in baseline]
    rate, baseline_rate = statistics.median(rates), statistics.median(baseline_rates)
    # CPU time says what one dedicated core would do; on a shared machine it moves less than wall time.
    cpu_rate = statistics.median(size / timing.cpu for timing in full)
    cpu_baseline_rate = statistics.median(size / timing.cpu for timing in baseline)
    result: dict[str, Any] = {
        "name": "cards",
        "size": size,
        "seconds": round(statistics.median(timing.wall for timing in full), 3),
        "rate": round(rate, 1),
        "baseline": f"zxing-cpp {version('zxing-cpp')} create_barcode alone, level {ERROR_CORRECTION}",
        "baseline_rate": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "rounds": rounds,
        "rates": [round(value, 1) for value in rates],
        "baseline_rates": [round(value, 1) for value in baseline_rates],
        "cpu_rate": round(cpu_rate, 1),
        "cpu_baseline_rate": round(cpu_baseline_rate, 1),
        "cpu_ratio": round(cpu_rate / cpu_baseline_rate, 3),
        "sheets": -(-size // CARDS_PER_SHEET),
        "pdf_bytes_per_card": round(pdf_bytes / size),
        "processes": 1,
        "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_before_rendering_mb": rss_before,
    }
    if options.get("compare_generators", True):
        sample = payloads[:100]
        result["qr_ms_per_code"] = {
            "zxing-cpp": round(_encode_only(len(sample), sample).wall / len(sample) * 1000, 3),
            "segno": round(_segno_seconds_per_code(sample) * 1000, 3),
        }
    return result
