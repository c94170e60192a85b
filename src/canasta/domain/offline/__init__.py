"""Offline redemption (DESIGN section 7): the bundle a device downloads, the records it signs and chains, the
limits it keeps, and how the server sorts each record it receives.

**Bundle.** What a device needs to redeem without a connection: its point, its limits, the server's view of its
chain, and one *lease* per entitlement leased to the point (entitlement id, the household's registry reference for
the assisted path, the numbers of its active cards, programme, units due, unit value, co-payment, currency, basket,
period). No names, birth dates or identifiers: the card itself carries what the holder shows. The server signs the
bundle as it signs receipts; the card trust list and revocation list ride inside it, base64-encoded.

**Record.** Each offline redemption is one record, a JSON object signed with the device's Ed25519 key over its
canonical bytes (sorted keys, no spaces, UTF-8). Records form a chain: ``counter`` is 1 for a device's first record
and grows by one; ``prev_hash`` is the SHA-256 (hex) of the previous record's canonical bytes, 64 zeros for the
first. A record must be in canonical form: parsing it and writing it back gives the same object.

**Sorting a received record** (:func:`screen`, then the ledger), in this order, first match wins:

====================  ==============================================================================
``duplicate``         the very same entry (body and signature) was received before: its stored answer, no effect
``malformed``         not a record in the documented form
``foreign_signature`` does not verify with the registered key of the device it is uploaded for, or names another
                      device
``edit``              its counter's place in the chain holds another record, or its previous hash is not the
                      hash of the record before it
``gap``               its counter is beyond the next one expected: held until the records before it arrive
``revoked_device``    made after its device was revoked
``replay``            its redemption id has been used already (online, by another device, by another record)
``conflict``          in order and genuine, but the lease, the period, the entitlement or the stock does not
                      cover it
``applied``           posted as an offline redemption
====================  ==============================================================================

Everything but ``applied`` and ``duplicate`` opens a suspense case (:mod:`canasta.domain.suspense`).
"""

from canasta.domain.offline.bundle import (
    BUNDLE_FORMAT,
    Bundle,
    Lease,
    LimitRefusal,
    OfflineLimits,
    OfflineRefusedError,
    check_limits,
)
from canasta.domain.offline.records import (
    CHAINED,
    GENESIS,
    MAX_BATCH,
    MAX_RECORD_BYTES,
    ZERO_HASH,
    ChainHead,
    Finding,
    OfflineRecord,
    RecordClass,
    RecordOutcome,
    canonical_bytes,
    digest,
    format_time,
    parse_time,
    screen,
)

__all__ = [
    "BUNDLE_FORMAT",
    "CHAINED",
    "GENESIS",
    "MAX_BATCH",
    "MAX_RECORD_BYTES",
    "ZERO_HASH",
    "Bundle",
    "ChainHead",
    "Finding",
    "Lease",
    "LimitRefusal",
    "OfflineLimits",
    "OfflineRecord",
    "OfflineRefusedError",
    "RecordClass",
    "RecordOutcome",
    "canonical_bytes",
    "check_limits",
    "digest",
    "format_time",
    "parse_time",
    "screen",
]
