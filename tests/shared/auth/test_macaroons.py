from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.auth.macaroons import (
    TOKEN_PREFIX,
    CaveatError,
    MalformedTokenError,
    Restrictions,
    decode,
    derive_root_key,
    looks_like_macaroon,
    mint,
    restrict,
    restrictions,
    verify_signature,
)
from shared.auth.tokens import new_token_secret

TOKEN_ID = "0123456789abcdef0123456789abcdef"
SECRET_KEY = b"server secret key for tests"
ROOT_KEY = derive_root_key(SECRET_KEY, TOKEN_ID)
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _fields(token: str) -> dict[str, Any]:
    body = token.removeprefix(TOKEN_PREFIX)
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _token(fields: dict[str, Any]) -> str:
    return TOKEN_PREFIX + _b64(json.dumps(fields, separators=(",", ":"), sort_keys=True).encode())


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


class TestMint:
    def test_round_trip(self) -> None:
        token = mint(ROOT_KEY, TOKEN_ID, [{"projects": ["alpha"]}, {"exp": 1_900_000_000}])
        macaroon = decode(token)
        assert token.startswith("pypi-") and looks_like_macaroon(token)
        assert macaroon.id == TOKEN_ID
        assert macaroon.caveats == ({"projects": ["alpha"]}, {"exp": 1_900_000_000})
        assert len(macaroon.signature) == 32

    def test_text_is_compact_sorted_json(self) -> None:
        fields = _fields(mint(ROOT_KEY, TOKEN_ID))
        assert fields == {"v": 2, "i": TOKEN_ID, "c": [], "s": fields["s"]}
        assert _token(fields) == mint(ROOT_KEY, TOKEN_ID)

    def test_root_key_depends_on_secret_and_id(self) -> None:
        assert derive_root_key(SECRET_KEY, TOKEN_ID) == ROOT_KEY
        assert derive_root_key(b"other", TOKEN_ID) != ROOT_KEY
        assert derive_root_key(SECRET_KEY, "f" * 32) != ROOT_KEY

    def test_invalid_caveats_are_not_minted(self) -> None:
        with pytest.raises(CaveatError):
            mint(ROOT_KEY, TOKEN_ID, [{"scope": "everything"}])

    @pytest.mark.parametrize("token_id", ["", "0123", TOKEN_ID.upper(), TOKEN_ID + "0"])
    def test_invalid_token_id_is_not_minted(self, token_id: str) -> None:
        with pytest.raises(ValueError, match="32 lowercase hex"):
            mint(ROOT_KEY, token_id)


class TestVerifySignature:
    def test_right_key_verifies(self) -> None:
        assert verify_signature(decode(mint(ROOT_KEY, TOKEN_ID, [{"nbf": 0}])), ROOT_KEY)

    def test_wrong_key_does_not(self) -> None:
        token = mint(ROOT_KEY, TOKEN_ID)
        assert not verify_signature(decode(token), derive_root_key(b"another server", TOKEN_ID))

    def test_dropping_a_caveat_breaks_it(self) -> None:
        fields = _fields(mint(ROOT_KEY, TOKEN_ID, [{"projects": ["alpha"]}, {"exp": 1_900_000_000}]))
        fields["c"] = fields["c"][1:]
        assert not verify_signature(decode(_token(fields)), ROOT_KEY)

    def test_dropping_the_last_caveat_breaks_it(self) -> None:
        fields = _fields(mint(ROOT_KEY, TOKEN_ID, [{"projects": ["alpha"]}, {"exp": 1_900_000_000}]))
        fields["c"] = fields["c"][:1]
        assert not verify_signature(decode(_token(fields)), ROOT_KEY)

    def test_editing_a_caveat_breaks_it(self) -> None:
        fields = _fields(mint(ROOT_KEY, TOKEN_ID, [{"exp": 1_900_000_000}]))
        fields["c"] = [{"exp": 1_900_000_001}]
        assert not verify_signature(decode(_token(fields)), ROOT_KEY)

    def test_changing_the_id_breaks_it(self) -> None:
        fields = _fields(mint(ROOT_KEY, TOKEN_ID))
        fields["i"] = "f" * 32
        macaroon = decode(_token(fields))
        assert not verify_signature(macaroon, ROOT_KEY)
        assert not verify_signature(macaroon, derive_root_key(SECRET_KEY, "f" * 32))

    def test_caveat_order_matters(self) -> None:
        fields = _fields(mint(ROOT_KEY, TOKEN_ID, [{"projects": ["alpha"]}, {"exp": 1_900_000_000}]))
        fields["c"] = fields["c"][::-1]
        assert not verify_signature(decode(_token(fields)), ROOT_KEY)


class TestRestrict:
    def test_restricted_token_still_verifies_with_the_root_key(self) -> None:
        token = restrict(mint(ROOT_KEY, TOKEN_ID), projects=["Alpha_Beta"], expires_at=T0, not_before=T0 - timedelta(1))
        macaroon = decode(token)
        assert verify_signature(macaroon, ROOT_KEY)
        assert macaroon.caveats == ({"projects": ["alpha-beta"]}, {"exp": _ts(T0)}, {"nbf": _ts(T0 - timedelta(1))})

    def test_restricting_twice_chains(self) -> None:
        token = restrict(restrict(mint(ROOT_KEY, TOKEN_ID), projects=["a", "b"]), projects=["b", "c"])
        assert verify_signature(decode(token), ROOT_KEY)
        assert restrictions(decode(token).caveats).projects == frozenset({"b"})

    def test_only_appends(self) -> None:
        original = decode(mint(ROOT_KEY, TOKEN_ID, [{"projects": ["alpha"]}]))
        narrowed = decode(restrict(mint(ROOT_KEY, TOKEN_ID, [{"projects": ["alpha"]}]), expires_at=T0))
        assert narrowed.caveats[: len(original.caveats)] == original.caveats

    def test_project_names_are_normalised_sorted_and_deduplicated(self) -> None:
        token = restrict(mint(ROOT_KEY, TOKEN_ID), projects=("Zeta", "alpha", "ALPHA", "my.pkg"))
        assert decode(token).caveats == ({"projects": ["alpha", "my-pkg", "zeta"]},)

    def test_times_round_towards_the_narrower_token(self) -> None:
        moment = T0 + timedelta(milliseconds=500)
        caveats = decode(restrict(mint(ROOT_KEY, TOKEN_ID), expires_at=moment, not_before=moment)).caveats
        assert caveats == ({"exp": _ts(T0)}, {"nbf": _ts(T0) + 1})

    def test_other_time_zones_are_converted(self) -> None:
        moment = datetime(2030, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
        assert decode(restrict(mint(ROOT_KEY, TOKEN_ID), expires_at=moment)).caveats == ({"exp": _ts(T0)},)

    def test_nothing_to_restrict_is_refused(self) -> None:
        with pytest.raises(CaveatError, match="Nothing to restrict"):
            restrict(mint(ROOT_KEY, TOKEN_ID))

    @pytest.mark.parametrize("projects", [[], ["-bad-"], ["ok", ""], "alpha", [3]])
    def test_invalid_projects_are_refused(self, projects: Any) -> None:
        with pytest.raises(CaveatError):
            restrict(mint(ROOT_KEY, TOKEN_ID), projects=projects)

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(CaveatError, match="timezone-aware"):
            restrict(mint(ROOT_KEY, TOKEN_ID), expires_at=datetime(2030, 1, 1))

    def test_malformed_token_is_refused(self) -> None:
        with pytest.raises(MalformedTokenError):
            restrict("pypi-nonsense", expires_at=T0)


class TestRestrictions:
    def test_no_caveats_means_unrestricted(self) -> None:
        assert restrictions([]) == Restrictions(projects=None, expires_at=None, not_before=None)

    def test_project_caveats_intersect(self) -> None:
        folded = restrictions([{"projects": ["a", "b", "c"]}, {"projects": ["b", "c", "d"]}, {"projects": ["c", "b"]}])
        assert folded.projects == frozenset({"b", "c"})

    def test_disjoint_projects_give_a_token_for_nothing(self) -> None:
        assert restrictions([{"projects": ["a"]}, {"projects": ["b"]}]).projects == frozenset()

    def test_earliest_expiry_wins(self) -> None:
        folded = restrictions([{"exp": _ts(T0) + 10}, {"exp": _ts(T0)}, {"exp": _ts(T0) + 5}])
        assert folded.expires_at == T0 and folded.expires_at.tzinfo is UTC

    def test_latest_not_before_wins(self) -> None:
        folded = restrictions([{"nbf": _ts(T0) - 10}, {"nbf": _ts(T0)}, {"nbf": _ts(T0) - 5}])
        assert folded.not_before == T0 and folded.not_before.tzinfo is UTC

    @pytest.mark.parametrize(
        "caveat",
        [
            {"scope": "upload"},
            {"projects": ["a"], "exp": 1},
            {},
            ["projects", "a"],
            "exp",
            {"projects": []},
            {"projects": "alpha"},
            {"projects": ["Alpha"]},
            {"projects": ["a_b"]},
            {"projects": ["-a"]},
            {"projects": [1]},
            {"exp": "1900000000"},
            {"exp": 1.5},
            {"exp": True},
            {"exp": -1},
            {"exp": 10**20},
            {"nbf": None},
        ],
    )
    def test_unknown_or_invalid_caveats_are_refused(self, caveat: Any) -> None:
        with pytest.raises(CaveatError):
            restrictions([{"projects": ["fine"]}, caveat])

    def test_unknown_caveat_message_says_what_to_use(self) -> None:
        with pytest.raises(CaveatError, match="use 'projects', 'exp' or 'nbf'"):
            restrictions([{"version": 1}])

    def test_permits_checks_time_and_project(self) -> None:
        folded = restrictions([{"projects": ["my-pkg"]}, {"nbf": _ts(T0)}, {"exp": _ts(T0) + 60}])
        assert folded.permits("My_Pkg", now=T0)
        assert folded.permits(None, now=T0 + timedelta(seconds=59))
        assert not folded.permits("other", now=T0)
        assert not folded.permits("my-pkg", now=T0 - timedelta(seconds=1))
        assert not folded.permits("my-pkg", now=T0 + timedelta(seconds=60))


class TestDecode:
    def _valid(self) -> dict[str, Any]:
        return _fields(mint(ROOT_KEY, TOKEN_ID, [{"exp": 1_900_000_000}]))

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "pypi-",
            "pypi-!!!!",
            "pypi-abc=",
            "pypi-a",
            "pypi-" + _b64(b"not json"),
            "pypi-" + _b64(b"\xff\xfe"),
            "pypi-" + _b64(b"[]"),
            "pypi-" + "A" * 5000,
        ],
    )
    def test_garbage_is_refused(self, text: str) -> None:
        with pytest.raises(MalformedTokenError):
            decode(text)
        assert not looks_like_macaroon(text)

    @pytest.mark.parametrize(
        "change",
        [
            {"v": 1},
            {"v": "2"},
            {"v": 2.0},
            {"i": TOKEN_ID.upper()},
            {"i": TOKEN_ID[:-1]},
            {"i": 7},
            {"c": {"exp": 1}},
            {"c": [["exp", 1]]},
            {"c": ["exp"]},
            {"s": _b64(b"x" * 31)},
            {"s": _b64(b"x" * 33)},
            {"s": "not base64!"},
            {"s": 5},
            {"extra": 1},
        ],
    )
    def test_each_malformed_field_is_refused(self, change: dict[str, Any]) -> None:
        with pytest.raises(MalformedTokenError):
            decode(_token(self._valid() | change))

    @pytest.mark.parametrize("field", ["v", "i", "c", "s"])
    def test_missing_field_is_refused(self, field: str) -> None:
        fields = self._valid()
        del fields[field]
        with pytest.raises(MalformedTokenError):
            decode(_token(fields))

    def test_wrong_prefix_is_refused(self) -> None:
        with pytest.raises(MalformedTokenError):
            decode("pypx-" + mint(ROOT_KEY, TOKEN_ID).removeprefix(TOKEN_PREFIX))

    def test_duplicate_keys_and_nan_are_refused(self) -> None:
        body = json.dumps(self._valid(), separators=(",", ":"))
        for bad in (body[:-1] + ',"v":2}', body.replace('{"exp":1900000000}', '{"exp":NaN}')):
            with pytest.raises(MalformedTokenError):
                decode(TOKEN_PREFIX + _b64(bad.encode()))

    def test_non_canonical_base64_is_refused(self) -> None:
        body = json.dumps(self._valid(), separators=(",", ":")).encode()
        body += b" " * ((1 - len(body)) % 3)  # one byte left over: the last character carries 4 unused bits
        canonical = _b64(body)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        twin = canonical[:-1] + alphabet[alphabet.index(canonical[-1]) + 1]
        assert base64.urlsafe_b64decode(twin + "==") == body
        assert decode(TOKEN_PREFIX + canonical).id == TOKEN_ID
        with pytest.raises(MalformedTokenError, match="canonical"):
            decode(TOKEN_PREFIX + twin)

    def test_deeply_nested_json_is_refused(self) -> None:
        body = b'{"c":' + b"[" * 1400 + b"]" * 1400 + b"}"
        with pytest.raises(MalformedTokenError):
            decode(TOKEN_PREFIX + _b64(body))

    def test_legacy_random_tokens_are_not_macaroons(self) -> None:
        assert not looks_like_macaroon(new_token_secret())

    def test_unknown_caveats_decode_but_are_refused_by_restrictions(self) -> None:
        token = _token(self._valid() | {"c": [{"scope": "all"}]})
        with pytest.raises(CaveatError):
            restrictions(decode(token).caveats)
