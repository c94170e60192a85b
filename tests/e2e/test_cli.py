"""The CLI as a user runs it: a real process, its exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.factories import AREAS, person_row, write_csv

CANASTA = [sys.executable, "-m", "canasta.entrypoints.cli"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CANASTA_DATABASE_URL": f"sqlite:///{cwd / 'canasta.db'}",
           "CANASTA_KEY_FILE": str(cwd / "keys.json")}  # fmt: skip
    return subprocess.run([*CANASTA, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_help_answers_quickly() -> None:
    started = time.perf_counter()
    result = subprocess.run([*CANASTA, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "import" in result.stdout
    assert time.perf_counter() - started < 3.0  # generous bound for a loaded machine; typically ~0.4 s


def test_init_import_report_and_exit_codes(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    areas = tmp_path / "areas.csv"
    areas.write_text("code,name,level,parent_code\n" + "".join(",".join(a) + "\n" for a in AREAS), encoding="utf-8")
    assert run("import", "areas", str(areas), cwd=tmp_path).returncode == 0

    good = write_csv(tmp_path / "good.csv", [person_row("H1", "P1"), person_row("H2", "P2", monthly_income="-3")])
    result = run("import", "households", str(good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 people imported" in result.stderr
    assert (tmp_path / "good.csv.rejected.csv").read_text(encoding="utf-8").splitlines()[1] == (
        "3,monthly_income,negative,must be a whole number >= 0"
    )

    bad = write_csv(tmp_path / "bad.csv", [person_row("H3", "P3", birth_date="yesterday")])
    result = run("import", "households", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "0 people imported" in result.stderr

    prohibited = tmp_path / "prohibited.csv"
    prohibited.write_text("household_ref,person_ref,voto\nH1,P1,si\n", encoding="utf-8")
    result = run("import", "households", str(prohibited), cwd=tmp_path)
    assert result.returncode == 2
    assert "prohibited category (voting or electoral participation)" in result.stderr
    assert "Traceback" not in result.stderr

    missing = run("import", "households", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_the_key_file_is_never_overwritten(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    before = (tmp_path / "keys.json").read_bytes()
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "keys.json").read_bytes() == before


def test_cards_from_keys_to_printed_sheet_to_offline_check(tmp_path: Path) -> None:
    import pypdfium2
    import zxingcpp

    assert run("init", cwd=tmp_path).returncode == 0
    areas = tmp_path / "areas.csv"
    areas.write_text("code,name,level,parent_code\n" + "".join(",".join(a) + "\n" for a in AREAS), encoding="utf-8")
    assert run("import", "areas", str(areas), cwd=tmp_path).returncode == 0
    people = write_csv(tmp_path / "people.csv", [person_row("H1", "P1"), person_row("H2", "P2", given_name="Łukasz")])
    assert run("import", "households", str(people), cwd=tmp_path).returncode == 0
    for purpose in ("card", "list"):
        assert run("keys", "create", "--purpose", purpose, cwd=tmp_path).returncode == 0
    issued = run("cards", "issue", "--area", "VE-01", "--label", "Canasta Básica", "--json", cwd=tmp_path)
    assert issued.stdout.strip() == '{"issued": 2}', issued.stderr
    assert run("cards", "print", "--area", "VE-01", "--out", "cards.pdf", cwd=tmp_path).returncode == 0
    exported = run("keys", "export-trust-list", "--out", "trust.cbor", cwd=tmp_path)
    list_key = exported.stderr.split("(devices pin it):")[1].split()[0]
    page = pypdfium2.PdfDocument(tmp_path / "cards.pdf")[0].render(scale=300 / 72).to_pil()
    texts = sorted(result.text for result in zxingcpp.read_barcodes(page))
    assert len(texts) == 2
    checked = run("cards", "verify", texts[0], "--trust-list", "trust.cbor", "--list-key", list_key, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    refused = run("cards", "verify", "NOT-A-CARD", "--trust-list", "trust.cbor", "--list-key", list_key, cwd=tmp_path)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
