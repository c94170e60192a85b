"""Offline redemption on the server (DESIGN section 7): the bundle a device downloads (:mod:`.bundle`), the
records it uploads (:mod:`.uploads`), and the suspense cases officers settle (:mod:`.suspense`)."""

from canasta.services.offline.bundle import download_bundle
from canasta.services.offline.ports import Offline, OfflineStore, OfflineUnit
from canasta.services.offline.suspense import list_cases, resolve_case
from canasta.services.offline.uploads import upload_records

__all__ = [
    "Offline",
    "OfflineStore",
    "OfflineUnit",
    "download_bundle",
    "list_cases",
    "resolve_case",
    "upload_records",
]
