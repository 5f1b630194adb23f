"""The command line: thin wrappers over the library; only this package touches rich."""

from synthgate.cli.main import main

__all__ = ["main"]
