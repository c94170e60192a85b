"""The ``canasta`` command. Errors are turned into messages and exit codes here, and only here.

Exit codes: 0 success; 1 the command ran but achieved nothing useful (e.g. an import with no row imported);
2 bad input or usage (the message names the field, row or position); 3 not found; 4 conflict; 5 not allowed;
70 an internal error (the message says so, without a stack trace; ``CANASTA_DEBUG=1`` shows it).
"""

from __future__ import annotations

import os
import sys

import typer

from canasta.entrypoints.cli import (
    admin,
    approvals,
    audit,
    backup,
    bench,
    card_issuance,
    cycles,
    devices,
    distribution,
    keys,
    ledger,
    offline,
    registry,
    server,
    synth,
    users,
)

__all__ = ["app", "run"]

app = typer.Typer(
    name="canasta",
    help="canasta: a social-protection registry and benefit-card platform. Need, never loyalty.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rendering it with Rich costs most of a second
)
app.command()(admin.init)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.fields_app, name="fields")
app.add_typer(registry.import_app, name="import")
app.command()(registry.export)
app.command()(server.serve)
app.command()(server.demo)
app.add_typer(users.users_app, name="users")
app.command()(bench.bench)
app.command()(synth.synth)
app.add_typer(card_issuance.cards_app, name="cards")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(cycles.programmes_app, name="programmes")
app.add_typer(cycles.cycles_app, name="cycles")
app.add_typer(cycles.pmt_app, name="pmt")
app.command()(cycles.explain)
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(distribution.stock_app, name="stock")
app.add_typer(devices.devices_app, name="devices")
app.add_typer(offline.device_app, name="device")
app.add_typer(offline.suspense_app, name="suspense")
app.command()(distribution.settlement)
app.add_typer(approvals.approvals_app, name="approvals")
app.command()(backup.backup)
app.command()(backup.restore)


def _exit_code(error: Exception) -> int:
    from canasta.domain.errors import (
        AuthenticationError,
        ConflictError,
        NotFoundError,
        PermissionDeniedError,
        ValidationError,
    )

    for kind, code in (
        (ValidationError, 2),
        (NotFoundError, 3),
        (ConflictError, 4),
        (PermissionDeniedError, 5),
        (AuthenticationError, 5),
    ):
        if isinstance(error, kind):
            return code
    return 1


def run() -> None:
    """Entry point of the ``canasta`` script."""
    from canasta.domain.errors import DomainError

    try:
        status = app(standalone_mode=False)
        sys.exit(status if isinstance(status, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except DomainError as error:
        sys.stderr.write(f"error [{error.code}]: {error.detail}\n")
        sys.exit(_exit_code(error))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as error:
        if _is_usage_error(error):
            error.show()  # type: ignore[attr-defined]  # the command-line parser's own errors print themselves
            sys.exit(2)
        if os.environ.get("CANASTA_DEBUG"):
            raise
        sys.stderr.write(
            f"internal error ({type(error).__name__}); nothing was committed by the step that failed. "
            "Run again with CANASTA_DEBUG=1 to see the details.\n"
        )
        sys.exit(70)


def _is_usage_error(error: Exception) -> bool:
    """True for the parser's usage errors (missing or bad options), whichever click package raised them."""
    return callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int)
