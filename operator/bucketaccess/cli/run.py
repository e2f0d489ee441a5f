"""``bucketaccess run``: the operator. Every flag may also come from the environment variable in
brackets, read when the command runs (never while the parser is built). The flags are the
settings declared in :mod:`bucketaccess.k8s.settings`, and ``--namespace``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from ..k8s.settings import HEALTH_PORT, LOG_FORMAT, LOG_LEVEL, SETTINGS, Setting, build
from .common import InvalidSetting, add_setting, resolve
from .exit_codes import ExitCode


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def _logging(level: str, form: str) -> None:
    handler = logging.StreamHandler()
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(_JsonFormatter() if form == "json" else plain)
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
    if level.lower() != "debug":
        # Kopf logs one line per handled watch event and aiohttp one per health probe: at
        # thousands of objects that would be most of the log and a good part of the CPU.
        for noisy in ("kopf.objects", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def command(args: argparse.Namespace) -> int:
    from ..k8s.config import OperatorConfig

    try:
        values: dict[Setting[Any], Any] = {
            declared: resolve(declared, getattr(args, declared.dest)) for declared in SETTINGS
        }
        cfg = build(OperatorConfig, values, namespaces=tuple(args.namespace or ()))
        unsafe = cfg.lease.problem()
        if cfg.leader_election and unsafe:
            raise InvalidSetting(f"--lease-duration, --renew-deadline, --retry-period: {unsafe}")
        unusable = cfg.verify_now.problem()
        if unusable:
            raise InvalidSetting(f"--verify-now-window, --verify-now-rate, --verify-now-burst: {unusable}")
    except InvalidSetting as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    _logging(values[LOG_LEVEL], values[LOG_FORMAT])
    health_port = values[HEALTH_PORT]

    # Kopf is imported here, not at module level: explain and check never load it.
    import kopf

    from ..k8s import handlers

    del handlers  # imported for its registrations with Kopf
    kopf.run(
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace or (),
        liveness_endpoint=f"http://0.0.0.0:{health_port}/healthz" if health_port else None,
        memo=kopf.Memo(config=cfg),
    )
    return 0


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="run the operator against the current kubeconfig",
        description="Run the operator. Every flag can also be set by the environment variable in brackets.",
    )
    run.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch only this namespace (names or globs; repeat for more); default: all namespaces",
    )
    for declared in SETTINGS:
        add_setting(run, declared)
    run.set_defaults(func=command)
