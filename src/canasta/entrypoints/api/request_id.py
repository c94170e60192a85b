"""Every request gets an id: the caller's ``X-Request-ID`` when it is a plain token, else a new one.

The id is written into every access-log entry the request makes and answered in the ``X-Request-ID`` header, so
a citizen's "who looked at my record" and an operator's support case point at the same request. A plain ASGI
middleware: it adds one header and nothing else to each request's cost.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware"]

_ACCEPTED = re.compile(rb"[A-Za-z0-9._-]{8,64}")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"x-request-id"), None)
        request_id = given if given is not None and _ACCEPTED.fullmatch(given) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id))
            await send(message)

        await self.app(scope, receive, send_with_id)
