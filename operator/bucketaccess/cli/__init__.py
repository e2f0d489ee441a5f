"""``bucketaccess run | explain | check | impact | why``: one module per subcommand, with the exit codes they
share in :mod:`.exit_codes`. Each command reads its environment defaults only when it runs.

Exit codes (explain, check): 0 Allowed; 1 ImplicitDeny, ExplicitDeny or Rejected; 2 invalid input
(one line on stderr, nothing on stdout); 3 Unknown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import check, explain, impact, run, why
from .common import Parser
from .exit_codes import ExitCode, exit_code

__all__ = ["ExitCode", "build_parser", "exit_code", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bucketaccess", description="Verify and repair every AWS layer behind an S3 upload.")
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", required=True, parser_class=Parser
    )
    explain.add(sub)
    check.add(sub)
    impact.add(sub)
    why.add(sub)
    run.add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
