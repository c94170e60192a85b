"""A seeded simulation of offline redemption: the server, three devices at two points and an operator redeeming
online for the same households, over a network that loses, delays, duplicates, reorders, splits and tampers with
uploads, with devices that crash (losing what they hold in memory, or dying between signing a record and writing
it down), a device revoked mid-way whose records an operator carries in, restocking, and officers writing off
conflicts. After every step that reached the server :mod:`tests.simulation.invariants` checks it (a step that did
not, such as an offline redemption or a crash, changes nothing the checks read); at the end the network turns
reliable, everything is delivered, and nothing a device wrote down may be missing.

Everything random comes from one ``random.Random(seed)``: the same seed gives the same trace, line for line.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.db.device_store import revoke_device
from canasta.adapters.device import ClientTransport, OfflineDevice, ServerUnreachableError, StateFile, new_state
from canasta.adapters.device.transport import UPLOAD_PATH
from canasta.domain.errors import DomainError
from canasta.domain.offline import digest
from canasta.services.offline import list_cases, resolve_case
from tests.redemption_scene import ADMIN, MILK, RICE, deliver
from tests.simulation.invariants import check_final, check_step
from tests.simulation.world import DEVICES, HOUSEHOLDS, Server, World, device_seed

REVOKED = "kiosk-c"  # the device revoked part-way through


class SimulatedCrash(BaseException):
    """The device lost power (a BaseException: nothing in the client may catch it)."""


class CrashingStateFile(StateFile):
    """A device's state file that, when armed, dies before its next write begins."""

    armed = False

    def save(self, state: dict[str, Any]) -> None:
        if self.armed:
            self.armed = False
            raise SimulatedCrash("power lost between signing and writing down")
        super().save(state)


class Network(ClientTransport):
    """One device's link to the server, through the simulation's unreliable network."""

    def __init__(self, simulation: Simulation, name: str) -> None:
        super().__init__(simulation.server.client)
        self.simulation, self.name = simulation, name

    def get_bundle(self, token: str) -> dict[str, Any]:
        if not self.simulation.reliable and self.simulation.rng.random() < 0.1:
            raise ServerUnreachableError("the bundle download was lost")
        self.simulation.touched = True
        return super().get_bundle(token)

    def upload(self, token: str, body: Any) -> dict[str, Any]:
        return self.simulation.send(token, copy.deepcopy(dict(body)))


@dataclass
class Device:
    name: str
    state_file: CrashingStateFile
    client: OfflineDevice


@dataclass
class Simulation:
    seed: int
    server: Server
    world: World
    directory: Path
    steps: int = 60
    rng: random.Random = field(init=False)
    trace: list[str] = field(default_factory=list)
    devices: dict[str, Device] = field(default_factory=dict)
    queue: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # delayed (token, body), in flight
    delivered: list[tuple[str, str, str]] = field(default_factory=list)  # (device, record hash, signature) received
    acknowledged: dict[tuple[str, str], str] = field(default_factory=dict)  # (device, hash) -> status a device saw
    written: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # what each device wrote down
    online: list[dict[str, Any]] = field(default_factory=list)  # receipts of online redemptions
    revoked: bool = False
    reliable: bool = False
    touched: bool = True  # the server was reached since the last check (nothing else changes what checks read)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for name in DEVICES:
            state_file = CrashingStateFile(self.directory / f"{name}.json")
            state_file.save(new_state(server="http://testserver", token=self.world.tokens[name], key_file="-",
                                      list_key=self.world.list_key))  # fmt: skip
            self.devices[name] = Device(name, state_file, self._client(name, state_file))
            self.written[name] = []

    def _client(self, name: str, state_file: StateFile) -> OfflineDevice:
        def new_id() -> UUID:
            return UUID(int=self.rng.getrandbits(128), version=4)

        return OfflineDevice(state_file, Ed25519Signer.from_private_bytes(device_seed(name)), Network(self, name),
                             clock=self.server.clock, new_id=new_id)  # fmt: skip

    def note(self, line: str) -> None:
        self.trace.append(f"{len(self.trace):04d} {line}")

    # --- the network ---------------------------------------------------------------------------------------

    def send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """An upload through the network: its fate is drawn here; what reaches the server is delivered."""
        name = str(body["device"])
        if self.reliable:
            return self.deliver(token, body, seen_by_device=True)
        self._mangle(body)
        fate = self.rng.random()
        if fate < 0.12:
            self.note(f"net {name}: upload of {len(body['records'])} lost on the way")
            raise ServerUnreachableError("lost")
        if fate < 0.24:
            self.queue.append((token, body))
            self.note(f"net {name}: upload of {len(body['records'])} delayed")
            raise ServerUnreachableError("delayed")
        if fate < 0.34:
            self.queue.append((token, copy.deepcopy(body)))
            self.note(f"net {name}: upload duplicated")
        lose_answer = self.rng.random() < 0.15
        answer = self.deliver(token, body, seen_by_device=not lose_answer)
        if lose_answer:
            self.note(f"net {name}: answer lost")
            raise ServerUnreachableError("the answer was lost")
        return answer

    def _mangle(self, body: dict[str, Any]) -> None:
        records = body["records"]
        roll = self.rng.random()
        if roll < 0.2 and len(records) > 1:
            self.rng.shuffle(records)
            self.note(f"net {body['device']}: batch reordered")
        elif roll < 0.3 and len(records) > 1:
            kept = sorted(self.rng.sample(range(len(records)), self.rng.randint(1, len(records) - 1)))
            body["records"] = [records[index] for index in kept]
            self.note(
                f"net {body['device']}: only records {[records[i]['record']['counter'] for i in kept]} got through"
            )
        elif roll < 0.35:
            victim = self.rng.choice(records)
            victim["record"] = {**victim["record"], "units": victim["record"]["units"] + 1}
            self.note(f"net {body['device']}: record {victim['record']['counter']} tampered with")

    def deliver(self, token: str, body: dict[str, Any], *, seen_by_device: bool) -> dict[str, Any]:
        name = str(body["device"])
        self.touched = True
        response = self.server.client.post(UPLOAD_PATH, json=body, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            self.note(f"server {name}: upload refused {response.status_code} {response.json().get('code')}")
            return ClientTransport._read(response)
        answer: dict[str, Any] = response.json()
        self.delivered += [(name, digest(entry["record"]), entry["signature"]) for entry in body["records"]]
        if seen_by_device:
            self.acknowledged |= {(name, result["hash"]): result["status"] for result in answer["results"]}
        summary = " ".join(f"{item['counter']}:{item['code']}" for item in answer["results"])
        self.note(f"server {name}: {summary} -> chain {answer['chain']['counter']}")
        return answer

    # --- what happens --------------------------------------------------------------------------------------

    def run(self) -> list[str]:
        actions: list[tuple[Callable[[], None], int]] = [
            (self.redeem, 30), (self.upload, 16), (self.sync, 8), (self.redeem_online, 8), (self.deliver_late, 8),
            (self.crash, 4), (self.crash_while_signing, 4), (self.advance, 8), (self.restock, 3), (self.write_off, 3),
            (self.revoke, 1), (self.carry_in, 4),
        ]  # fmt: skip
        for name in sorted(self.devices):
            self.attempt(name, lambda device: device.client.sync(), "sync")
        for step in range(self.steps):
            action = self.rng.choices([act for act, _ in actions], weights=[weight for _, weight in actions])[0]
            action()
            if self.touched:
                check_step(self, step)
                self.touched = False
        self.drain()
        check_final(self)
        return self.trace

    def attempt(self, name: str, call: Callable[[Device], Any], what: str) -> Any:
        try:
            return call(self.devices[name])
        except DomainError as error:
            self.note(f"{name} {what}: {error.code}")
        return None

    def _device(self) -> str:
        return self.rng.choice(sorted(self.devices))

    def redeem(self, *, crash: bool = False) -> None:
        name = self._device()
        # Mostly a household of the device's own point; now and then one it holds no lease for.
        here = sorted(ref for ref, point in HOUSEHOLDS.items() if point == DEVICES[name])
        household = self.rng.choice(here if self.rng.random() < 0.85 else sorted(HOUSEHOLDS))
        units, by_card = (1 if self.rng.random() < 0.8 else 2), self.rng.random() < 0.7
        device = self.devices[name]
        named = {"card": self.world.card_texts[household]} if by_card else {"household": household, "reason": "away"}
        device.state_file.armed = crash
        try:
            handout = self.attempt(
                name, lambda d: d.client.redeem(programme="canasta-ninos", units=units, **named), "redeem"
            )
        except SimulatedCrash:
            self.note(f"{name} crashed after signing a record for {household}, before writing it down")
            self._restart(name)
            return
        finally:
            device.state_file.armed = False
        if handout is None:
            return
        record = handout["record"]
        self.written[name].append({"hash": digest(record["record"]), "signature": record["signature"],
                                   "goods": handout["goods"], "point": DEVICES[name]})  # fmt: skip
        self.note(f"{name} record {record['record']['counter']}: {household} x{units} {'card' if by_card else 'ref'}")

    def crash_while_signing(self) -> None:
        self.redeem(crash=True)

    def upload(self) -> None:
        name = self._device()
        if not self.devices[name].client.pending():
            return
        if self.attempt(name, lambda device: device.client.upload(), "upload") is not None:
            self.note(f"{name} upload answered")

    def sync(self) -> None:
        name = self._device()
        if self.attempt(name, lambda device: device.client.sync(), "sync") is not None:
            self.note(f"{name} synced: {len(self.devices[name].client.bundle.leases)} leases")

    def redeem_online(self) -> None:
        household = self.rng.choice(sorted(HOUSEHOLDS))
        by_card = self.rng.random() < 0.7
        body = {"redemption_id": str(UUID(int=self.rng.getrandbits(128), version=4)), "point": HOUSEHOLDS[household],
                "items": [{"programme": "canasta-ninos", "units": 1}],
                **({"card": self.world.card_texts[household]} if by_card
                   else {"household": household, "reason": "card at home"})}  # fmt: skip
        headers = {"Authorization": f"Bearer {self.world.tokens['operator']}"}
        self.touched = True
        for attempt in range(1 + (self.rng.random() < 0.2)):  # now and then the operator presses twice
            response = self.server.client.post("/redemptions", json=body, headers=headers)
            if response.status_code != 200:
                self.note(f"online {household}: {response.json()['code']}")
                return
            if attempt == 0:
                [item] = response.json()["document"]["items"]
                self.online.append({"entitlement": item["entitlement_id"], "units": item["units"],
                                    "goods": item["goods"], "point": HOUSEHOLDS[household]})  # fmt: skip
                self.note(f"online {household}: redeemed, {item['remaining']} left")

    def deliver_late(self) -> None:
        if not self.queue:
            return
        token, body = self.queue.pop(self.rng.randrange(len(self.queue)))
        self.note(f"net {body['device']}: a delayed upload arrives")
        try:
            self.deliver(token, body, seen_by_device=False)
        except DomainError as error:
            self.note(f"net {body['device']}: {error.code}")

    def _restart(self, name: str) -> None:
        device = self.devices[name]
        device.client = self._client(name, device.state_file)

    def crash(self) -> None:
        name = self._device()
        self._restart(name)
        self.note(f"{name} crashed and restarted from what it wrote down")

    def advance(self) -> None:
        minutes = self.rng.randint(1, 240)
        self.server.clock.advance(timedelta(minutes=minutes))
        self.note(f"clock +{minutes} min")

    def restock(self) -> None:
        point = self.rng.choice(sorted(self.world.point_ids))
        self.touched = True
        deliver(self.server.app, self.world.point_ids[point], RICE, 2000 * 3)
        deliver(self.server.app, self.world.point_ids[point], MILK, 3)
        self.note(f"restock {point}")

    def write_off(self) -> None:
        offline = self.server.app.offline()
        conflicts = [case for case in list_cases(offline, state="open") if case["kind"] == "conflict"]
        if conflicts:
            self.touched = True
            case = self.rng.choice(conflicts)
            resolve_case(offline, ADMIN, UUID(case["case_id"]), resolution="write_off", reason="handed out")
            self.note(f"officer writes off the conflict of {case['device']} record {case['counter']}")

    def revoke(self) -> None:
        if self.revoked:
            return
        self.touched = True
        with self.server.app.engine.begin() as connection:
            revoke_device(connection, REVOKED, reason="stolen", by="admin:root", at=self.server.clock.now())
        self.revoked = True
        self.note(f"{REVOKED} revoked")

    def carry_in(self) -> None:
        if not self.revoked:
            return
        token = self.world.tokens["operator"]
        if self.attempt(REVOKED, lambda device: device.client.upload(token=token), "carried in") is not None:
            self.note(f"operator carries in {REVOKED}'s records")

    def drain(self) -> None:
        """The network turns reliable: what is in flight arrives, and every device uploads until nothing waits."""
        self.reliable = True
        self.note("the network turns reliable")
        while self.queue:
            token, body = self.queue.pop(0)
            try:
                self.deliver(token, body, seen_by_device=False)
            except DomainError as error:  # sent before its device was revoked, arriving after: refused, not received
                self.note(f"net {body['device']}: {error.code}")
        for name in sorted(self.devices):
            token = self.world.tokens["operator"] if self.revoked and name == REVOKED else None
            for _ in range(5):
                if not self.devices[name].client.pending():
                    break
                self.devices[name].client.upload(token=token)
