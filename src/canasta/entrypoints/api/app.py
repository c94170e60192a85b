"""Building the FastAPI application around a bootstrapped canasta."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from canasta import __version__
from canasta.bootstrap import Canasta
from canasta.entrypoints.api.approval_routes import router as approval_router
from canasta.entrypoints.api.auth_routes import router as auth_router
from canasta.entrypoints.api.citizen_routes import router as citizen_router
from canasta.entrypoints.api.errors import install_error_handlers
from canasta.entrypoints.api.offline_routes import router as offline_router
from canasta.entrypoints.api.request_id import RequestIdMiddleware
from canasta.entrypoints.api.routes import router

__all__ = ["create_app"]

logger = logging.getLogger("canasta.audit")


def _sealer(canasta: Canasta, stop: threading.Event) -> None:
    """Seal the access log every few seconds, off the request path, until ``stop`` is set.

    A round looks at the entries made since shortly before the last sealed one; one round in 60 looks ten minutes
    back, for entries of transactions that were open long (``canasta audit verify`` names any still left).
    """
    interval = canasta.settings.audit_seal_seconds
    rounds = 0
    while not stop.wait(interval):
        rounds += 1
        lookback = timedelta(minutes=10) if rounds % 60 == 0 else timedelta(seconds=10)
        try:
            canasta.seal_access_log(lookback=lookback)
        except Exception as error:  # a failed round is retried at the next; verify reports gaps
            logger.error("sealing the access log failed: %s", type(error).__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    canasta: Canasta = app.state.canasta
    stop = threading.Event()
    thread = None
    if canasta.settings.audit_seal_seconds > 0 and canasta.settings.access_log:
        thread = threading.Thread(target=_sealer, args=(canasta, stop), name="canasta-sealer", daemon=True)
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)


def create_app(canasta: Canasta) -> FastAPI:
    """The API over ``canasta`` (its engine, keys and clock); the schema must be up to date."""
    app = FastAPI(
        title="canasta",
        version=__version__,
        summary="Social-protection registry and benefit cards. Need, never loyalty.",
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    app.state.canasta = canasta
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(auth_router)
    app.include_router(offline_router)
    app.include_router(approval_router)
    app.include_router(citizen_router)
    return app
