"""Credentials and permissions every service checks: passwords, API tokens, roles."""
