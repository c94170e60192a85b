"""The access log's hash chain: an intact chain verifies; every kind of tampering is found (property-tested)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from canasta.domain.audit import (
    GENESIS,
    AccessEntry,
    Checkpoint,
    SealedLink,
    categories_of,
    chain_hash,
    checkpoint_message,
    entry_hash,
    verify_chain,
)

KEY = Ed25519PrivateKey.generate()
START = datetime(2026, 11, 1, tzinfo=UTC)


def _entry(number: int) -> AccessEntry:
    return AccessEntry(
        id=UUID(int=number + 1), at=START + timedelta(seconds=number), actor_id=UUID(int=7), actor_name="olga",
        actor_role="enrolment_officer", actor_areas=("VE-01",), action="read", household_id=UUID(int=1000 + number),
        person_id=None, categories=("identity",), purpose="case management", request_id=f"r{number}",
        route="GET /households/{household_id}",
    )  # fmt: skip


def _seal(entries: list[AccessEntry], every: int) -> tuple[list[SealedLink], list[Checkpoint]]:
    links, checkpoints, previous = [], [], GENESIS
    for position, entry in enumerate(entries, start=1):
        digest = entry_hash(entry)
        previous = chain_hash(previous, position, digest)
        links.append(SealedLink(position, entry.id, digest, previous, entry))
        if position % every == 0 or position == len(entries):
            at = START + timedelta(days=1, seconds=position)
            signature = KEY.sign(checkpoint_message(position, previous, at))
            checkpoints.append(Checkpoint(position, previous, at, "k1", signature))
    return links, checkpoints


def _signature_ok(checkpoint: Checkpoint) -> bool:
    try:
        KEY.public_key().verify(
            checkpoint.signature, checkpoint_message(checkpoint.position, checkpoint.chain_hash, checkpoint.sealed_at)
        )
    except Exception:  # InvalidSignature: the answer is "no"
        return False
    return True


def _verify(links: list[SealedLink], checkpoints: list[Checkpoint], anchors: tuple[Checkpoint, ...] = ()) -> list[str]:
    report = verify_chain(links, checkpoints, signature_ok=_signature_ok, anchors=anchors)
    return [finding.kind for finding in report.findings]


@given(size=st.integers(1, 40), every=st.integers(1, 10))
def test_an_intact_chain_verifies(size: int, every: int) -> None:
    links, checkpoints = _seal([_entry(n) for n in range(size)], every)
    assert _verify(links, checkpoints) == []


MUTATIONS = ("modify", "delete_entry", "delete_link", "insert", "swap", "truncate", "forge_checkpoint", "rehash")


@settings(max_examples=300, deadline=None)
@given(size=st.integers(2, 30), every=st.integers(1, 8), mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_any_tampering_is_found(size: int, every: int, mutation: str, data: st.DataObject) -> None:
    links, checkpoints = _seal([_entry(n) for n in range(size)], every)
    anchor = checkpoints[-1]  # what an auditor kept from the last export
    at = data.draw(st.integers(0, size - 1), label="position")
    link = links[at]
    assert link.entry is not None
    if mutation == "modify":  # a field of the entry changed in the database
        field = data.draw(st.sampled_from(["actor_name", "purpose", "household_id", "at", "categories"]))
        changed = {
            "actor_name": "someone-else", "purpose": "curiosity", "household_id": UUID(int=1),
            "at": link.entry.at + timedelta(microseconds=1), "categories": ("identity", "health"),
        }[field]  # fmt: skip
        links[at] = dataclasses.replace(link, entry=dataclasses.replace(link.entry, **{field: changed}))
    elif mutation == "delete_entry":  # the entry row removed, its seal left
        links[at] = dataclasses.replace(link, entry=None)
    elif mutation == "delete_link":  # the seal and the entry removed
        del links[at]
    elif mutation == "insert":  # a forged entry slipped into the chain, positions renumbered
        forged = _entry(999)
        links.insert(at, SealedLink(at + 1, forged.id, entry_hash(forged), link.chain_hash, forged))
        links = [dataclasses.replace(item, position=number) for number, item in enumerate(links, start=1)]
    elif mutation == "swap":  # two entries change places
        other = data.draw(st.integers(0, size - 1).filter(lambda n: n != at), label="other")
        first, second = links[at], links[other]
        links[at] = dataclasses.replace(second, position=first.position, chain_hash=first.chain_hash)
        links[other] = dataclasses.replace(first, position=second.position, chain_hash=second.chain_hash)
    elif mutation == "truncate":  # the tail cut off, with every checkpoint that covered it
        links = links[:at]
        checkpoints = [checkpoint for checkpoint in checkpoints if checkpoint.position <= at]
    elif mutation == "forge_checkpoint":  # a checkpoint rewritten without the key
        forged = dataclasses.replace(checkpoints[-1], chain_hash=bytes(32))
        checkpoints = [*checkpoints[:-1], forged]
    elif mutation == "rehash":  # an entry changed and the whole chain recomputed from there (without the key)
        edited = [item.entry for item in links]
        edited[at] = dataclasses.replace(link.entry, purpose="rewritten")
        links, _ = _seal([entry for entry in edited if entry is not None], every)
    assert _verify(links, checkpoints, anchors=(anchor,)) != [], mutation


def test_a_truncated_tail_with_its_checkpoints_needs_the_anchor_to_be_seen() -> None:
    links, checkpoints = _seal([_entry(n) for n in range(10)], 5)
    anchor = checkpoints[-1]
    cut, kept = links[:5], [checkpoint for checkpoint in checkpoints if checkpoint.position <= 5]
    assert _verify(cut, kept) == []  # consistent on its own: this is why auditors keep checkpoints apart
    assert _verify(cut, kept, anchors=(anchor,)) == ["truncated"]


def test_categories_are_named_by_field_and_sealed_columns_count_as_their_field() -> None:
    assert categories_of(["phone_sealed", "given_name", "updated_at"]) == ("contact", "identity")
    assert categories_of(["wg_seeing", "monthly_income", "status"]) == ("health", "socio_economic", "status")
    assert categories_of(["version", "updated_by"]) == ()
