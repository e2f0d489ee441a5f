"""Exit codes of ``explain`` and ``check``: the verdict, or why there is none."""

from __future__ import annotations

from enum import IntEnum

from ..policy import Decision


class ExitCode(IntEnum):
    Allowed = 0
    Denied = 1  # ImplicitDeny, ExplicitDeny or Rejected
    InvalidInput = 2  # one line on stderr naming the field (or variable), nothing on stdout
    Unknown = 3


def exit_code(decision: Decision) -> ExitCode:
    if decision is Decision.Allowed:
        return ExitCode.Allowed
    if decision is Decision.Unknown:
        return ExitCode.Unknown
    return ExitCode.Denied
