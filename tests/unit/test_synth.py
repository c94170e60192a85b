"""The synthetic population: reproducible, valid for the import, plausible, and honest about its duplicates."""

from __future__ import annotations

import csv
import os
import random
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canasta.adapters.synth import (
    AREA_COLUMNS,
    COLUMNS,
    DUPLICATE_COLUMNS,
    REFERENCE_DATE,
    gazetteer,
    write_population,
)
from canasta.adapters.synth.duplicates import CORRUPTION_KINDS, PLACEMENTS, drop_accents, typo
from canasta.adapters.synth.gazetteer import parishes
from canasta.adapters.synth.identifiers import NationalNumbers
from canasta.adapters.synth.names import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES
from canasta.domain.privacy import find_prohibited_category
from canasta.entrypoints.cli.synth import app

IMPORT_DOC = Path(__file__).resolve().parents[2] / "docs" / "import.md"
HOUSEHOLDS = 3000
SEED = 20261101
DUPLICATE_RATE = 0.05

Row = dict[str, str]


@dataclass(frozen=True)
class Written:
    rows: list[Row]
    areas: list[Row]
    truth: list[Row]
    header: list[str]


def read(path: Path) -> tuple[list[str], list[Row]]:
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        return list(reader.fieldnames or []), list(reader)


def generate(directory: Path, *, seed: int = SEED, duplicates: float = 0.0) -> Written:
    summary = write_population(directory / "people.csv", HOUSEHOLDS, seed, duplicates=duplicates)
    header, rows = read(summary.path)
    truth = read(summary.duplicates_path)[1] if summary.duplicates_path else []
    return Written(rows, read(summary.areas_path)[1], truth, header)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return generate(tmp_path_factory.mktemp("population"))


@pytest.fixture(scope="module")
def duplicated(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return generate(tmp_path_factory.mktemp("duplicated"), duplicates=DUPLICATE_RATE)


def households(rows: list[Row]) -> list[list[Row]]:
    grouped: list[list[Row]] = []
    for row in rows:
        if not grouped or grouped[-1][0]["household_ref"] != row["household_ref"]:
            grouped.append([])
        grouped[-1].append(row)
    return grouped


def age(row: Row) -> int:
    born = date.fromisoformat(row["birth_date"])
    return REFERENCE_DATE.year - born.year - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day))


def one_edit(a: str, b: str) -> bool:
    """Optimal string alignment distance between a and b is exactly 1."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)] == 1


# --- what docs/import.md says, checked independently of the generator -------------------------------------------

REFERENCE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
CHOICES = {
    "currency": {"VES"},
    "dwelling_type": {"", "house", "apartment", "room", "informal", "collective", "other"},
    "tenure": {"", "owned", "rented", "borrowed", "occupied", "other"},
    "sex": {"0", "1", "2", "9"},
    "relationship": {"head", "spouse", "child", "grandchild", "parent", "sibling", "other_relative", "non_relative"},
    "schooling": {"", "none", "preschool", "primary", "secondary", "technical", "tertiary"},
    "employment": {"", "employed", "self_employed", "unemployed", "inactive", "student", "retired", "domestic_work"},
    **{column: {"", "1", "2", "3", "4"} for column in COLUMNS if column.startswith("wg_")},
}
ASSETS = {"refrigerator", "washing_machine", "television", "computer", "mobile_phone", "motorcycle", "car",
          "livestock", "water_tank", "generator"}  # fmt: skip


def person_problems(row: Row) -> list[str]:
    problems = [column for column, allowed in CHOICES.items() if column != "currency" and row[column] not in allowed]
    if not REFERENCE.fullmatch(row["person_ref"]) or not REFERENCE.fullmatch(row["household_ref"]):
        problems.append("ref")
    for column in ("given_name", "family_name"):
        if not 1 <= len(row[column]) <= 100 or row[column] != row[column].strip():
            problems.append(column)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["birth_date"]) or not (
        date(1900, 1, 1) <= date.fromisoformat(row["birth_date"]) <= REFERENCE_DATE
    ):
        problems.append("birth_date")
    if row["national_id"] and not re.fullmatch(r"[A-Z0-9-]{4,32}", row["national_id"]):
        problems.append("national_id")
    if row["phone"] and not re.fullmatch(r"\+?\d{7,15}", row["phone"]):
        problems.append("phone")
    if len(row["health_needs"]) > 500:
        problems.append("health_needs")
    return problems


def household_problems(row: Row, parish_codes: set[str]) -> list[str]:
    problems = [column for column in ("currency", "dwelling_type", "tenure") if row[column] not in CHOICES[column]]
    if row["area_code"] not in parish_codes:
        problems.append("area_code")
    if len(row["address"]) > 200:
        problems.append("address")
    if not row["monthly_income"].isdigit():
        problems.append("monthly_income")
    if row["assets"] and not set(row["assets"].split(";")) <= ASSETS:
        problems.append("assets")
    if row["land_m2"] and not row["land_m2"].isdigit():
        problems.append("land_m2")
    return problems


def parish_codes() -> set[str]:
    return {area.code for area in gazetteer() if area.level == "parish"}


# --- reproducibility and format ----------------------------------------------------------------------------------


def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    def files(directory: str, seed: int) -> list[bytes]:
        (tmp_path / directory).mkdir()
        summary = write_population(tmp_path / directory / "p.csv", 200, seed, duplicates=0.1)
        assert summary.duplicates_path is not None
        return [summary.path.read_bytes(), summary.areas_path.read_bytes(), summary.duplicates_path.read_bytes()]

    first, again, other = files("first", 7), files("again", 7), files("other", 8)
    assert first == again
    assert first[0] != other[0]
    assert first[1] == other[1], "the gazetteer does not depend on the seed"


def test_files_do_not_depend_on_the_process_string_hash_seed(tmp_path: Path) -> None:
    """Iterating a set of strings would change the output from one process to the next."""
    script = (
        "import sys; from pathlib import Path; from canasta.adapters.synth import write_population; "
        "write_population(Path(sys.argv[1]), 150, 5, duplicates=0.1)"
    )
    contents = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash{hash_seed}.csv"
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(out)], env=environment, check=True, timeout=60)
        contents.append([out.read_bytes(), (tmp_path / f"hash{hash_seed}.duplicates.csv").read_bytes()])
    assert contents[0] == contents[1]


def test_genuine_people_are_the_same_with_or_without_duplicates(population: Written, duplicated: Written) -> None:
    copies = {row["duplicate_person_ref"] for row in duplicated.truth}
    genuine = [row for row in duplicated.rows if row["person_ref"] not in copies]
    assert len(genuine) == len(population.rows)
    skip = {"household_ref", "person_ref"}
    for with_copies, without in zip(genuine, population.rows, strict=True):
        assert {k: v for k, v in with_copies.items() if k not in skip} == {
            k: v for k, v in without.items() if k not in skip
        }


def test_header_has_every_column_of_the_import_format_and_no_other(population: Written) -> None:
    documented = []
    for line in IMPORT_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `") and "custom." not in line:
            documented.extend(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    assert population.header == documented == list(COLUMNS)


def test_no_file_has_a_column_naming_a_prohibited_category(population: Written, duplicated: Written) -> None:
    for name in [*population.header, *AREA_COLUMNS, *DUPLICATE_COLUMNS, *duplicated.truth[0].keys()]:
        assert find_prohibited_category(name) is None, name


@pytest.mark.parametrize("fixture", ["population", "duplicated"])
def test_every_row_is_valid_for_the_import(fixture: str, request: pytest.FixtureRequest) -> None:
    written: Written = request.getfixturevalue(fixture)
    codes = parish_codes()
    assert len({row["person_ref"] for row in written.rows}) == len(written.rows)
    national_ids = [row["national_id"] for row in written.rows if row["national_id"]]
    assert len(set(national_ids)) == len(national_ids), "the registry refuses a national id it already holds"
    seen: set[str] = set()
    for members in households(written.rows):
        reference = members[0]["household_ref"]
        assert reference not in seen, "households are contiguous"
        seen.add(reference)
        assert household_problems(members[0], codes) == [], members[0]
        assert [row["relationship"] for row in members].count("head") == 1
        assert members[0]["relationship"] == "head"
        for row in members:
            assert person_problems(row) == [], row
        identities = {(drop_accents(f"{row['given_name']} {row['family_name']}").lower(), row["birth_date"])
                      for row in members}  # fmt: skip
        assert len(identities) == len(members), "nobody twice in one household, even ignoring case and accents"
        for row in members[1:]:
            assert all(row[column] == "" for column in COLUMNS[1:9]), "household columns only on the first row"


# --- plausibility --------------------------------------------------------------------------------------------------


def test_ages_fit_each_relationship_to_the_head(population: Written) -> None:
    for members in households(population.rows):
        head = age(members[0])
        assert head >= 18
        spouses = [age(row) for row in members if row["relationship"] == "spouse"]
        assert len(spouses) <= 1
        assert [row["relationship"] for row in members].count("parent") <= 2
        for row in members[1:]:
            years, relationship = age(row), row["relationship"]
            if relationship == "child":
                assert years <= min([head, *spouses]) - 15
            elif relationship == "grandchild":
                assert years <= head - 36
            elif relationship == "parent":
                assert years >= head + 16
            elif relationship == "spouse":
                assert years >= 16
            assert 0 <= years <= 100


def test_children_inherit_the_family_names_of_their_parents(population: Written) -> None:
    checked = 0
    for members in households(population.rows):
        head, spouses = members[0], [row for row in members if row["relationship"] == "spouse"]
        if not spouses:
            continue
        father, mother = (head, spouses[0]) if head["sex"] == "1" else (spouses[0], head)
        for child in (row for row in members if row["relationship"] == "child"):
            names = child["family_name"].split(" ")
            assert names[0] == father["family_name"].split(" ")[0]
            assert names[1:] in ([], [mother["family_name"].split(" ")[0]])
            checked += 1
    assert checked > 500


def test_names_are_spanish_with_accents_and_mostly_two_family_names(population: Written) -> None:
    given = {row["given_name"] for row in population.rows}
    family = {name for row in population.rows for name in row["family_name"].split(" ")}
    assert {"José", "María", "Ángel", "Inés"} <= given
    assert {"Pérez", "Núñez", "Peña", "Ñáñez"} <= family
    accented = sum(drop_accents(row["given_name"] + row["family_name"]) != row["given_name"] + row["family_name"]
                   for row in population.rows)  # fmt: skip
    assert accented / len(population.rows) > 0.3
    two_names = sum(" " in row["family_name"] for row in population.rows)
    assert 0.93 < two_names / len(population.rows) < 0.99


def test_schooling_and_employment_are_consistent_with_age(population: Written) -> None:
    youngest = {"preschool": 3, "primary": 6, "secondary": 12, "technical": 18, "tertiary": 18, "retired": 55,
                "student": 6, "employed": 15, "self_employed": 15, "unemployed": 15, "domestic_work": 15}  # fmt: skip
    for row in population.rows:
        years = age(row)
        assert (row["schooling"] == "") == (years < 3)
        assert (row["employment"] == "") == (years < 6)
        for value in (row["schooling"], row["employment"]):
            assert years >= youngest.get(value, 0), row
        if row["schooling"] == "preschool":
            assert years <= 5


def test_disability_is_rare_rises_with_age_and_skips_questions_for_small_children(population: Written) -> None:
    domains = [column for column in COLUMNS if column.startswith("wg_")]
    severe: dict[bool, list[bool]] = defaultdict(list)
    for row in population.rows:
        years, answers = age(row), [row[column] for column in domains]
        if years < 2:
            assert answers == [""] * 6
            continue
        if years < 5:
            assert row["wg_cognition"] == row["wg_self_care"] == ""
            assert "" not in (row["wg_seeing"], row["wg_hearing"], row["wg_walking"], row["wg_communication"])
        else:
            assert "" not in answers
        severe[years >= 65].append("3" in answers or "4" in answers)
    everyone = severe[False] + severe[True]
    assert 0.01 < sum(everyone) / len(everyone) < 0.10
    assert statistics.mean(severe[True]) > 3 * statistics.mean(severe[False])


def test_household_sizes_have_a_plausible_mean_and_differ_between_town_and_country(population: Written) -> None:
    urban = {parish.code: parish.is_urban for parish in parishes()}
    sizes: dict[bool, list[int]] = defaultdict(list)
    for members in households(population.rows):
        sizes[urban[members[0]["area_code"]]].append(len(members))
    everyone = sizes[True] + sizes[False]
    assert 2.9 < statistics.mean(everyone) < 3.7
    assert min(everyone) == 1
    assert max(everyone) <= 12
    assert statistics.mean(sizes[False]) > statistics.mean(sizes[True]) + 0.3


def test_incomes_are_skewed_with_some_zero_and_higher_in_towns(population: Written) -> None:
    urban = {parish.code: parish.is_urban for parish in parishes()}
    heads = [members[0] for members in households(population.rows)]
    incomes = [int(row["monthly_income"]) for row in heads]
    assert statistics.mean(incomes) > 1.3 * statistics.median(incomes)
    earning = sorted(income for income in incomes if income > 0)
    assert earning[len(earning) * 9 // 10] > 2.5 * statistics.median(earning), "a long right tail (log-normal)"
    assert 0.01 < incomes.count(0) / len(incomes) < 0.10
    assert all(income % 100 == 0 for income in incomes), "whole bolívares"
    town = [int(row["monthly_income"]) for row in heads if urban[row["area_code"]]]
    country = [int(row["monthly_income"]) for row in heads if not urban[row["area_code"]]]
    assert statistics.median(town) > 1.3 * statistics.median(country)


def test_adults_have_unique_identifiers_and_children_none(population: Written) -> None:
    adults = [row for row in population.rows if age(row) >= 18]
    ids = [row["national_id"] for row in adults if row["national_id"]]
    phones = [row["phone"] for row in adults if row["phone"]]
    assert len(set(ids)) == len(ids)
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"[VE]-\d{7,8}", value) for value in ids)
    assert all(re.fullmatch(r"\+58(412|414|416|424|426)\d{7}", value) for value in phones)
    assert len(ids) / len(adults) > 0.9
    assert 0.5 < len(phones) / len(adults) < 0.7
    assert not any(row["national_id"] or row["phone"] for row in population.rows if age(row) < 18)
    health = sum(bool(row["health_needs"]) for row in population.rows) / len(population.rows)
    assert 0.02 < health < 0.10


def test_gazetteer_is_a_tree_of_states_municipalities_and_parishes(population: Written) -> None:
    areas = gazetteer()
    by_code = {area.code: area for area in areas}
    assert len(by_code) == len(areas)
    assert 8 <= sum(area.level == "state" for area in areas) <= 12
    parent_level = {"state": None, "municipality": "state", "parish": "municipality"}
    children: dict[str, int] = defaultdict(int)
    for area in areas:
        assert re.fullmatch(r"VE-\d{2}(-\d{2}){0,2}", area.code)
        expected = parent_level[area.level]
        if expected is None:
            assert area.parent_code == ""
        else:
            assert by_code[area.parent_code].level == expected
            assert area.code.startswith(area.parent_code + "-")
            children[area.parent_code] += 1
    assert all(children[area.code] >= 2 for area in areas if area.level != "parish")
    assert population.areas == [dict(zip(AREA_COLUMNS, (a.code, a.name, a.level, a.parent_code), strict=True))
                                for a in areas]  # fmt: skip
    assert {members[0]["area_code"] for members in households(population.rows)} <= parish_codes()


# --- duplicates ----------------------------------------------------------------------------------------------------

PERSON_FIELDS = [column for column in COLUMNS[10:] if column != "relationship"]
KIND_FIELDS = {
    "given_name_typo": {"given_name"}, "family_name_typo": {"family_name"},
    "accents_dropped": {"given_name", "family_name"}, "second_family_name_dropped": {"family_name"},
    "birth_day_month_swapped": {"birth_date"}, "birth_year_typo": {"birth_date"},
    "national_id_missing": {"national_id"}, "national_id_typo": {"national_id"}, "phone_missing": {"phone"},
}  # fmt: skip


def corruption_is_real(kind: str, copy: Row, original: Row) -> bool:
    field = next(iter(KIND_FIELDS[kind]))
    before, after = original[field], copy[field]
    if kind.endswith("_typo") and kind != "birth_year_typo":
        return one_edit(before, after) and (kind != "national_id_typo" or after[:2] == before[:2])
    if kind == "accents_dropped":
        names = (original["given_name"], original["family_name"])
        return (copy["given_name"], copy["family_name"]) == tuple(map(drop_accents, names)) != names
    if kind == "second_family_name_dropped":
        return " " in before and after == before.split(" ")[0]
    if kind == "birth_day_month_swapped":
        year, month, day = before.split("-")
        return day != month and after == f"{year}-{day}-{month}"
    if kind == "birth_year_typo":
        return after[4:] == before[4:] and abs(int(after[:4]) - int(before[:4])) == 1
    return before != "" and after == ""


def test_ground_truth_matches_the_rows_and_every_corruption_is_real(duplicated: Written) -> None:
    rows = {row["person_ref"]: row for row in duplicated.rows}
    sizes = {members[0]["household_ref"]: len(members) for members in households(duplicated.rows)}
    areas = {members[0]["household_ref"]: members[0]["area_code"] for members in households(duplicated.rows)}
    copies = {row["duplicate_person_ref"] for row in duplicated.truth}
    genuine = len(duplicated.rows) - len(copies)
    assert len(copies) == len(duplicated.truth)
    assert DUPLICATE_RATE * 0.8 < len(copies) / genuine < DUPLICATE_RATE * 1.2
    seen_kinds: set[str] = set()
    numbers = NationalNumbers(SEED)
    for line in duplicated.truth:
        copy, original = rows[line["duplicate_person_ref"]], rows[line["original_person_ref"]]
        assert original["person_ref"] not in copies, "originals are genuine people"
        placement, *kinds = line["kinds"].split(";")
        assert placement in PLACEMENTS
        assert kinds == sorted(kinds, key=CORRUPTION_KINDS.index)
        if placement == "same_household":
            assert copy["household_ref"] == original["household_ref"]
            assert copy["relationship"] == original["relationship"] != "head"
        elif placement == "other_household":
            assert copy["household_ref"] != original["household_ref"]
            assert copy["relationship"] in {"other_relative", "non_relative"}
        else:
            assert sizes[copy["household_ref"]] == 1
            assert copy["relationship"] == "head"
            assert age(original) >= 18
            assert areas[copy["household_ref"]] == areas[original["household_ref"]]
        if original["national_id"]:
            assert {"national_id_missing", "national_id_typo"} & set(kinds)
        if placement == "same_household":
            assert {"given_name_typo", "family_name_typo", "second_family_name_dropped", "birth_day_month_swapped",
                    "birth_year_typo"} & set(kinds)  # fmt: skip
        changed = set().union(*(KIND_FIELDS[kind] for kind in kinds))
        for field in PERSON_FIELDS:
            if field not in changed:
                assert copy[field] == original[field], (field, line)
        for kind in kinds:
            assert corruption_is_real(kind, copy, original), (kind, copy, original)
        if "national_id_typo" in kinds:
            assert numbers.is_never_issued(int(copy["national_id"][2:])), "a typo never lands on a real number"
        seen_kinds.update(line["kinds"].split(";"))
    assert seen_kinds == set(PLACEMENTS) | set(CORRUPTION_KINDS)


@pytest.mark.parametrize("text", ["María José", "Ñáñez", "Pérez Núñez", "Gil", "Ana", "Llull", "Aarón"])
def test_a_typo_is_always_exactly_one_edit_away_even_ignoring_accents(text: str) -> None:
    rng = random.Random(text)
    for _ in range(300):
        changed = typo(text, rng)
        assert one_edit(text, changed), changed
        assert drop_accents(changed).lower() != drop_accents(text).lower()
        assert all(len(word) >= 2 for word in changed.split(" "))


@pytest.mark.parametrize("seed", range(8))
def test_mistyped_national_numbers_can_never_belong_to_a_genuine_person(seed: int) -> None:
    numbers = NationalNumbers(seed)
    issued = [numbers.issue() for _ in range(5_000)]
    assert len(set(issued)) == len(issued)
    assert all(1_000_000 <= number < 91_000_000 for number in issued)
    assert not any(numbers.is_never_issued(number) for number in issued)
    assert NationalNumbers(seed + 1).issue() != NationalNumbers(seed).issue()
    assert numbers.is_never_issued(999_999)
    assert numbers.is_never_issued(91_000_000)
    free = sum(numbers.is_never_issued(number) for number in range(10_000_000, 10_010_000))
    assert 0.4 < free / 10_000 < 0.6, "half the range is kept for mistyped numbers"


def test_name_tables_hold_no_two_names_differing_only_by_accents() -> None:
    for table in (MALE_NAMES, FEMALE_NAMES, FAMILY_NAMES):
        assert len({drop_accents(name).lower() for name in table.values}) == len(table.values)


def test_dropping_accents_keeps_the_letters() -> None:
    assert drop_accents("Ñáñez Peña, Ángel Inés") == "Nanez Pena, Angel Ines"


# --- the writer and the command ------------------------------------------------------------------------------------


def test_write_population_refuses_bad_arguments_and_writes_a_header_for_no_households(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="households"):
        write_population(tmp_path / "p.csv", -1, 1)
    with pytest.raises(ValueError, match="duplicate rate"):
        write_population(tmp_path / "p.csv", 10, 1, duplicates=1.0)
    calls: list[int] = []
    summary = write_population(tmp_path / "p.csv", 0, 1, progress=calls.append)
    assert (summary.households, summary.persons, calls) == (0, 0, [0])
    assert read(summary.path) == (list(COLUMNS), [])
    assert summary.duplicates_path is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["p.areas.csv", "p.csv"]


def test_command_writes_the_population_and_says_what_it_wrote(tmp_path: Path) -> None:
    out, areas = tmp_path / "people.csv", tmp_path / "elsewhere.csv"
    arguments = ["--households", "50", "--seed", "3", "--duplicates", "0.1", "--out", str(out), "--areas-out"]
    result = CliRunner().invoke(app, [*arguments, str(areas)])
    assert result.exit_code == 0, result.output
    rows = read(out)[1]
    truth = read(tmp_path / "people.duplicates.csv")[1]
    households_written = len({row["household_ref"] for row in rows})
    assert f"wrote {households_written} households, {len(rows)} persons ({len(truth)} duplicates)" in result.output
    assert len(read(areas)[1]) == len(gazetteer())
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("arguments", [["--duplicates", "-0.1"], ["--households", "-5"], ["--seed", "x"]])
def test_command_refuses_bad_options(tmp_path: Path, arguments: list[str]) -> None:
    base = {"--households": "5", "--seed": "1", "--out": str(tmp_path / "p.csv")}
    base.update(zip(arguments[::2], arguments[1::2], strict=True))
    result = CliRunner().invoke(app, [item for pair in base.items() for item in pair])
    assert result.exit_code == 2
    assert not (tmp_path / "p.csv").exists()


def test_command_reports_a_file_it_cannot_write(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--households", "5", "--seed", "1", "--out", str(tmp_path / "no" / "p.csv")])
    assert result.exit_code == 1
    assert "cannot write" in result.output
