"""How a device talks to the server: two calls, behind a port so that tests and the simulator run the client
in-process without sockets.

* :class:`HttpTransport` speaks HTTP with the standard library (a device needs nothing else installed);
* :class:`ClientTransport` wraps any client object with ``get``/``post`` in the style of the common HTTP client
  libraries, such as the API framework's test client: the server runs in the same process.

Errors: :class:`ServerUnreachableError` when no answer came (nothing is known to have happened: retry); a
problem answer becomes the domain error of its status (401 :class:`AuthenticationError`, 403
:class:`PermissionDeniedError`, 404 :class:`NotFoundError`, 409 :class:`ConflictError`, 422
:class:`ValidationError`) with the server's ``code``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from canasta.domain.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = [
    "BUNDLE_PATH",
    "UPLOAD_PATH",
    "ClientTransport",
    "DeviceTransport",
    "HttpTransport",
    "ServerUnreachableError",
]

BUNDLE_PATH = "/devices/bundle"
UPLOAD_PATH = "/devices/uploads"


class ServerUnreachableError(DomainError):
    """No answer from the server (network down, timeout, a server error): try again later."""

    code = "server_unreachable"


class DeviceTransport(Protocol):
    """The two calls a device makes."""

    def get_bundle(self, token: str) -> dict[str, Any]: ...
    def upload(self, token: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


def _answer(status: int, document: Any) -> dict[str, Any]:
    """The JSON answer of a 200, or the problem raised as the domain error of its status."""
    if status == 200 and isinstance(document, dict):
        return document
    problem = document if isinstance(document, dict) else {}
    detail, code = str(problem.get("detail", f"HTTP {status}")), str(problem.get("code", "error"))
    if status == 401:
        raise AuthenticationError(detail)
    if status == 403:
        raise PermissionDeniedError(detail)
    if status == 404:
        raise NotFoundError(detail, field=problem.get("field"))
    if status == 409:
        raise ConflictError(detail, code=code)
    if status == 422:
        raise ValidationError(detail, field=problem.get("field"), code=code)
    raise ServerUnreachableError(f"the server answered {status}: {detail}")


class HttpTransport:
    """HTTP(S) to ``base_url`` (``https://canasta.example``) with a timeout, standard library only."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValidationError("the server is an http:// or https:// URL", field="server")
        self.base_url, self.timeout = base_url.rstrip("/"), timeout

    def _call(self, method: str, path: str, token: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310  # the scheme is checked in __init__ (http or https only)
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                     "Accept": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # as above
                return _answer(response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            try:
                document = json.loads(error.read())
            except ValueError:
                document = None
            return _answer(error.code, document)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ServerUnreachableError(f"no answer from {self.base_url} ({type(error).__name__})") from error

    def get_bundle(self, token: str) -> dict[str, Any]:
        return self._call("GET", BUNDLE_PATH, token, None)

    def upload(self, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", UPLOAD_PATH, token, body)


class ClientTransport:
    """The two calls through ``client``, any object with ``get(url, headers=...)`` and ``post(url, json=...,
    headers=...)`` returning responses with ``status_code`` and ``json()`` (the API's test client, say)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def _read(response: Any) -> dict[str, Any]:
        try:
            document = response.json()
        except ValueError:
            document = None
        return _answer(int(response.status_code), document)

    def get_bundle(self, token: str) -> dict[str, Any]:
        return self._read(self.client.get(BUNDLE_PATH, headers={"Authorization": f"Bearer {token}"}))

    def upload(self, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._read(self.client.post(UPLOAD_PATH, json=dict(body), headers={"Authorization": f"Bearer {token}"}))
