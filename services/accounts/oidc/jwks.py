"""The signing keys of OIDC issuers, fetched by OpenID discovery and cached.

``GET {issuer}/.well-known/openid-configuration`` names the ``jwks_uri``; the
JWK set found there is kept per issuer for ``ttl``.  A token naming a ``kid``
that is not cached triggers a refetch (that is how rotated keys are picked up),
but at most once per ``refresh_interval`` per issuer, so tokens with made-up
``kid`` values cannot make us hammer the provider.  Callers that wait on the
same issuer share one fetch.

Only RSA keys usable for RS256 are kept: ``kty`` RSA, ``use`` absent or
``sig``, ``alg`` absent or ``RS256``.  Header fields that point elsewhere for
keys (``jku``, ``x5u``) are never followed: keys only ever come from the
configured issuer's discovery document.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import structlog

from services.accounts.oidc.errors import InvalidIdTokenError, JwksUnavailableError, ProblemCode

log = structlog.get_logger()

DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass
class _IssuerKeys:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None  # last successful fetch
    attempted_at: float | None = None  # last completed fetch, successful or not
    attempts: int = 0  # completed fetches; lets waiters see that one happened
    failure: str | None = None  # why the last completed fetch failed


class JwksCache:
    """Per-issuer cache of RS256 verification keys.

    ``http`` is the application's client; its timeouts apply.  ``clock`` is a
    monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        ttl: timedelta = timedelta(hours=1),
        refresh_interval: timedelta = timedelta(seconds=60),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_interval > ttl:
            raise ValueError("refresh_interval must not be longer than ttl")
        self._http = http
        self._ttl = ttl.total_seconds()
        self._refresh_interval = refresh_interval.total_seconds()
        self._clock = clock
        self._issuers: dict[str, _IssuerKeys] = {}

    async def get_key(self, issuer: str, kid: str) -> jwt.PyJWK:
        """The key ``kid`` of ``issuer``.

        Raises :class:`InvalidIdTokenError` (``unknown-key``) when the issuer
        does not publish it, :class:`JwksUnavailableError` when its keys
        cannot be fetched.
        """
        issuer = issuer.rstrip("/")
        state = self._issuers.setdefault(issuer, _IssuerKeys())
        if self._is_fresh(state) and kid in state.keys:
            return state.keys[kid]
        seen = state.attempts
        async with state.lock:
            if state.attempts == seen and self._needs_fetch(state, kid):
                await self._refresh(issuer, state)
            return self._cached_key(issuer, state, kid)

    def _is_fresh(self, state: _IssuerKeys) -> bool:
        return state.fetched_at is not None and self._clock() - state.fetched_at < self._ttl

    def _needs_fetch(self, state: _IssuerKeys, kid: str) -> bool:
        if not self._is_fresh(state):
            return True
        if kid in state.keys:
            return False
        last_attempt = state.attempted_at if state.attempted_at is not None else -math.inf
        return self._clock() - last_attempt >= self._refresh_interval

    def _cached_key(self, issuer: str, state: _IssuerKeys, kid: str) -> jwt.PyJWK:
        if not self._is_fresh(state):
            raise JwksUnavailableError(issuer, state.failure or "no keys could be fetched")
        if kid not in state.keys:
            raise InvalidIdTokenError.single(
                ProblemCode.UNKNOWN_KEY,
                f"The token is signed with key {kid!r}, which {issuer} does not publish.",
            )
        return state.keys[kid]

    async def _refresh(self, issuer: str, state: _IssuerKeys) -> None:
        try:
            keys = await self._fetch_keys(issuer)
        except JwksUnavailableError as error:
            self._record_attempt(state, failure=error.reason)
            log.warning("jwks_fetch_failed", issuer=issuer, reason=error.reason)
            raise
        self._record_attempt(state, failure=None)
        state.keys, state.fetched_at = keys, state.attempted_at
        log.info("jwks_fetched", issuer=issuer, kids=sorted(keys))

    def _record_attempt(self, state: _IssuerKeys, *, failure: str | None) -> None:
        # Only completed fetches count: after a cancelled one, waiters fetch themselves.
        state.attempts += 1
        state.attempted_at = self._clock()
        state.failure = failure

    async def _fetch_keys(self, issuer: str) -> dict[str, jwt.PyJWK]:
        discovery = await self._get_json(issuer, issuer + DISCOVERY_PATH)
        jwks_uri = _jwks_uri(issuer, discovery)
        return _usable_keys(issuer, await self._get_json(issuer, jwks_uri))

    async def _get_json(self, issuer: str, url: str) -> Mapping[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise JwksUnavailableError(issuer, f"GET {url} failed ({type(error).__name__}: {error})") from error
        if response.status_code != 200:
            raise JwksUnavailableError(issuer, f"GET {url} answered {response.status_code}")
        try:
            document = response.json()
        except ValueError as error:
            raise JwksUnavailableError(issuer, f"GET {url} did not return JSON") from error
        if not isinstance(document, dict):
            raise JwksUnavailableError(issuer, f"GET {url} did not return a JSON object")
        return document


def _jwks_uri(issuer: str, discovery: Mapping[str, Any]) -> str:
    """The ``jwks_uri`` of a discovery document, after checking that the document is the issuer's."""
    claimed = discovery.get("issuer")
    if not isinstance(claimed, str) or claimed.rstrip("/") != issuer:
        raise JwksUnavailableError(issuer, f"the discovery document names issuer {claimed!r}")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme not in ("https", "http"):
        raise JwksUnavailableError(issuer, f"the discovery document has no usable jwks_uri ({jwks_uri!r})")
    if urlsplit(issuer).scheme == "https" and urlsplit(jwks_uri).scheme != "https":
        raise JwksUnavailableError(issuer, f"the jwks_uri {jwks_uri!r} is not https")
    return jwks_uri


def _usable_keys(issuer: str, document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise JwksUnavailableError(issuer, "the JWK set has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if _is_rs256_signing_key(entry) and entry["kid"] not in keys and (key := _load(entry)) is not None:
            keys[entry["kid"]] = key
    return keys


def _is_rs256_signing_key(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("kty") == "RSA"
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", "RS256") == "RS256"
        and isinstance(entry.get("kid"), str)
        and bool(entry["kid"])
    )


def _load(entry: dict[str, Any]) -> jwt.PyJWK | None:
    try:
        return jwt.PyJWK(entry, algorithm="RS256")
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None
