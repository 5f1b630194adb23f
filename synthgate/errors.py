"""The one error type a user sees: bad input or bad config, reported as one line, exit code 2."""


class SynthgateError(Exception):
    """Bad input or config. The message is one line that names the file, column, row or key."""


class ConfigError(SynthgateError):
    """A config key, value or rule that cannot be used; the message starts with the dotted path."""
