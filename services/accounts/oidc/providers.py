"""Matching verified ID-token claims against registered trusted publishers.

The ``*_lookup`` functions pull from the claims the fields a caller uses to
find candidate publishers; the ``check_*_claims`` functions then compare one
publisher with the claims and return every mismatch as a :class:`TokenProblem`
(an empty list means the token belongs to that publisher).  All of this runs on
claims that :func:`verify_id_token` has already verified.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.accounts.oidc.errors import InvalidIdTokenError, ProblemCode, TokenProblem

# OWNER/REPO/.github/workflows/FILE@REF; workflow files cannot live in subdirectories.
_GITHUB_WORKFLOW_REF = re.compile(r"(?P<owner>[^/]+)/(?P<repo>[^/]+)/\.github/workflows/(?P<file>[^/@]+)@(?P<ref>.+)")
FORBIDDEN_GITHUB_EVENTS = frozenset({"pull_request_target"})


@dataclass(frozen=True)
class GitHubPublisher:
    repository_owner: str
    repository_owner_id: str
    repository_name: str
    workflow_filename: str
    environment: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.repository_owner}/{self.repository_name}"


@dataclass(frozen=True)
class GitLabPublisher:
    namespace: str
    project: str
    workflow_filepath: str
    environment: str | None = None

    @property
    def project_path(self) -> str:
        return f"{self.namespace}/{self.project}"


def issuer_host(issuer: str) -> str:
    """The host part GitLab puts in ``ci_config_ref_uri``: ``https://gitlab.com`` → ``gitlab.com``."""
    return urlsplit(issuer).netloc


# -- GitHub -------------------------------------------------------------------


def check_github_claims(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> list[TokenProblem]:
    checks = (
        _check_repository,
        _check_repository_owner,
        _check_repository_owner_id,
        _check_job_workflow_ref,
        _check_github_environment,
        _check_event_name,
    )
    return [problem for check in checks if (problem := check(publisher, claims)) is not None]


def _check_repository(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    expected = publisher.repository
    return _compare(
        claims,
        "repository",
        matches=lambda value: value.lower() == expected.lower(),
        describe=lambda value: f"The token is for repository {value!r}; the publisher is {expected!r}.",
    )


def _check_repository_owner(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    expected = publisher.repository_owner
    return _compare(
        claims,
        "repository_owner",
        matches=lambda value: value.lower() == expected.lower(),
        describe=lambda value: f"The token's repository owner is {value!r}; the publisher's is {expected!r}.",
    )


def _check_repository_owner_id(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    expected = publisher.repository_owner_id
    return _compare(
        claims,
        "repository_owner_id",
        matches=lambda value: value == expected,
        describe=lambda value: (
            f"The owner {publisher.repository_owner!r} has changed owner id: the token says {value!r}, "
            f"the publisher was registered for {expected!r} (was the account deleted and re-created?)."
        ),
    )


def _check_job_workflow_ref(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    ref = _claim(claims, "job_workflow_ref")
    if isinstance(ref, TokenProblem):
        return ref
    repository = f"{publisher.repository}/"
    workflow = f".github/workflows/{publisher.workflow_filename}@"
    head, rest = ref[: len(repository)], ref[len(repository) :]
    if head.lower() == repository.lower() and rest.startswith(workflow) and len(rest) > len(workflow):
        return None
    return _mismatch(f"The token was issued to workflow {ref!r}; the publisher expects {repository}{workflow}<ref>.")


def _check_github_environment(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    # GitHub environment names are case-insensitive.
    return _check_environment(publisher.environment, claims, fold=str.lower)


def _check_event_name(publisher: GitHubPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    event = _claim(claims, "event_name")
    if isinstance(event, TokenProblem):
        return event
    if event not in FORBIDDEN_GITHUB_EVENTS:
        return None
    return TokenProblem(
        ProblemCode.FORBIDDEN_EVENT,
        f"Tokens from {event!r} workflows are refused: they run code from forks with the base repository's rights.",
    )


def github_lookup(claims: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(owner, repository name)`` lowercased and the workflow filename, to find candidate publishers."""
    repository = _required(claims, "repository")
    owner, slash, name = repository.partition("/")
    if not (owner and slash and name) or "/" in name:
        raise _malformed(f"The token's repository {repository!r} is not of the form OWNER/NAME.")
    ref = _required(claims, "job_workflow_ref")
    match = _GITHUB_WORKFLOW_REF.fullmatch(ref)
    if match is None:
        raise _malformed(
            f"The token's job_workflow_ref {ref!r} is not of the form OWNER/REPO/.github/workflows/FILE@REF."
        )
    return owner.lower(), name.lower(), match["file"]


# -- GitLab -------------------------------------------------------------------


def check_gitlab_claims(
    publisher: GitLabPublisher, claims: Mapping[str, Any], *, issuer_host: str
) -> list[TokenProblem]:
    problems = [
        _check_project_path(publisher, claims),
        _check_ci_config_ref_uri(publisher, claims, issuer_host=issuer_host),
        # GitLab environment names are case-sensitive (Warehouse compares them exactly).
        _check_environment(publisher.environment, claims, fold=str),
    ]
    return [problem for problem in problems if problem is not None]


def _check_project_path(publisher: GitLabPublisher, claims: Mapping[str, Any]) -> TokenProblem | None:
    expected = publisher.project_path
    return _compare(
        claims,
        "project_path",
        matches=lambda value: value.lower() == expected.lower(),
        describe=lambda value: f"The token is for project {value!r}; the publisher is {expected!r}.",
    )


def _check_ci_config_ref_uri(
    publisher: GitLabPublisher, claims: Mapping[str, Any], *, issuer_host: str
) -> TokenProblem | None:
    uri = _claim(claims, "ci_config_ref_uri")
    if isinstance(uri, TokenProblem):
        return uri
    project = f"{issuer_host}/{publisher.project_path}//"
    config = f"{publisher.workflow_filepath}@"
    head, rest = uri[: len(project)], uri[len(project) :]
    if head.lower() == project.lower() and rest.startswith(config) and len(rest) > len(config):
        return None
    return _mismatch(f"The token was issued to CI config {uri!r}; the publisher expects {project}{config}<ref>.")


def gitlab_lookup(claims: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(namespace, project)`` lowercased and the CI config file path, to find candidate publishers."""
    path = _required(claims, "project_path")
    namespace, slash, project = path.rpartition("/")
    if not (namespace and slash and project):
        raise _malformed(f"The token's project_path {path!r} is not of the form NAMESPACE/PROJECT.")
    uri = _required(claims, "ci_config_ref_uri")
    _, separator, config_ref = uri.partition("//")
    filepath, at, ref = config_ref.partition("@")
    if not (separator and at and ref and filepath) or filepath.startswith("/") or filepath.endswith("/"):
        raise _malformed(f"The token's ci_config_ref_uri {uri!r} is not of the form HOST/PROJECT//FILE@REF.")
    return namespace.lower(), project.lower(), filepath


# -- shared -------------------------------------------------------------------


def _check_environment(
    expected: str | None, claims: Mapping[str, Any], *, fold: Callable[[str], str]
) -> TokenProblem | None:
    if not expected:
        return None
    environment = claims.get("environment")
    if not isinstance(environment, str) or not environment:
        return _mismatch(
            f"The token was not issued from a deployment environment; the publisher requires {expected!r}."
        )
    if fold(environment) == fold(expected):
        return None
    return _mismatch(f"The token was issued for environment {environment!r}; the publisher requires {expected!r}.")


def _compare(
    claims: Mapping[str, Any], name: str, *, matches: Callable[[str], bool], describe: Callable[[str], str]
) -> TokenProblem | None:
    value = _claim(claims, name)
    if isinstance(value, TokenProblem):
        return value
    return None if matches(value) else _mismatch(describe(value))


def _claim(claims: Mapping[str, Any], name: str) -> str | TokenProblem:
    """The claim as a non-empty string, or the ``missing-claim`` problem saying it is not one."""
    value = claims.get(name)
    if isinstance(value, str) and value:
        return value
    return TokenProblem(ProblemCode.MISSING_CLAIM, f"The token has no usable {name!r} claim (got {value!r}).")


def _required(claims: Mapping[str, Any], name: str) -> str:
    value = _claim(claims, name)
    if isinstance(value, TokenProblem):
        raise InvalidIdTokenError([value])
    return value


def _mismatch(description: str) -> TokenProblem:
    return TokenProblem(ProblemCode.INVALID_PUBLISHER, description)


def _malformed(description: str) -> InvalidIdTokenError:
    return InvalidIdTokenError.single(ProblemCode.INVALID_TOKEN, description)
