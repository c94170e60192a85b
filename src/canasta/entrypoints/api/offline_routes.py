"""Routes of offline redemption: the bundle a device downloads and the records it uploads. Thin, as in
``routes.py``; the authorisation table lists them like every other route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from canasta.bootstrap import Canasta
from canasta.domain.offline import MAX_BATCH
from canasta.entrypoints.api.dependencies import CurrentActor, request_context
from canasta.entrypoints.api.routes import PROBLEMS
from canasta.entrypoints.api.schemas import Request as RequestBody

__all__ = ["router"]

router = APIRouter(responses=PROBLEMS, tags=["offline"])


class SignedRecordInput(RequestBody):
    """One offline record as the device signed it (``docs/redemption.md``, "Offline")."""

    record: dict[str, Any] = Field(description="The record; its canonical JSON is what the signature covers.")
    signature: Annotated[str, Field(min_length=1, max_length=128, description="Ed25519, base64url, unpadded.")]


class OfflineUpload(RequestBody):
    """Records of one device, in any order; a device leaves out ``device``, an operator carrying a device's records
    names it."""

    device: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    records: Annotated[list[SignedRecordInput], Field(min_length=1, max_length=MAX_BATCH)]


class ChainHeadPublic(BaseModel):
    counter: int
    hash: str


class RecordAnswer(BaseModel):
    """Where one uploaded record stands: ``status`` applied, held (a gap) or suspense; ``code`` its class
    (``duplicate`` when it was received before)."""

    counter: int | None
    hash: str
    status: str
    code: str
    redemption_id: str | None
    case_id: str | None


class UploadAnswer(BaseModel):
    device: str
    chain: ChainHeadPublic
    results: list[RecordAnswer]


class SignedBundle(BaseModel):
    """The bundle, and the server's Ed25519 signature over its canonical JSON by the list key ``key_id``."""

    document: dict[str, Any]
    key_id: str
    signature: str


@router.get("/devices/bundle", response_model=SignedBundle)
def device_bundle(request: Request, actor: CurrentActor) -> dict[str, Any]:
    """The calling device's signed bundle: its point's leases (what is due, to which cards; no names), its offline
    limits, its chain as the server holds it, and the card trust and revocation lists."""
    from canasta.services.offline import download_bundle

    canasta: Canasta = request.app.state.canasta
    return download_bundle(canasta.offline(), actor)


@router.post("/devices/uploads", response_model=UploadAnswer)
def device_uploads(body: OfflineUpload, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """Offline records of a device: each is stored once and applied, held until the records before it arrive, or
    put in suspense with a case. Sending the same records again has no new effect."""
    from canasta.services.offline import upload_records

    canasta: Canasta = request.app.state.canasta
    offline = canasta.offline(actor, request_context(request))
    return upload_records(offline, actor, body.model_dump(mode="json", exclude_none=True))
