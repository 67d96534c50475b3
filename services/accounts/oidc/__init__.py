"""Trusted publishing: verifying OIDC ID tokens from CI providers, as Warehouse does.

``verify_id_token`` checks a token's signature (keys from :class:`JwksCache`),
audience and validity period; ``check_github_claims`` / ``check_gitlab_claims``
then match the verified claims against a registered publisher.
"""

from services.accounts.oidc.errors import (
    InvalidIdTokenError,
    JwksUnavailableError,
    OidcError,
    ProblemCode,
    TokenProblem,
)
from services.accounts.oidc.jwks import JwksCache
from services.accounts.oidc.providers import (
    GitHubPublisher,
    GitLabPublisher,
    check_github_claims,
    check_gitlab_claims,
    github_lookup,
    gitlab_lookup,
    issuer_host,
)
from services.accounts.oidc.verify import VerifiedToken, verify_id_token

__all__ = [
    "GitHubPublisher",
    "GitLabPublisher",
    "InvalidIdTokenError",
    "JwksCache",
    "JwksUnavailableError",
    "OidcError",
    "ProblemCode",
    "TokenProblem",
    "VerifiedToken",
    "check_github_claims",
    "check_gitlab_claims",
    "github_lookup",
    "gitlab_lookup",
    "issuer_host",
    "verify_id_token",
]
