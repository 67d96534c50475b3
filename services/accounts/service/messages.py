"""The text of every email the accounts service sends."""

from __future__ import annotations

from services.accounts.mail import OutgoingEmail


def verify_email(*, to: str, username: str, link: str, hours: int) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Verify your email address", body=(
        f"Hello {username},\n\n"
        f"Confirm that {to} is your address by opening this link within {hours} hours:\n\n{link}\n\n"
        "If you did not create an account, ignore this message.\n"
    ))


def password_reset(*, to: str, username: str, link: str, token: str, hours: int) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Reset your password", body=(
        f"Hello {username},\n\n"
        f"Someone asked to reset the password of this account. Within {hours} hours, choose a new one with\n\n"
        f"  POST {link}\n  {{\"token\": \"{token}\", \"new_password\": \"...\"}}\n\n"
        "The link works once. If you did not ask for this, ignore this message: your password is unchanged.\n"
    ))


def password_changed(*, to: str, username: str) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Your password was changed", body=(
        f"Hello {username},\n\nThe password of your account was just changed, and every session was ended.\n"
        "If this was not you, reset your password now and contact the index's administrators.\n"
    ))


def invitation(*, to: str, username: str, inviter: str, project: str, role: str, link: str) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject=f"Invitation to {project}", body=(
        f"Hello {username},\n\n{inviter} invites you to be {role.lower()} of the project {project}.\n"
        f"Accept or decline it with the account API: {link}\n"
    ))


def two_factor_changed(*, to: str, username: str, enabled: bool) -> OutgoingEmail:
    state = "enabled" if enabled else "disabled"
    return OutgoingEmail(to=to, subject=f"Two-factor authentication {state}", body=(
        f"Hello {username},\n\nTwo-factor authentication was just {state} on your account.\n"
        "If this was not you, reset your password now.\n"
    ))
