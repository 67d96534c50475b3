"""JwksCache against a real loopback identity provider."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.accounts.oidc import InvalidIdTokenError, JwksCache, JwksUnavailableError, verify_id_token
from tests.fixtures.oidc import AUDIENCE, FakeClock, OidcProvider, key_id, public_jwk

REFRESH = timedelta(seconds=60)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(oidc_http: httpx.AsyncClient, clock: FakeClock) -> JwksCache:
    return JwksCache(oidc_http, ttl=timedelta(hours=1), refresh_interval=REFRESH, clock=clock)


async def unknown_key(cache: JwksCache, provider: OidcProvider, kid: str) -> InvalidIdTokenError:
    with pytest.raises(InvalidIdTokenError) as caught:
        await cache.get_key(provider.issuer, kid)
    assert caught.value.codes == ["unknown-key"]
    return caught.value


async def unavailable(cache: JwksCache, provider: OidcProvider) -> JwksUnavailableError:
    with pytest.raises(JwksUnavailableError) as caught:
        await cache.get_key(provider.issuer, provider.kid)
    assert caught.value.status_code == 503
    return caught.value


class TestJwksCache:
    async def test_keys_are_cached(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        for _ in range(2):
            token = oidc_provider.sign(oidc_provider.github_claims())
            await verify_id_token(token, issuers=[oidc_provider.issuer], audience=AUDIENCE, jwks=oidc_jwks)
        assert (oidc_provider.discovery_requests, oidc_provider.requests) == (1, 1)

    async def test_returns_the_published_key(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        key = await cache.get_key(oidc_provider.issuer, oidc_provider.kid)
        assert isinstance(key, jwt.PyJWK)
        assert key.key_id == oidc_provider.kid
        assert key.algorithm_name == "RS256"

    async def test_concurrent_callers_share_one_fetch(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        keys = await asyncio.gather(*(cache.get_key(oidc_provider.issuer, oidc_provider.kid) for _ in range(10)))
        assert {key.key_id for key in keys} == {oidc_provider.kid}
        assert oidc_provider.requests == 1

    async def test_rotated_key_is_picked_up_by_one_rate_limited_refetch(
        self, oidc_provider: OidcProvider, cache: JwksCache, clock: FakeClock
    ) -> None:
        old_kid = oidc_provider.kid
        await cache.get_key(oidc_provider.issuer, old_kid)
        oidc_provider.rotate()
        new_kid = oidc_provider.kid

        clock.advance(REFRESH.total_seconds() - 1)
        await unknown_key(cache, oidc_provider, new_kid)  # refetched too recently to try again
        assert oidc_provider.requests == 1

        clock.advance(1)
        assert (await cache.get_key(oidc_provider.issuer, new_kid)).key_id == new_kid
        assert oidc_provider.requests == 2
        await unknown_key(cache, oidc_provider, old_kid)  # gone at the provider, and no new refetch
        assert oidc_provider.requests == 2

    async def test_rotation_is_seen_by_token_verification(
        self, oidc_provider: OidcProvider, cache: JwksCache, clock: FakeClock
    ) -> None:
        await cache.get_key(oidc_provider.issuer, oidc_provider.kid)
        oidc_provider.rotate()
        clock.advance(REFRESH.total_seconds())
        token = oidc_provider.sign(oidc_provider.github_claims())
        verified = await verify_id_token(token, issuers=[oidc_provider.issuer], audience=AUDIENCE, jwks=cache)
        assert verified.claims["repository"] == "octo-org/sampleproject"
        assert oidc_provider.requests == 2

    async def test_made_up_kids_do_not_hammer_the_provider(
        self, oidc_provider: OidcProvider, cache: JwksCache, clock: FakeClock
    ) -> None:
        await cache.get_key(oidc_provider.issuer, oidc_provider.kid)
        clock.advance(REFRESH.total_seconds())
        for attempt in range(20):
            error = await unknown_key(cache, oidc_provider, f"made-up-{attempt}")
        assert oidc_provider.requests == 2  # one refetch for the first made-up kid, none after
        assert "'made-up-19'" in error.errors[0].description

    async def test_keys_expire_after_ttl(
        self, oidc_provider: OidcProvider, cache: JwksCache, clock: FakeClock
    ) -> None:
        await cache.get_key(oidc_provider.issuer, oidc_provider.kid)
        clock.advance(timedelta(hours=1).total_seconds())
        await cache.get_key(oidc_provider.issuer, oidc_provider.kid)
        assert oidc_provider.requests == 2

    async def test_provider_down_is_unavailable(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        oidc_provider.fail(503)
        error = await unavailable(cache, oidc_provider)
        assert "answered 503" in error.message
        assert error.details["issuer"] == oidc_provider.issuer

    async def test_unreachable_provider_is_unavailable(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        oidc_provider.stop()
        error = await unavailable(cache, oidc_provider)
        assert "ConnectError" in error.message

    async def test_bad_json_is_unavailable(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        oidc_provider.fail(200, b"<html>maintenance</html>")
        error = await unavailable(cache, oidc_provider)
        assert "did not return JSON" in error.message

    async def test_jwks_without_keys_is_unavailable(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        oidc_provider.discovery_overrides["jwks_uri"] = f"{oidc_provider.issuer}/.well-known/openid-configuration"
        error = await unavailable(cache, oidc_provider)
        assert "no 'keys' list" in error.message

    async def test_discovery_for_another_issuer_is_unavailable(
        self, oidc_provider: OidcProvider, cache: JwksCache
    ) -> None:
        oidc_provider.discovery_overrides["issuer"] = "https://token.evil.example"
        error = await unavailable(cache, oidc_provider)
        assert "names issuer 'https://token.evil.example'" in error.message
        assert oidc_provider.requests == 0

    async def test_failure_is_not_cached(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        oidc_provider.fail(502)
        await unavailable(cache, oidc_provider)
        oidc_provider.recover()
        assert (await cache.get_key(oidc_provider.issuer, oidc_provider.kid)).key_id == oidc_provider.kid

    async def test_expired_keys_are_not_served_when_the_refresh_fails(
        self, oidc_provider: OidcProvider, cache: JwksCache, clock: FakeClock
    ) -> None:
        await cache.get_key(oidc_provider.issuer, oidc_provider.kid)
        clock.advance(timedelta(hours=1).total_seconds())
        oidc_provider.fail(500)
        await unavailable(cache, oidc_provider)

    async def test_waiters_share_a_failed_fetch(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        oidc_provider.fail(503)
        calls = (cache.get_key(oidc_provider.issuer, oidc_provider.kid) for _ in range(5))
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(result, JwksUnavailableError) for result in results)
        assert oidc_provider.discovery_requests == 1

    async def test_keys_not_usable_for_rs256_are_ignored(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        other = oidc_provider.unpublished_key
        ec_jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
        oidc_provider.extra_jwks += [
            {**ec_jwk, "kid": "ec-key"},
            {**public_jwk(other), "kid": "encryption-key", "use": "enc"},
            {**public_jwk(other), "kid": "rs512-key", "alg": "RS512"},
            {"kty": "RSA", "kid": "broken-key", "n": "AQAB", "e": "AQAB"},
            {**public_jwk(other), "kid": None},
            "not a key",
        ]
        assert (await cache.get_key(oidc_provider.issuer, oidc_provider.kid)).key_id == oidc_provider.kid
        for kid in ("ec-key", "encryption-key", "rs512-key", "broken-key", key_id(other)):
            await unknown_key(cache, oidc_provider, kid)

    async def test_key_without_use_or_alg_is_accepted(self, oidc_provider: OidcProvider, cache: JwksCache) -> None:
        bare = {k: v for k, v in public_jwk(oidc_provider.unpublished_key).items() if k not in ("use", "alg")}
        oidc_provider.extra_jwks.append(bare)
        assert (await cache.get_key(oidc_provider.issuer, bare["kid"])).key_id == bare["kid"]

    def test_refresh_interval_longer_than_ttl_is_refused(self, oidc_http: httpx.AsyncClient) -> None:
        with pytest.raises(ValueError, match="refresh_interval"):
            JwksCache(oidc_http, ttl=timedelta(seconds=10), refresh_interval=timedelta(seconds=60))
