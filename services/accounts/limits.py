"""The accounts service's rate limits (429 with Retry-After), counted per client address and,
where an attacker could spread over many addresses, per target account as well."""

from __future__ import annotations

from datetime import timedelta

from shared.ratelimit import RateLimit
from shared.ratelimit.policies import PROJECT_CREATION, TOO_MANY_PROJECTS

__all__ = ["PROJECT_CREATION", "TOO_MANY_PROJECTS"]  # re-exported beside this service's own limits

LOGIN_PER_IP = RateLimit("login-ip", 30, timedelta(minutes=5))
LOGIN_PER_USER = RateLimit("login-user", 10, timedelta(minutes=15))
TWO_FACTOR_PER_USER = RateLimit("2fa-user", 10, timedelta(minutes=15))
REGISTER_PER_IP = RateLimit("register-ip", 5, timedelta(hours=1))
RESET_PER_IP = RateLimit("reset-ip", 10, timedelta(hours=1))
RESET_PER_TARGET = RateLimit("reset-target", 3, timedelta(hours=1))
VERIFY_SEND_PER_USER = RateLimit("verify-send-user", 5, timedelta(hours=1))
MINT_PER_IP = RateLimit("oidc-mint-ip", 100, timedelta(hours=1))

TOO_MANY_LOGINS = "Too many login attempts."
TOO_MANY_2FA = "Too many two-factor attempts."
TOO_MANY_REGISTRATIONS = "Too many accounts registered from this address."
TOO_MANY_RESETS = "Too many password-reset requests."
TOO_MANY_VERIFY = "Too many verification emails requested."
TOO_MANY_MINTS = "Too many token requests from this address."
