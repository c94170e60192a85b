"""``canasta cards``: check a card's signed QR code offline, as a distribution point does.

``canasta cards verify TEXT --trust-list FILE --list-key HEX [--revocations FILE] [--at TIME] [--json]`` and
``--image FILE`` to read the QR code from a photo or a scan. Exit codes: 0 the card is valid, 1 it is refused (the
reason is printed), 2 bad usage or a list that does not verify. The verifier never reads the wall clock: this
command hands it the current time, or ``--at``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from canasta.domain.credentials import Verification

__all__ = ["app"]

app = typer.Typer(help="Benefit cards and their signed QR credentials.", no_args_is_help=True)


@app.callback()
def cards() -> None:
    """Benefit cards and their signed QR credentials."""


def _read_qr_image(image: Path) -> str:
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as picture:
            found = zxingcpp.read_barcodes(picture)
    except UnidentifiedImageError as exc:
        raise typer.BadParameter(f"{image} is not an image", param_hint="--image") from exc
    codes = [code for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    if not codes:
        raise typer.BadParameter(f"no QR code found in {image}", param_hint="--image")
    text: str = codes[0].text
    return text


def _parse_time(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as exc:
        raise typer.BadParameter(f"{at!r} is not an ISO 8601 time", param_hint="--at") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _report(result: Verification) -> dict[str, Any]:
    from canasta.domain.credentials import claims_as_json

    credential = result.credential
    return {
        "valid": result.is_valid,
        "reason": None if result.refusal is None else result.refusal.value,
        "detail": result.detail,
        "key_id": None if result.key_id is None else result.key_id.hex(),
        "issuer": None if credential is None else credential.issuer,
        "issued_at": None if credential is None else credential.issued_at,
        "expires_at": None if credential is None else credential.expires_at,
        "claims": None if credential is None else claims_as_json(credential.claims),
    }


@app.command("verify")
def verify(
    trust_list: Annotated[
        Path, typer.Option("--trust-list", exists=True, dir_okay=False, help="Signed trust list of card keys.")
    ],
    list_key: Annotated[str, typer.Option("--list-key", help="The list-signing public key, 64 hex digits.")],
    text: Annotated[str | None, typer.Argument(help="The card's QR text (Base45); omit it with --image.")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", exists=True, dir_okay=False, help="Read the QR code from this image.")
    ] = None,
    revocations: Annotated[
        Path | None, typer.Option("--revocations", exists=True, dir_okay=False, help="Signed revocation list.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Verify as of this ISO 8601 time (UTC unless it says); default now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
) -> None:
    """Verify a card offline: valid (exit 0) or refused with one reason (exit 1)."""
    import json

    from canasta.adapters.crypto.claim169 import CardVerifier
    from canasta.adapters.crypto.trust import ListRefusedError, read_revocation_list, read_trust_list

    if (text is None) == (image is None):
        raise typer.BadParameter("give the QR text or --image, not both and not neither")
    try:
        list_public_key = bytes.fromhex(list_key)
    except ValueError as exc:
        raise typer.BadParameter("not hexadecimal", param_hint="--list-key") from exc
    if len(list_public_key) != 32:
        raise typer.BadParameter("an Ed25519 public key is 64 hex digits", param_hint="--list-key")
    try:
        keys = read_trust_list(trust_list.read_bytes(), list_public_key).keys
        revoked = read_revocation_list(revocations.read_bytes(), list_public_key).revoked if revocations else ()
    except ListRefusedError as exc:
        raise typer.BadParameter(f"{exc.reason.value}: {exc.detail}", param_hint="--trust-list/--revocations") from exc
    card_text = text if text is not None else _read_qr_image(image)  # type: ignore[arg-type]  # one is given
    result = CardVerifier(keys, revoked).verify(card_text, now=_parse_time(at))
    if as_json:
        typer.echo(json.dumps(_report(result), ensure_ascii=False))
    elif result.credential is not None and result.is_valid:
        claims = result.credential.claims
        typer.echo(
            f"valid: card {claims.card_id}, {claims.full_name or '(no name)'}, born {claims.date_of_birth or '?'}"
        )
    else:
        reason = result.refusal.value if result.refusal is not None else "refused"
        typer.echo(f"refused: {reason} ({result.detail})")
    if not result.is_valid:
        raise typer.Exit(1)
