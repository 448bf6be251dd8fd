"""Exceptions a user can act on: each message names the input and the fix."""


class DbshiftError(Exception):
    """Base for every error dbshift raises on purpose; the CLI prints it as one line."""


class ConfigError(DbshiftError):
    """A setting is missing or invalid."""
