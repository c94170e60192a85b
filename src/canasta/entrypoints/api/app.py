"""Building the FastAPI application around a bootstrapped canasta."""

from __future__ import annotations

from fastapi import FastAPI

from canasta import __version__
from canasta.bootstrap import Canasta
from canasta.entrypoints.api.auth_routes import router as auth_router
from canasta.entrypoints.api.errors import install_error_handlers
from canasta.entrypoints.api.offline_routes import router as offline_router
from canasta.entrypoints.api.routes import router

__all__ = ["create_app"]


def create_app(canasta: Canasta) -> FastAPI:
    """The API over ``canasta`` (its engine, keys and clock); the schema must be up to date."""
    app = FastAPI(
        title="canasta",
        version=__version__,
        summary="Social-protection registry and benefit cards. Need, never loyalty.",
        openapi_url="/openapi.json",
    )
    app.state.canasta = canasta
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(auth_router)
    app.include_router(offline_router)
    return app
