"""CLI commands with I/O: ``run`` (the operator), ``check`` (one live verdict), ``demo``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from .durations import parse_duration

ENV_PREFIX = "BUCKETACCESS_"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name, default)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def cmd_run(args: argparse.Namespace) -> int:
    import kopf

    from .k8s import handlers  # registers the handlers with Kopf
    from .k8s.config import OperatorConfig

    del handlers
    _logging(args.log_level, args.log_format)
    cfg = OperatorConfig(
        default_interval_s=args.default_interval,
        cache_ttl_s=args.cache_ttl,
        region=args.region,
        org_reader_role_arn=args.org_reader_role_arn,
        account_reader_role_name=args.account_reader_role_name,
        workers=args.workers,
        metrics_port=args.metrics_port,
        namespaces=tuple(args.namespace or ()),
    )
    kopf.run(
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace or (),
        liveness_endpoint=f"http://0.0.0.0:{args.health_port}/healthz" if args.health_port else None,
        memo=kopf.Memo(config=cfg),
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .access import explain, load_scenario
    from .access.intent import UploadIntent
    from .access.render import to_json, to_text
    from .aws import snapshot
    from .aws.boto import BotoReader
    from .aws.errors import AwsError
    from .cli import ExitCode, exit_code
    from .policy import InvalidInput

    try:
        role = args.role or _role_from_service_account(args.service_account)
    except ValueError as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    intent = UploadIntent(
        role_arn=role,
        bucket=args.bucket,
        prefix=args.prefix,
        acl=args.acl,
        sse="aws:kms" if args.kms_key else None,
        kms_key=args.kms_key,
        multipart=args.multipart,
    )
    try:
        reader = BotoReader(
            region=args.region,
            org_reader_role_arn=args.org_reader_role_arn,
            account_reader_role_name=args.account_reader_role_name,
        )
        snap = snapshot.take(reader, intent)
        raw = snap.scenarios[0]
        result = explain(load_scenario(raw, datetime.now(UTC)))
    except AwsError as exc:
        print(f"bucketaccess: error: {exc.reason}: {exc.message}", file=sys.stderr)
        return ExitCode.Unknown
    except InvalidInput as exc:
        print(f"bucketaccess: error: AWS returned data the engine cannot evaluate: {exc}", file=sys.stderr)
        return ExitCode.Unknown
    if args.snapshot:
        Path(args.snapshot).write_text(json.dumps(raw, indent=2) + "\n")
    sys.stdout.write(to_json(result) if args.output == "json" else to_text(result))
    return exit_code(result.decision)


def _role_from_service_account(ref: str) -> str:
    from kubernetes.client.rest import ApiException

    from .k8s.handlers import kube_api, service_account_resolver
    from .reconciler import RoleResolutionError

    namespace, _, name = ref.partition("/")
    if not namespace or not name:
        raise ValueError(f"--service-account: {ref!r} is not NAMESPACE/NAME")
    try:
        return str(service_account_resolver(kube_api())(namespace, name))
    except RoleResolutionError as exc:
        raise ValueError(f"--service-account: {exc.message}") from None
    except (ApiException, OSError) as exc:
        raise ValueError(f"--service-account: cannot reach the cluster: {exc}") from None


def cmd_demo(args: argparse.Namespace) -> int:
    from .devenv.demo import run_demo  # development tooling: needs the dev extras (make demo installs them)

    return run_demo(once=args.once)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        help="watch only this namespace (repeat for more); default: all namespaces",
    )
    run.add_argument(
        "--health-port",
        type=int,
        default=int(_env("HEALTH_PORT", "8080") or 8080),
        help="port of the /healthz liveness endpoint, 0 turns it off [BUCKETACCESS_HEALTH_PORT] (default 8080)",
    )
    run.add_argument(
        "--default-interval",
        type=_duration,
        default=_duration(_env("DEFAULT_INTERVAL", "5m") or "5m"),
        help="verifyInterval of objects that set none [BUCKETACCESS_DEFAULT_INTERVAL] (default 5m)",
    )
    run.add_argument(
        "--cache-ttl",
        type=_duration,
        default=_duration(_env("CACHE_TTL", "20s") or "20s"),
        help="how old a shared AWS read may be for a pass caused by a change (periodic passes accept their verifyInterval); 0 turns the cache off [BUCKETACCESS_CACHE_TTL] (default 20s)",
    )
    run.add_argument(
        "--region",
        default=_env("REGION"),
        help="AWS region of the clients [BUCKETACCESS_REGION] (default: the SDK's, e.g. AWS_REGION)",
    )
    run.add_argument(
        "--org-reader-role-arn",
        default=_env("ORG_READER_ROLE_ARN"),
        help="role in the management account to assume for reading SCPs and RCPs [BUCKETACCESS_ORG_READER_ROLE_ARN]",
    )
    run.add_argument(
        "--account-reader-role-name",
        default=_env("ACCOUNT_READER_ROLE_NAME"),
        help="role name the operator assumes in another account to read a cross-account workload role [BUCKETACCESS_ACCOUNT_READER_ROLE_NAME]",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", "16") or 16),
        help="threads that run verification passes [BUCKETACCESS_WORKERS] (default 16)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=int(_env("METRICS_PORT", "0") or 0),
        help="port of the Prometheus /metrics endpoint, 0 turns it off [BUCKETACCESS_METRICS_PORT] (default 0)",
    )
    run.add_argument(
        "--log-format",
        choices=("plain", "json"),
        default=_env("LOG_FORMAT", "plain"),
        help="plain text or one JSON object per line [BUCKETACCESS_LOG_FORMAT] (default plain)",
    )
    run.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "info"),
        choices=("debug", "info", "warning", "error"),
        help="[BUCKETACCESS_LOG_LEVEL] (default info)",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="one verdict, live from AWS, with no operator and no cluster needed")
    who = check.add_mutually_exclusive_group(required=True)
    who.add_argument("--role", help="the IAM role ARN the workload uses")
    who.add_argument(
        "--service-account",
        metavar="NAMESPACE/NAME",
        help="read the role from this ServiceAccount's IRSA annotation (needs a kubeconfig)",
    )
    check.add_argument("--bucket", required=True)
    check.add_argument("--prefix", default="", help="key prefix the workload uploads under")
    check.add_argument(
        "--kms-key", help="the upload sends x-amz-server-side-encryption: aws:kms with this key"
    )
    check.add_argument("--acl", help="the canned ACL the upload sends (x-amz-acl)")
    check.add_argument("--multipart", action="store_true", help="large uploads (kms:Decrypt is needed too)")
    check.add_argument("--region", default=_env("REGION"))
    check.add_argument("--org-reader-role-arn", default=_env("ORG_READER_ROLE_ARN"))
    check.add_argument("--account-reader-role-name", default=_env("ACCOUNT_READER_ROLE_NAME"))
    check.add_argument("--output", "-o", choices=("text", "json"), default="text")
    check.add_argument(
        "--snapshot",
        metavar="FILE",
        help="also write the scenario that was read; `bucketaccess explain FILE` gives the same verdict",
    )
    check.set_defaults(func=cmd_check)

    demo = sub.add_parser("demo", help="local control plane + local AWS endpoint + the operator + samples")
    demo.add_argument(
        "--once", action="store_true", help="print the status once and exit, stopping everything"
    )
    demo.set_defaults(func=cmd_demo)
