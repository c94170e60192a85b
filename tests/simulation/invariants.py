"""What must hold after every step of a simulation, and at its end.

After every step:

1. the ledger holds (every balance is the fold of its journal, every asset sums to zero, nothing that may not go
   negative has: no entitlement was redeemed beyond its units, no stock handed out that was not there);
2. every record that reached the server is stored exactly once, with an outcome;
3. every answer a device saw still stands: the record exists, and an answer that was final has not changed;
4. every record not applied has its case: a held record an open gap case, a record in suspense a case of its class;
5. each device's chain on the server is unbroken (counters 1..n, each naming the hash of the one before);
6. a redemption id has at most one effect, and no household got more units than its entitlement gave, counting
   applied offline records and online receipts (not the ledger);
7. what sits in each point's suspense accounts is exactly what its open cases hold.

At the end, with everything delivered: every record a device wrote down is stored and settled (applied or in
suspense), no device has anything pending, and the goods the ledger says left each point are the goods handed out
(by online receipts and by records the ledger could trust).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from canasta.adapters.db import ledger_check
from canasta.adapters.db.eligibility_tables import entitlements
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.adapters.db.offline_store import SqlOfflineStore
from canasta.adapters.db.offline_tables import offline_records, suspense_cases
from canasta.adapters.db.redemption_tables import devices, redemptions
from canasta.domain.suspense import case_reference

if TYPE_CHECKING:
    from tests.simulation.simulator import Simulation

FINAL = {"applied", "suspense"}


def _fail(simulation: Simulation, where: str, problem: str) -> None:
    tail = "\n".join(simulation.trace[-15:])
    raise AssertionError(f"seed {simulation.seed}, {where}: {problem}\nlast steps:\n{tail}")


def _read(simulation: Simulation) -> dict[str, Any]:
    with simulation.server.app.engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(select(offline_records)).mappings()]
        cases = {row["id"]: dict(row) for row in connection.execute(select(suspense_cases)).mappings()}
        names = dict(connection.execute(select(devices.c.id, devices.c.name)).all())
        report = ledger_check.check(connection)
        reused = connection.execute(
            select(ledger_transfers.c.reference)
            .where(ledger_transfers.c.kind == "redeem", ledger_transfers.c.asset.like("benefit:%"))
            .group_by(ledger_transfers.c.reference)
            .having(func.count() > 1)
        ).all()
        granted = dict(connection.execute(select(entitlements.c.id, entitlements.c.units)).all())
        redemption_count = connection.execute(select(func.count()).select_from(redemptions)).scalar_one()
        suspense = connection.execute(
            select(ledger_accounts.c.owner_id, ledger_accounts.c.asset, ledger_balances.c.balance)
            .join(ledger_balances, ledger_balances.c.account_id == ledger_accounts.c.id)
            .where(ledger_accounts.c.kind == "suspense", ledger_balances.c.balance != 0)
        ).all()
        open_cases = [case for case in cases.values() if case["state"] == "open"]
        held = SqlOfflineStore(connection).suspense_held([case_reference(case["id"]) for case in open_cases])
    return {"rows": rows, "cases": cases, "names": names, "report": report, "reused": reused, "granted": granted,
            "redemptions": redemption_count, "suspense": suspense, "open_cases": open_cases, "held": held}  # fmt: skip


def check_step(simulation: Simulation, step: int) -> None:
    where = f"after step {step}"
    seen = _read(simulation)
    if not seen["report"].is_consistent:
        _fail(simulation, where, f"the ledger does not hold: {seen['report'].discrepancies}")
    rows, names = seen["rows"], seen["names"]
    stored = Counter((names[row["device_id"]], row["hash"], row["signature"]) for row in rows)
    for received in simulation.delivered:
        if stored[received] != 1:
            _fail(simulation, where, f"a record that reached the server is stored {stored[received]} times: {received}")
    outcome = {(names[row["device_id"]], row["hash"]): row["outcome"] for row in rows}
    for key, status in simulation.acknowledged.items():
        if key not in outcome or (status in FINAL and outcome[key] != status):
            _fail(simulation, where, f"an answer a device saw ({status}) no longer stands: {key} is {outcome.get(key)}")
    for row in rows:
        case = seen["cases"].get(row["case_id"])
        if row["outcome"] == "held" and (case is None or (case["kind"], case["state"]) != ("gap", "open")):
            _fail(simulation, where, f"held record {row['counter']} of {names[row['device_id']]} has no open gap case")
        if row["outcome"] == "suspense" and (case is None or case["kind"] != row["code"]):
            _fail(simulation, where, f"record {row['counter']} of {names[row['device_id']]} is in suspense without "
                                     "its case")  # fmt: skip
    _check_chains(simulation, where, rows, names)
    if seen["reused"]:
        _fail(simulation, where, f"redemption ids with more than one effect: {seen['reused']}")
    _check_units(simulation, where, seen)
    _check_suspense(simulation, where, seen)


def _check_chains(simulation: Simulation, where: str, rows: list[dict[str, Any]], names: dict[Any, str]) -> None:
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["is_chained"]:
            chains[names[row["device_id"]]].append(row)
    for name, chain in chains.items():
        chain.sort(key=lambda row: row["counter"])
        previous = "0" * 64
        for position, row in enumerate(chain, start=1):
            if row["counter"] != position or row["prev_hash"] != previous:
                _fail(simulation, where, f"the chain of {name} breaks at {position}")
            previous = row["hash"]


def _check_units(simulation: Simulation, where: str, seen: dict[str, Any]) -> None:
    applied = [row for row in seen["rows"] if row["outcome"] == "applied"]
    if seen["redemptions"] != len(applied) + len(simulation.online):
        _fail(simulation, where, f"{seen['redemptions']} redemptions stored, but {len(applied)} records applied "
                                 f"and {len(simulation.online)} redeemed online")  # fmt: skip
    used: dict[str, int] = defaultdict(int)
    for row in applied:
        used[row["body"]["entitlement_id"]] += row["body"]["units"]
    for receipt in simulation.online:
        used[receipt["entitlement"]] += receipt["units"]
    for entitlement_id, units in seen["granted"].items():
        if used[str(entitlement_id)] > units:
            _fail(simulation, where, f"an entitlement of {units} units was redeemed {used[str(entitlement_id)]} times")


def _check_suspense(simulation: Simulation, where: str, seen: dict[str, Any]) -> None:
    points = {device_id: simulation.world.point_ids[_point_of(name)] for device_id, name in seen["names"].items()}
    expected: dict[tuple[Any, str], int] = defaultdict(int)
    for case in seen["open_cases"]:
        for asset, amount in seen["held"].get(case_reference(case["id"]), {}).items():
            expected[(points[case["device_id"]], asset)] += amount
    actual = {(owner, asset): int(balance) for owner, asset, balance in seen["suspense"]}
    if actual != {key: value for key, value in expected.items() if value}:
        _fail(simulation, where, f"suspense accounts {actual} differ from what open cases hold {dict(expected)}")


def _point_of(name: str) -> str:
    from tests.simulation.world import DEVICES

    return DEVICES[name]


def check_final(simulation: Simulation) -> None:
    where = "at the end"
    check_step(simulation, -1)
    seen = _read(simulation)
    rows, names = seen["rows"], seen["names"]
    by_key = {(names[row["device_id"]], row["hash"], row["signature"]): row for row in rows}
    physical: dict[tuple[str, str], int] = defaultdict(int)
    for name, written in simulation.written.items():
        if simulation.devices[name].client.pending():
            _fail(simulation, where, f"{name} still has records to upload")
        for entry in written:
            row = by_key.get((name, entry["hash"], entry["signature"]))
            if row is None or row["outcome"] not in FINAL:
                _fail(
                    simulation, where, f"a record {name} wrote down is {'missing' if row is None else row['outcome']}"
                )
            assert row is not None
            if row["code"] in ("applied", "conflict"):  # the classes whose goods the ledger books
                for line in entry["goods"]:
                    physical[(entry["point"], f"commodity:{line['commodity']}-{line['unit']}")] += line["quantity"]
    for receipt in simulation.online:
        for line in receipt["goods"]:
            physical[(receipt["point"], f"commodity:{line['commodity']}-{line['unit']}")] += line["quantity"]
    booked = _goods_out(simulation)
    if booked != {key: value for key, value in physical.items() if value}:
        _fail(simulation, where, f"goods out in the ledger {booked} differ from the goods handed out {dict(physical)}")


def _goods_out(simulation: Simulation) -> dict[tuple[str, str], int]:
    """Goods that left each point by the ledger: to households, or into suspense from the shelf or from outside."""
    debit, credit = ledger_accounts.alias("debit"), ledger_accounts.alias("credit")
    leaving = and_(
        ledger_transfers.c.asset.like("commodity:%"),
        (
            (debit.c.kind == "point_stock") & credit.c.kind.in_(("external", "suspense"))
            | (debit.c.kind == "external") & (credit.c.kind == "suspense")
        ),
    )
    query = (
        select(debit.c.owner_id, ledger_transfers.c.asset, func.sum(ledger_transfers.c.amount))
        .join(debit, debit.c.id == ledger_transfers.c.debit_account_id)
        .join(credit, credit.c.id == ledger_transfers.c.credit_account_id)
        .where(leaving)
        .group_by(debit.c.owner_id, ledger_transfers.c.asset)
    )
    codes = {point_id: code for code, point_id in simulation.world.point_ids.items()}
    with simulation.server.app.engine.connect() as connection:
        return {(codes[owner], asset): int(total) for owner, asset, total in connection.execute(query)}
