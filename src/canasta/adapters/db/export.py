"""Exporting one area's registry as CSV in the import format (so an export can be re-imported elsewhere)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Engine, or_, select

from canasta.adapters.crypto.fields import FieldSealer
from canasta.adapters.db.tables import households, identifiers, people
from canasta.domain.household_rows import HOUSEHOLD_COLUMNS, PERSON_COLUMNS
from canasta.domain.registry import WASHINGTON_GROUP_DOMAINS, asset_names

__all__ = ["export_area"]

SENSITIVE = ("national_id", "phone", "health_needs")


def export_area(engine: Engine, sealer: FieldSealer, *, area_prefix: str, out: Path, include_sensitive: bool) -> int:
    """Write the active people of one area (code or code prefix) to ``out``; returns how many.

    Streams: rows are fetched and written in chunks, so memory stays flat. Sealed fields are opened only with
    ``include_sensitive``; otherwise their columns are left empty.
    """
    query = (
        select(people, households.c.reference.label("household_ref"), households.c.area_code, households.c.address,
               households.c.monthly_income, households.c.currency, households.c.dwelling_type, households.c.tenure,
               households.c.assets, households.c.land_m2, households.c.data_key,
               identifiers.c.id.label("identifier_id"), identifiers.c.value_sealed)
        .join(households, households.c.id == people.c.household_id)
        .outerjoin(identifiers, (identifiers.c.person_id == people.c.id) & (identifiers.c.kind == "national_id"))
        .where(or_(households.c.area_code == area_prefix, households.c.area_code.like(area_prefix + "-%")))
        .where(people.c.status == "active")
        .order_by(households.c.reference, people.c.created_at, people.c.id)
    )  # fmt: skip
    count = 0
    with engine.connect() as connection, out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((*HOUSEHOLD_COLUMNS, *PERSON_COLUMNS))
        result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result.mappings():
            sensitive = dict.fromkeys(SENSITIVE, "")
            if include_sensitive:
                cipher = sealer.household_cipher(row["household_id"], bytes(row["data_key"]))
                if row["value_sealed"] is not None:
                    sensitive["national_id"] = cipher.open(row["identifier_id"], "value", bytes(row["value_sealed"]))
                for name in ("phone", "health_needs"):
                    if row[f"{name}_sealed"] is not None:
                        sensitive[name] = cipher.open(row["id"], name, bytes(row[f"{name}_sealed"]))
            writer.writerow(
                (
                    row["household_ref"], row["area_code"], row["address"] or "", row["monthly_income"],
                    row["currency"], row["dwelling_type"] or "", row["tenure"] or "",
                    ";".join(asset_names(row["assets"])), "" if row["land_m2"] is None else row["land_m2"],
                    row["reference"], row["given_name"], row["family_name"], row["birth_date"].isoformat(),
                    row["sex"], row["relationship"],
                    *("" if row[domain] is None else row[domain] for domain in WASHINGTON_GROUP_DOMAINS),
                    row["schooling"] or "", row["employment"] or "",
                    sensitive["national_id"], sensitive["phone"], sensitive["health_needs"],
                )
            )  # fmt: skip
            count += 1
    return count
