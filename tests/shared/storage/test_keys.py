from __future__ import annotations

import hashlib

import pytest

from shared.storage import blob_key, metadata_key

DIGEST = hashlib.blake2b(b"foo", digest_size=32).hexdigest()


class TestBlobKey:
    def test_lays_out_like_the_public_index(self) -> None:
        key = blob_key(DIGEST, "foo-1.0-py3-none-any.whl")

        assert key == f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST[4:]}/foo-1.0-py3-none-any.whl"

    def test_normalises_upper_case_hex(self) -> None:
        assert blob_key(DIGEST.upper(), "foo-1.0.tar.gz") == blob_key(DIGEST, "foo-1.0.tar.gz")

    @pytest.mark.parametrize("digest", ["", DIGEST[:-1], DIGEST + "0", "g" * 64, "0123abcd" * 5])
    def test_rejects_what_is_not_a_blake2b_256_digest(self, digest: str) -> None:
        with pytest.raises(ValueError):
            blob_key(digest, "foo-1.0.tar.gz")

    @pytest.mark.parametrize("filename", ["", "..", ".", "a/b.whl", "a\\b.whl"])
    def test_rejects_unsafe_filenames(self, filename: str) -> None:
        with pytest.raises(ValueError):
            blob_key(DIGEST, filename)


class TestMetadataKey:
    def test_appends_metadata_suffix(self) -> None:
        key = blob_key(DIGEST, "foo-1.0-py3-none-any.whl")

        assert metadata_key(key) == key + ".metadata"

    def test_rejects_unsafe_keys(self) -> None:
        with pytest.raises(ValueError):
            metadata_key("../foo.whl")
