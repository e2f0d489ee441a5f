"""What the subcommands share: the one-line error contract and settings that come from a flag or,
failing that, from a ``BUCKETACCESS_*`` environment variable read only when the command runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from ..durations import parse_duration
from .exit_codes import ExitCode

ENV_PREFIX = "BUCKETACCESS_"
T = TypeVar("T")


class InvalidSetting(Exception):
    """A flag or environment variable whose value cannot be used; the message names it."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage too; the contract is one line, so keep only the message
        fail(message)


def fail(message: str) -> NoReturn:
    print(f"bucketaccess: error: {message}", file=sys.stderr)
    raise SystemExit(ExitCode.InvalidInput)


def setting(flag: T | None, name: str, default: str | None, parse: Callable[[str], T]) -> T | None:
    """The flag's value if given, else ``BUCKETACCESS_<name>``, else ``default``, parsed."""
    if flag is not None:
        return flag
    text = os.environ.get(ENV_PREFIX + name, default)
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        source = f"{ENV_PREFIX}{name}" if ENV_PREFIX + name in os.environ else f"the default of {name}"
        raise InvalidSetting(f"{source}: {exc}") from None


def verbatim(value: str) -> str:
    """A setting taken as it is written (a name, an ARN, a region)."""
    return value


def duration(text: str) -> float:
    return parse_duration(text)


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"{text!r} is not a port number (0-65535)")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{text!r} is not a positive number")
    return value


def positive_number(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def issuer_url(text: str) -> str:
    if not text.startswith("https://") or len(text) <= len("https://"):
        raise ValueError(f"{text!r} is not an https:// OIDC issuer URL")
    return text


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(allowed)}")
        return text

    return parse


def flag_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser that raises ValueError."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert
