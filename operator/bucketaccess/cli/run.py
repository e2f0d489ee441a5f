"""``bucketaccess run``: the operator. Every flag may also come from the environment variable in
brackets, read when the command runs (never while the parser is built)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .common import (
    InvalidSetting,
    boolean,
    choice,
    duration,
    flag_type,
    issuer_url,
    port,
    positive_int,
    positive_number,
    setting,
    verbatim,
)
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
    from ..k8s.leader import LeaseTimings
    from ..k8s.verify_now import VerifyNowLimits

    try:
        health_port = setting(args.health_port, "HEALTH_PORT", "8080", port)
        log_level = setting(args.log_level, "LOG_LEVEL", "info", choice("debug", "info", "warning", "error"))
        log_format = setting(args.log_format, "LOG_FORMAT", "plain", choice("plain", "json"))
        cfg = OperatorConfig(
            default_interval_s=setting(args.default_interval, "DEFAULT_INTERVAL", "5m", duration) or 300.0,
            cache_ttl_s=setting(args.cache_ttl, "CACHE_TTL", "20s", duration) or 0.0,
            region=setting(args.region, "REGION", None, verbatim),
            org_reader_role_arn=setting(args.org_reader_role_arn, "ORG_READER_ROLE_ARN", None, verbatim),
            account_reader_role_name=setting(
                args.account_reader_role_name, "ACCOUNT_READER_ROLE_NAME", None, verbatim
            ),
            workers=setting(args.workers, "WORKERS", "16", positive_int) or 16,
            metrics_port=setting(args.metrics_port, "METRICS_PORT", "0", port) or 0,
            namespaces=tuple(args.namespace or ()),
            state_namespace=setting(args.state_namespace, "STATE_NAMESPACE", "bucketaccess-system", verbatim)
            or "bucketaccess-system",
            record_name=setting(args.record_name, "RECORD_NAME", "bucketaccess-managed", verbatim)
            or "bucketaccess-managed",
            cluster_name=setting(args.cluster_name, "CLUSTER_NAME", None, verbatim),
            oidc_issuer=setting(args.oidc_issuer, "OIDC_ISSUER", None, issuer_url),
            leader_election=setting(args.leader_elect, "LEADER_ELECT", "false", boolean) or False,
            lease_name=setting(args.lease_name, "LEASE_NAME", None, verbatim),
            lease=LeaseTimings(
                lease_duration_s=setting(args.lease_duration, "LEASE_DURATION", "15s", duration) or 15.0,
                renew_deadline_s=setting(args.renew_deadline, "RENEW_DEADLINE", "10s", duration) or 10.0,
                retry_period_s=setting(args.retry_period, "RETRY_PERIOD", "2s", duration) or 2.0,
            ),
            verify_now=VerifyNowLimits(
                window_s=setting(args.verify_now_window, "VERIFY_NOW_WINDOW", "5s", duration) or 0.0,
                rate=setting(args.verify_now_rate, "VERIFY_NOW_RATE", "1", positive_number) or 1.0,
                burst=setting(args.verify_now_burst, "VERIFY_NOW_BURST", "10", positive_int) or 10,
            ),
        )
        unsafe = cfg.lease.problem()
        if cfg.leader_election and unsafe:
            raise InvalidSetting(f"--lease-duration, --renew-deadline, --retry-period: {unsafe}")
        unusable = cfg.verify_now.problem()
        if unusable:
            raise InvalidSetting(f"--verify-now-window, --verify-now-rate, --verify-now-burst: {unusable}")
    except InvalidSetting as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    _logging(log_level or "info", log_format or "plain")

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
    run.add_argument(
        "--health-port",
        type=flag_type(port),
        help="port of the /healthz liveness endpoint, 0 turns it off [BUCKETACCESS_HEALTH_PORT] (default 8080)",
    )
    run.add_argument(
        "--default-interval",
        type=flag_type(duration),
        help="verifyInterval of objects that set none [BUCKETACCESS_DEFAULT_INTERVAL] (default 5m)",
    )
    run.add_argument(
        "--cache-ttl",
        type=flag_type(duration),
        help="how old a shared AWS read may be for a pass caused by a change (periodic passes accept their "
        "verifyInterval); 0 turns the cache off [BUCKETACCESS_CACHE_TTL] (default 20s)",
    )
    run.add_argument(
        "--region",
        help="AWS region of the clients [BUCKETACCESS_REGION] (default: the SDK's, e.g. AWS_REGION)",
    )
    run.add_argument(
        "--org-reader-role-arn",
        help="role in the management account to assume for reading SCPs and RCPs [BUCKETACCESS_ORG_READER_ROLE_ARN]",
    )
    run.add_argument(
        "--account-reader-role-name",
        help="role name the operator assumes in another account to read a cross-account workload role "
        "[BUCKETACCESS_ACCOUNT_READER_ROLE_NAME]",
    )
    run.add_argument(
        "--workers",
        type=flag_type(positive_int),
        help="threads that run verification passes [BUCKETACCESS_WORKERS] (default 16)",
    )
    run.add_argument(
        "--metrics-port",
        type=flag_type(port),
        help="port of the Prometheus /metrics endpoint, 0 turns it off [BUCKETACCESS_METRICS_PORT] (default 0)",
    )
    run.add_argument(
        "--state-namespace",
        help="namespace of the ConfigMap that records which buckets and keys the operator manages "
        "[BUCKETACCESS_STATE_NAMESPACE] (default bucketaccess-system)",
    )
    run.add_argument(
        "--record-name",
        help="name of that ConfigMap; give each shard its own [BUCKETACCESS_RECORD_NAME] (default bucketaccess-managed)",
    )
    run.add_argument(
        "--cluster-name",
        help="the EKS cluster the operator runs in: a ServiceAccount without the IRSA annotation is looked up "
        "among its Pod Identity associations, and IRSA's OIDC issuer is read from it [BUCKETACCESS_CLUSTER_NAME]",
    )
    run.add_argument(
        "--oidc-issuer",
        type=flag_type(issuer_url),
        help="the cluster's OIDC issuer URL for IRSA trust checks, instead of reading it from --cluster-name "
        "[BUCKETACCESS_OIDC_ISSUER]",
    )
    run.add_argument(
        "--leader-elect",
        type=flag_type(boolean),
        nargs="?",
        const="true",
        help="run as one of several replicas: only the holder of a Lease (in --state-namespace) verifies "
        "and writes [BUCKETACCESS_LEADER_ELECT] (default false; deploy/ turns it on)",
    )
    run.add_argument(
        "--lease-name",
        help="name of that Lease; give each shard its own [BUCKETACCESS_LEASE_NAME] (default: --record-name)",
    )
    run.add_argument(
        "--lease-duration",
        type=flag_type(duration),
        help="how long a standby waits, from the last renew it saw, before taking the lease over "
        "[BUCKETACCESS_LEASE_DURATION] (default 15s)",
    )
    run.add_argument(
        "--renew-deadline",
        type=flag_type(duration),
        help="how long after its last renew the holder stops writing unless it renewed again; shorter "
        "than --lease-duration [BUCKETACCESS_RENEW_DEADLINE] (default 10s)",
    )
    run.add_argument(
        "--retry-period",
        type=flag_type(duration),
        help="how often the holder renews and a standby tries [BUCKETACCESS_RETRY_PERIOD] (default 2s)",
    )
    run.add_argument(
        "--verify-now-window",
        type=flag_type(duration),
        help="at most one fresh pass per object per window for the s3access.dev/verify annotation; requests "
        "within it are folded into one pass at its end [BUCKETACCESS_VERIFY_NOW_WINDOW] (default 5s)",
    )
    run.add_argument(
        "--verify-now-rate",
        type=flag_type(positive_number),
        help="fresh passes per second each namespace earns for s3access.dev/verify; beyond them passes wait "
        "for their turn [BUCKETACCESS_VERIFY_NOW_RATE] (default 1)",
    )
    run.add_argument(
        "--verify-now-burst",
        type=flag_type(positive_int),
        help="fresh passes a namespace may start at once for s3access.dev/verify "
        "[BUCKETACCESS_VERIFY_NOW_BURST] (default 10)",
    )
    run.add_argument(
        "--log-format",
        choices=("plain", "json"),
        help="plain text or one JSON object per line [BUCKETACCESS_LOG_FORMAT] (default plain)",
    )
    run.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="[BUCKETACCESS_LOG_LEVEL] (default info)",
    )
    run.set_defaults(func=command)
