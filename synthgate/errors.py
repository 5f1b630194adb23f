"""The one error type a user sees: bad input or bad config, reported as one line, exit code 2."""


class SynthgateError(Exception):
    """Bad input or config. The message is one line that names the file, column, row or key."""


class ConfigError(SynthgateError):
    """A config key, value or rule that cannot be used; the message starts with the dotted path."""


def check_params(table: str, owner: object, checks: dict[str, tuple[bool, str]]) -> None:
    """Raise the first failed check in the one config-error style: `table.key: must be ALLOWED;
    got VALUE` (a name that is not known: `path: unknown WHAT; available: A, B`)."""
    for key, (ok, allowed) in checks.items():
        if not ok:
            raise ConfigError(f"{table}.{key}: must be {allowed}; got {getattr(owner, key)!r}")
