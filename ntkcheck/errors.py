"""One error hierarchy: every misuse is an ``NtkcheckError`` with a one-line message.

Library code raises these for *misuse* (a bad spec, bad data, a problem that
cannot be computed here); failing to certify is a status, never an exception.
The CLI maps every ``NtkcheckError`` to exit code 2 and one clean line.
"""

from __future__ import annotations


class NtkcheckError(Exception):
    """Base class: a one-line message that says what is wrong and how to fix it.

    ``line`` is the spec line the error points at, when known (for CI annotations).
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        # one line, always: a newline from user input (a key, a value) is shown escaped
        super().__init__(message.replace("\r", "\\r").replace("\n", "\\n"))
        self.line = line


class SpecError(NtkcheckError):
    """The YAML spec is malformed or violates the schema."""


class DataError(NtkcheckError):
    """The data or initial-weight files cannot be used."""


class EstimationError(NtkcheckError):
    """The estimate cannot be computed here (e.g. it would not fit in memory)."""
