"""``bucketaccess run | explain | check | demo``.

Exit codes (explain, check): 0 Allowed; 1 ImplicitDeny, ExplicitDeny or Rejected; 2 invalid input
(one line on stderr, nothing on stdout); 3 Unknown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path

from .access import explain, load_scenario, parse_text
from .access.render import to_json, to_text
from .policy import Decision, InvalidInput


class ExitCode(IntEnum):
    Allowed = 0
    Denied = 1
    InvalidInput = 2
    Unknown = 3


def exit_code(decision: Decision) -> ExitCode:
    if decision is Decision.Allowed:
        return ExitCode.Allowed
    if decision is Decision.Unknown:
        return ExitCode.Unknown
    return ExitCode.Denied


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage too; the contract is one line, so keep only the message
        print(f"bucketaccess: error: {message}", file=sys.stderr)
        raise SystemExit(ExitCode.InvalidInput)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def cmd_explain(args: argparse.Namespace) -> int:
    try:
        raw = parse_text(_read(args.file), name=args.file)
        scenario = load_scenario(raw, now=datetime.now(UTC))
    except InvalidInput as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    result = explain(scenario)
    sys.stdout.write(to_json(result) if args.output == "json" else to_text(result))
    return exit_code(result.decision)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bucketaccess", description="Verify and repair every AWS layer behind an S3 upload."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ex = sub.add_parser("explain", help="evaluate an access scenario file offline, with no AWS call")
    ex.add_argument("file", help="scenario JSON or YAML file, or - for standard input")
    ex.add_argument("--output", "-o", choices=("text", "json"), default="text")
    ex.set_defaults(func=cmd_explain)

    from .runner import add_commands  # the commands with I/O live apart from the pure explain path

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
