"""Matching claims against registered GitHub and GitLab publishers."""

from __future__ import annotations

import pytest

from services.accounts.oidc import (
    GitHubPublisher,
    GitLabPublisher,
    InvalidIdTokenError,
    JwksCache,
    TokenProblem,
    check_github_claims,
    check_gitlab_claims,
    github_lookup,
    gitlab_lookup,
    issuer_host,
    verify_id_token,
)
from tests.fixtures.oidc import AUDIENCE, OidcProvider

GITHUB = GitHubPublisher(
    repository_owner="octo-org",
    repository_owner_id="1234",
    repository_name="sampleproject",
    workflow_filename="release.yml",
    environment=None,
)
GITLAB = GitLabPublisher(
    namespace="group", project="sampleproject", workflow_filepath=".gitlab-ci.yml", environment=None
)
WORKFLOW_REF = "octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v1.0"


def only(problems: list[TokenProblem], code: str) -> str:
    """The description of the single problem, after checking its code."""
    assert [str(problem.code) for problem in problems] == [code]
    return problems[0].description


class TestCheckGithubClaims:
    def test_matching_claims_have_no_problems(self, oidc_provider: OidcProvider) -> None:
        assert check_github_claims(GITHUB, oidc_provider.github_claims()) == []

    def test_names_are_compared_case_insensitively(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(
            repository="Octo-Org/SampleProject",
            repository_owner="Octo-Org",
            job_workflow_ref="Octo-Org/SampleProject/.github/workflows/release.yml@refs/tags/v1.0",
        )
        assert check_github_claims(GITHUB, claims) == []

    def test_wrong_repository(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(repository="octo-org/otherproject")
        description = only(check_github_claims(GITHUB, claims), "invalid-publisher")
        assert "repository 'octo-org/otherproject'" in description
        assert "'octo-org/sampleproject'" in description

    def test_wrong_repository_owner(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(repository_owner="evil-org")
        assert "owner is 'evil-org'" in only(check_github_claims(GITHUB, claims), "invalid-publisher")

    def test_changed_owner_id(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(repository_owner_id="666")
        description = only(check_github_claims(GITHUB, claims), "invalid-publisher")
        assert "changed owner id" in description
        assert "'666'" in description and "'1234'" in description

    def test_wrong_workflow(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(
            job_workflow_ref="octo-org/sampleproject/.github/workflows/ci.yml@refs/heads/main"
        )
        description = only(check_github_claims(GITHUB, claims), "invalid-publisher")
        assert "workflow 'octo-org/sampleproject/.github/workflows/ci.yml@refs/heads/main'" in description
        assert "octo-org/sampleproject/.github/workflows/release.yml@<ref>" in description

    def test_workflow_filename_is_case_sensitive(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(job_workflow_ref=WORKFLOW_REF.replace("release.yml", "Release.yml"))
        only(check_github_claims(GITHUB, claims), "invalid-publisher")

    def test_reusable_workflow_from_another_repository(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(
            job_workflow_ref="evil-org/actions/.github/workflows/release.yml@refs/heads/main"
        )
        only(check_github_claims(GITHUB, claims), "invalid-publisher")

    def test_workflow_ref_without_ref(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(job_workflow_ref="octo-org/sampleproject/.github/workflows/release.yml@")
        only(check_github_claims(GITHUB, claims), "invalid-publisher")

    def test_environment_mismatch(self, oidc_provider: OidcProvider) -> None:
        publisher = GitHubPublisher(**{**GITHUB.__dict__, "environment": "pypi"})
        claims = oidc_provider.github_claims(environment="staging")
        description = only(check_github_claims(publisher, claims), "invalid-publisher")
        assert "environment 'staging'" in description
        assert "requires 'pypi'" in description

    def test_missing_environment(self, oidc_provider: OidcProvider) -> None:
        publisher = GitHubPublisher(**{**GITHUB.__dict__, "environment": "pypi"})
        description = only(check_github_claims(publisher, oidc_provider.github_claims()), "invalid-publisher")
        assert "not issued from a deployment environment" in description

    def test_environment_is_case_insensitive(self, oidc_provider: OidcProvider) -> None:
        publisher = GitHubPublisher(**{**GITHUB.__dict__, "environment": "pypi"})
        assert check_github_claims(publisher, oidc_provider.github_claims(environment="PyPI")) == []

    def test_any_environment_when_publisher_names_none(self, oidc_provider: OidcProvider) -> None:
        assert check_github_claims(GITHUB, oidc_provider.github_claims(environment="staging")) == []

    def test_pull_request_target_is_forbidden(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(event_name="pull_request_target")
        description = only(check_github_claims(GITHUB, claims), "forbidden-event")
        assert "'pull_request_target'" in description

    def test_missing_claim(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(repository_owner_id=None)
        assert "'repository_owner_id'" in only(check_github_claims(GITHUB, claims), "missing-claim")

    def test_every_problem_is_reported(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(repository_owner_id="666", event_name="pull_request_target")
        codes = [str(problem.code) for problem in check_github_claims(GITHUB, claims)]
        assert codes == ["invalid-publisher", "forbidden-event"]


class TestCheckGitlabClaims:
    def test_matching_claims_have_no_problems(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.gitlab_claims()
        assert check_gitlab_claims(GITLAB, claims, issuer_host=oidc_provider.host) == []

    def test_names_are_compared_case_insensitively(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.gitlab_claims(
            project_path="Group/SampleProject",
            ci_config_ref_uri=f"{oidc_provider.host}/Group/SampleProject//.gitlab-ci.yml@refs/heads/main",
        )
        assert check_gitlab_claims(GITLAB, claims, issuer_host=oidc_provider.host) == []

    def test_wrong_project(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.gitlab_claims(project_path="group/otherproject")
        description = only(check_gitlab_claims(GITLAB, claims, issuer_host=oidc_provider.host), "invalid-publisher")
        assert "project 'group/otherproject'" in description

    def test_wrong_ci_config(self, oidc_provider: OidcProvider) -> None:
        uri = f"{oidc_provider.host}/group/sampleproject//ci/other.yml@refs/heads/main"
        claims = oidc_provider.gitlab_claims(ci_config_ref_uri=uri)
        description = only(check_gitlab_claims(GITLAB, claims, issuer_host=oidc_provider.host), "invalid-publisher")
        assert f"CI config {uri!r}" in description
        assert "//.gitlab-ci.yml@<ref>" in description

    def test_ci_config_from_another_instance(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.gitlab_claims()
        only(check_gitlab_claims(GITLAB, claims, issuer_host="gitlab.com"), "invalid-publisher")

    def test_environment_mismatch_is_case_sensitive(self, oidc_provider: OidcProvider) -> None:
        publisher = GitLabPublisher(**{**GITLAB.__dict__, "environment": "production"})
        claims = oidc_provider.gitlab_claims(environment="Production")
        description = only(check_gitlab_claims(publisher, claims, issuer_host=oidc_provider.host), "invalid-publisher")
        assert "environment 'Production'" in description

    def test_matching_environment(self, oidc_provider: OidcProvider) -> None:
        publisher = GitLabPublisher(**{**GITLAB.__dict__, "environment": "production"})
        claims = oidc_provider.gitlab_claims(environment="production")
        assert check_gitlab_claims(publisher, claims, issuer_host=oidc_provider.host) == []

    def test_missing_claim(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.gitlab_claims(ci_config_ref_uri=None)
        problems = check_gitlab_claims(GITLAB, claims, issuer_host=oidc_provider.host)
        assert "'ci_config_ref_uri'" in only(problems, "missing-claim")


class TestGithubLookup:
    def test_returns_lowercased_repository_and_workflow(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.github_claims(
            repository="Octo-Org/SampleProject",
            job_workflow_ref="Octo-Org/SampleProject/.github/workflows/Release.yml@refs/tags/v1.0",
        )
        assert github_lookup(claims) == ("octo-org", "sampleproject", "Release.yml")

    def test_missing_repository(self, oidc_provider: OidcProvider) -> None:
        with pytest.raises(InvalidIdTokenError) as caught:
            github_lookup(oidc_provider.github_claims(repository=None))
        assert caught.value.codes == ["missing-claim"]

    def test_malformed_workflow_ref(self, oidc_provider: OidcProvider) -> None:
        with pytest.raises(InvalidIdTokenError) as caught:
            github_lookup(oidc_provider.github_claims(job_workflow_ref="octo-org/sampleproject/release.yml"))
        assert caught.value.codes == ["invalid-token"]
        assert "OWNER/REPO/.github/workflows/FILE@REF" in caught.value.errors[0].description


class TestGitlabLookup:
    def test_returns_lowercased_project_and_config_path(self, oidc_provider: OidcProvider) -> None:
        claims = oidc_provider.gitlab_claims(
            project_path="Group/Sub/SampleProject",
            ci_config_ref_uri="gitlab.com/Group/Sub/SampleProject//ci/Release.yml@refs/tags/v1.0",
        )
        assert gitlab_lookup(claims) == ("group/sub", "sampleproject", "ci/Release.yml")

    def test_malformed_project_path(self, oidc_provider: OidcProvider) -> None:
        with pytest.raises(InvalidIdTokenError) as caught:
            gitlab_lookup(oidc_provider.gitlab_claims(project_path="sampleproject"))
        assert caught.value.codes == ["invalid-token"]

    def test_malformed_ci_config_ref_uri(self, oidc_provider: OidcProvider) -> None:
        with pytest.raises(InvalidIdTokenError) as caught:
            uri = "gitlab.com/group/sampleproject/.gitlab-ci.yml"
            gitlab_lookup(oidc_provider.gitlab_claims(ci_config_ref_uri=uri))
        assert caught.value.codes == ["invalid-token"]


class TestTrustedPublishingFlow:
    async def test_gitlab_token_is_verified_and_matched(
        self, oidc_provider: OidcProvider, oidc_jwks: JwksCache
    ) -> None:
        token = oidc_provider.sign(oidc_provider.gitlab_claims())
        verified = await verify_id_token(token, issuers=[oidc_provider.issuer], audience=AUDIENCE, jwks=oidc_jwks)
        assert gitlab_lookup(verified.claims) == ("group", "sampleproject", ".gitlab-ci.yml")
        host = issuer_host(verified.issuer)
        assert check_gitlab_claims(GITLAB, verified.claims, issuer_host=host) == []
