"""verify_id_token against a real loopback identity provider."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.accounts.oidc import InvalidIdTokenError, JwksCache, VerifiedToken, verify_id_token
from tests.fixtures.oidc import AUDIENCE, OidcProvider

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


async def verify(provider: OidcProvider, jwks: JwksCache, token: str, **kwargs: Any) -> VerifiedToken:
    return await verify_id_token(token, issuers=[provider.issuer], audience=AUDIENCE, jwks=jwks, **kwargs)


async def refused(provider: OidcProvider, jwks: JwksCache, token: str, **kwargs: Any) -> InvalidIdTokenError:
    with pytest.raises(InvalidIdTokenError) as caught:
        await verify(provider, jwks, token, **kwargs)
    return caught.value


def timed_claims(provider: OidcProvider, *, iat: int = T, nbf: int = T, exp: int = T + 300) -> dict[str, Any]:
    return provider.github_claims(iat=iat, nbf=nbf, exp=exp)


class TestVerifyIdToken:
    async def test_valid_token_is_accepted(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        claims = oidc_provider.github_claims()
        verified = await verify(oidc_provider, oidc_jwks, oidc_provider.sign(claims))
        assert verified.issuer == oidc_provider.issuer
        assert verified.jti == claims["jti"]
        assert verified.expires_at == datetime.fromtimestamp(claims["exp"], UTC)
        assert verified.claims["repository"] == "octo-org/sampleproject"
        with pytest.raises(TypeError):
            verified.claims["repository"] = "evil/project"  # type: ignore[index]

    async def test_issuer_matches_regardless_of_trailing_slash(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(iss=oidc_provider.issuer + "/"))
        configured = oidc_provider.issuer + "/"
        verified = await verify_id_token(token, issuers=[configured], audience=AUDIENCE, jwks=oidc_jwks)
        assert verified.issuer == configured

    async def test_wrong_audience_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(aud="sigstore"))
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-audience"]
        assert "'sigstore'" in error.errors[0].description
        assert "must be exactly 'wheelhouse'" in error.errors[0].description

    async def test_several_audiences_are_refused_even_with_ours(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(aud=["sigstore", AUDIENCE]))
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-audience"]
        assert "['sigstore', 'wheelhouse']" in error.errors[0].description

    async def test_one_element_audience_list_is_refused(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(aud=[AUDIENCE]))
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-audience"]
        assert "not a list" in error.errors[0].description

    async def test_alg_none_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.signing_alg_none(oidc_provider.github_claims())
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-algorithm"]
        assert "'none'" in error.errors[0].description
        assert oidc_provider.requests == 0

    async def test_hs256_key_confusion_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign_hs256_with_public_key(oidc_provider.github_claims())
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-algorithm"]
        assert "'HS256'" in error.errors[0].description

    async def test_other_rsa_algorithm_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(), alg="RS512")
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-algorithm"]
        assert "only 'RS256'" in error.errors[0].description

    async def test_token_without_kid_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(), headers={"kid": None})
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["unknown-key"]
        assert "'kid'" in error.errors[0].description

    async def test_unknown_kid_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(), key=oidc_provider.unpublished_key)
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["unknown-key"]
        assert "does not publish" in error.errors[0].description

    async def test_expired_token_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(timed_claims(oidc_provider, iat=T - 400, nbf=T - 400, exp=T - 100))
        error = await refused(oidc_provider, oidc_jwks, token, now=NOW)
        assert error.codes == ["expired"]
        assert "expired at 2030-06-01T11:58:20Z, 100 s ago" in error.errors[0].description

    async def test_token_not_yet_valid_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(timed_claims(oidc_provider, nbf=T + 60))
        error = await refused(oidc_provider, oidc_jwks, token, now=NOW)
        assert error.codes == ["not-yet-valid"]
        assert "not valid before 2030-06-01T12:01:00Z, 60 s from now" in error.errors[0].description

    async def test_token_issued_in_the_future_is_refused(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(timed_claims(oidc_provider, iat=T + 3600))
        error = await refused(oidc_provider, oidc_jwks, token, now=NOW)
        assert error.codes == ["issued-in-future"]
        assert "issued at 2030-06-01T13:00:00Z, 3600 s from now" in error.errors[0].description

    async def test_every_time_problem_is_reported(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(timed_claims(oidc_provider, iat=T + 100, nbf=T + 100, exp=T - 100))
        error = await refused(oidc_provider, oidc_jwks, token, now=NOW)
        assert error.codes == ["expired", "not-yet-valid", "issued-in-future"]

    async def test_clock_skew_within_leeway_is_accepted(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(timed_claims(oidc_provider, iat=T + 29, nbf=T + 29, exp=T - 29))
        verified = await verify(oidc_provider, oidc_jwks, token, now=NOW, leeway=timedelta(seconds=30))
        assert verified.expires_at == NOW - timedelta(seconds=29)

    async def test_non_numeric_expiry_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(timed_claims(oidc_provider) | {"exp": "tomorrow"})
        error = await refused(oidc_provider, oidc_jwks, token, now=NOW)
        assert error.codes == ["invalid-token"]
        assert "'exp' claim must be a number" in error.errors[0].description

    async def test_missing_jti_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(jti=None))
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["missing-claim"]
        assert "no 'jti' claim" in error.errors[0].description

    async def test_unknown_issuer_is_refused_before_any_fetch(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(iss="https://token.evil.example"))
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["unknown-issuer"]
        assert "'https://token.evil.example', which is not a trusted issuer" in error.errors[0].description
        assert oidc_provider.discovery_requests == 0

    async def test_tampered_payload_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        claims = oidc_provider.github_claims()
        header, _, signature = oidc_provider.sign(claims).split(".")
        forged = claims | {"repository": "evil-org/sampleproject"}
        payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        error = await refused(oidc_provider, oidc_jwks, f"{header}.{payload}.{signature}")
        assert error.codes == ["invalid-signature"]
        assert f"does not verify with key {oidc_provider.kid!r}" in error.errors[0].description

    async def test_signature_by_another_key_is_refused(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(
            oidc_provider.github_claims(), key=oidc_provider.unpublished_key, kid=oidc_provider.kid
        )
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.codes == ["invalid-signature"]

    async def test_garbage_is_refused(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        error = await refused(oidc_provider, oidc_jwks, "not-a-jwt")
        assert error.codes == ["invalid-token"]
        assert "not a well-formed JWT" in error.errors[0].description

    async def test_refusal_carries_status_and_details(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(aud="sigstore"))
        error = await refused(oidc_provider, oidc_jwks, token)
        assert error.status_code == 422
        assert error.details == {"errors": [{"code": "invalid-audience", "description": error.errors[0].description}]}
        assert json.dumps(error.details)  # plain JSON, no enum objects leaking
        assert error.errors[0].description in error.message

    async def test_naive_now_is_a_programming_error(self, oidc_provider: OidcProvider, oidc_jwks: JwksCache) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            await verify(oidc_provider, oidc_jwks, "x.y.z", now=datetime(2030, 1, 1))
