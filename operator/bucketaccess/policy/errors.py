"""Invalid input, reported with the path of the offending field first.

The CLI prints ``str(error)`` as its single line on stderr, so the message is lowercase, has no
final period and starts with the field path, the way cedar's CLI reports problems.
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """A document or scenario that cannot be evaluated; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
