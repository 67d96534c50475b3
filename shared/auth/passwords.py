"""Password hashing with argon2 (DESIGN.md "Security defaults")."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_PASSWORD_LENGTH = 4096  # argon2 cost grows with input; cap it
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(
            f"Passwords must be between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters long."
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy: tuple[PasswordHasher, str] | None = None


def verify_password_or_waste_time(password_hash: str | None, password: str) -> bool:
    """``verify_password``, but a missing hash still costs one full verification.

    Login answers "unknown user" and "wrong password" alike, in the same time: without
    this, a fast answer would tell an attacker which usernames exist.
    """
    global _dummy
    if password_hash is not None:
        return verify_password(password_hash, password)
    if _dummy is None or _dummy[0] is not _hasher:  # built with the hasher in use (tests swap it)
        _dummy = (_hasher, _hasher.hash("not a real password, only spends the same time"))
    verify_password(_dummy[1], password)
    return False
