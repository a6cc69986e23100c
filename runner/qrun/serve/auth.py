"""IAM-style access tokens: an API key is exchanged for a short-lived bearer token.

The client decodes the token as a JWT without checking its signature and only needs
integer ``iat`` and ``exp``. The service does check it: tokens are signed with HMAC-SHA256
under a secret drawn when the process starts, so a token outlives neither its ``exp`` nor
the server. The payload names the instances (CRNs) the key reaches, never the key itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.serve.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.serve.config import ServeConfig

__all__ = ["Grant", "TokenIssuer"]

_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: the CRNs it reaches, until ``expires``."""

    crns: frozenset[str]
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and checks access tokens for the API keys of a configuration."""

    def __init__(self, config: ServeConfig, now: Callable[[], float]) -> None:
        self._config = config
        self._now = now
        self._secret = secrets.token_bytes(32)

    def issue(self, api_key: str) -> dict[str, object]:
        """The IAM token response for ``api_key``; 400 if it is not a known key."""
        instances = self._config.instances_of(api_key)
        if instances is None:
            raise ApiError(400, "BXNIM0415E", "Provided API key could not be found.")
        issued = int(self._now())
        expires = issued + int(self._config.token_ttl)
        payload = {
            "iat": issued,
            "exp": expires,
            "iss": "qrun-serve",
            "sub": hashlib.sha256(api_key.encode()).hexdigest()[:16],
            "crns": sorted(item.crn for item in instances),
        }
        signing_input = (
            _b64(json.dumps(_HEADER).encode()) + "." + _b64(json.dumps(payload).encode())
        )
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return {
            "access_token": f"{signing_input}.{_b64(signature)}",
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": expires - issued,
            "expiration": expires,
            "scope": "ibm openid",
        }

    def check(self, authorization: str | None) -> Grant:
        """The grant of an ``Authorization: Bearer …`` header; 401 when it is not valid."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "unauthorized", "A bearer access token is required.")
        token = authorization.removeprefix("Bearer ").strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise ApiError(401, "unauthorized", "The access token is malformed.")
        expected = hmac.new(
            self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
        ).digest()
        try:
            valid = hmac.compare_digest(expected, _unb64(parts[2]))
            payload = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            valid = False
        if not valid or not isinstance(payload, dict):
            raise ApiError(401, "unauthorized", "The access token is not valid here.")
        expires = payload.get("exp")
        crns = payload.get("crns")
        if not isinstance(expires, int) or not isinstance(crns, list):
            raise ApiError(401, "unauthorized", "The access token is not valid here.")
        if expires <= self._now():
            raise ApiError(401, "unauthorized", "The access token has expired.")
        return Grant(frozenset(str(crn) for crn in crns), float(expires))
