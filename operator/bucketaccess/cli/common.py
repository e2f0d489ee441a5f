"""What the subcommands share: the one-line error contract and settings that come from a flag or,
failing that, from a ``BUCKETACCESS_*`` environment variable read only when the command runs.

The settings themselves (flag, variable, parser, default, help) are declared once, in
:mod:`bucketaccess.k8s.settings`; the value parsers are re-exported here for the commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from ..k8s.settings import (
    ACCOUNT_READER_ROLE_NAME,
    CLUSTER_NAME,
    ENV_PREFIX,
    OIDC_ISSUER,
    ORG_READER_ROLE_ARN,
    REGION,
    Choice,
    Setting,
    boolean,
    choice,
    duration,
    issuer_url,
    port,
    positive_int,
    positive_number,
    verbatim,
)
from .exit_codes import ExitCode

__all__ = [
    "InvalidSetting",
    "Parser",
    "add_setting",
    "boolean",
    "choice",
    "duration",
    "fail",
    "flag_type",
    "issuer_url",
    "port",
    "positive_int",
    "positive_number",
    "resolve",
    "setting",
    "verbatim",
]
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


def resolve(declared: Setting[T], flag: T | None) -> T | None:
    """A declared setting's value: the flag's if given, else its variable's, else its default."""
    return declared.given(setting(flag, declared.name, declared.default, declared.parse))


def add_setting(parser: argparse.ArgumentParser, declared: Setting[Any], about: str | None = None) -> None:
    """The flag of a declared setting (``about``: the help's first part, if this command's differs)."""
    kwargs: dict[str, Any] = {"help": declared.help(about)}
    if isinstance(declared.parse, Choice):
        kwargs["choices"] = declared.parse.allowed  # argparse names the choices in its usage and errors
    else:
        kwargs["type"] = flag_type(declared.parse)
    if declared.switch:
        kwargs.update(nargs="?", const="true")
    parser.add_argument(declared.flag, **kwargs)


def flag_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser that raises ValueError."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderSettings:
    """How a one-shot command reads AWS as the operator does (``check``, ``impact``)."""

    region: str | None
    org_reader_role_arn: str | None
    account_reader_role_name: str | None
    cluster_name: str | None
    oidc_issuer: str | None


READER_SETTINGS = (REGION, ORG_READER_ROLE_ARN, ACCOUNT_READER_ROLE_NAME, CLUSTER_NAME, OIDC_ISSUER)


def reader_settings(args: argparse.Namespace) -> ReaderSettings:
    """Their flags, else their environment variables; raises InvalidSetting naming the variable."""
    return ReaderSettings(
        region=resolve(REGION, args.region),
        org_reader_role_arn=resolve(ORG_READER_ROLE_ARN, args.org_reader_role_arn),
        account_reader_role_name=resolve(ACCOUNT_READER_ROLE_NAME, args.account_reader_role_name),
        cluster_name=resolve(CLUSTER_NAME, args.cluster_name),
        oidc_issuer=resolve(OIDC_ISSUER, args.oidc_issuer),
    )
