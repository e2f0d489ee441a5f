"""``bucketaccess explain FILE``: evaluate an access scenario offline, with no AWS call.

Reads no environment variable, so a malformed ``BUCKETACCESS_*`` setting of another command
never changes its answer.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..access import explain, load_scenario, parse_text
from ..access.render import to_json, to_text
from ..policy import InvalidInput
from .exit_codes import ExitCode, exit_code


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def command(args: argparse.Namespace) -> int:
    try:
        raw = parse_text(_read(args.file), name=args.file)
        scenario = load_scenario(raw, now=datetime.now(UTC))
    except InvalidInput as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    result = explain(scenario)
    sys.stdout.write(to_json(result) if args.output == "json" else to_text(result))
    return exit_code(result.decision)


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ex = sub.add_parser("explain", help="evaluate an access scenario file offline, with no AWS call")
    ex.add_argument("file", help="scenario JSON or YAML file (docs/scenario.md), or - for standard input")
    ex.add_argument("--output", "-o", choices=("text", "json"), default="text")
    ex.set_defaults(func=command)
