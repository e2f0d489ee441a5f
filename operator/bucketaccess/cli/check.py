"""``bucketaccess check``: one verdict, live from AWS, with no operator and no cluster needed
(a kubeconfig only for ``--service-account``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..access import explain, load_scenario
from ..access.intent import UploadIntent
from ..access.render import to_json, to_text
from ..aws import snapshot
from ..aws.errors import AwsError
from ..aws.ports import AwsReader
from ..k8s.settings import CLUSTER_NAME, OIDC_ISSUER
from ..policy import InvalidInput
from .common import READER_SETTINGS, InvalidSetting, add_setting, reader_settings
from .exit_codes import ExitCode, exit_code

if TYPE_CHECKING:
    from ..reconcile.types import WorkloadSession


def _service_account(ref: str) -> tuple[str, str]:
    namespace, _, name = ref.partition("/")
    if not namespace or not name:
        raise ValueError(f"--service-account: {ref!r} is not NAMESPACE/NAME")
    return namespace, name


def _session(
    ref: tuple[str, str], reader: AwsReader, cluster: str | None, issuer: str | None
) -> WorkloadSession:
    """The session the ServiceAccount's pods get, as the operator resolves it (IRSA, then Pod Identity)."""
    # The Kubernetes client is needed only here: imported on use, so `check --role` needs no kubeconfig.
    from ..k8s.irsa import resolve_once
    from ..reconcile import Deps, RoleResolutionError
    from ..reconcile.session import service_account_session

    namespace, name = ref
    deps = Deps(reader=reader, resolve_service_account=resolve_once, cluster_name=cluster, oidc_issuer=issuer)
    try:
        return service_account_session(namespace, name, deps)
    except RoleResolutionError as exc:
        raise ValueError(f"--service-account: {exc.message}") from None


def command(args: argparse.Namespace) -> int:
    try:
        settings = reader_settings(args)
        sa = _service_account(args.service_account) if args.service_account else None
    except (InvalidSetting, ValueError) as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    from ..aws.boto import BotoReader  # boto3 loads only when a live check runs

    reader = BotoReader(
        region=settings.region,
        org_reader_role_arn=settings.org_reader_role_arn,
        account_reader_role_name=settings.account_reader_role_name,
    )
    try:
        session = _session(sa, reader, settings.cluster_name, settings.oidc_issuer) if sa else None
    except ValueError as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.InvalidInput
    except AwsError as exc:
        print(f"bucketaccess: error: {exc.reason}: {exc.message}", file=sys.stderr)
        return ExitCode.Unknown
    intent = UploadIntent(
        role_arn=session.role_arn if session else args.role,
        bucket=args.bucket,
        prefix=args.prefix,
        acl=args.acl,
        sse="aws:kms" if args.kms_key else None,
        kms_key=args.kms_key,
        multipart=args.multipart,
        session=session.session_intent() if session else None,
    )
    try:
        raw = snapshot.take(reader, intent).scenarios[0]
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


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="one verdict, live from AWS, with no operator and no cluster needed")
    who = check.add_mutually_exclusive_group(required=True)
    who.add_argument("--role", help="the IAM role ARN the workload uses")
    who.add_argument(
        "--service-account",
        metavar="NAMESPACE/NAME",
        help="the session this ServiceAccount's pods get: its IRSA annotation, else its EKS Pod Identity "
        "association in --cluster-name (needs a kubeconfig); RoleAssumable checks the trust policy",
    )
    add_setting(check, CLUSTER_NAME, about="the EKS cluster: its Pod Identity associations and OIDC issuer")
    add_setting(check, OIDC_ISSUER, about="IRSA's OIDC issuer URL")
    check.add_argument("--bucket", required=True)
    check.add_argument("--prefix", default="", help="key prefix the workload uploads under")
    check.add_argument(
        "--kms-key", help="the upload sends x-amz-server-side-encryption: aws:kms with this key"
    )
    check.add_argument("--acl", help="the canned ACL the upload sends (x-amz-acl)")
    check.add_argument("--multipart", action="store_true", help="large uploads (kms:Decrypt is needed too)")
    for declared in READER_SETTINGS[:3]:  # region and the two reader roles: their own help
        add_setting(check, declared)
    check.add_argument("--output", "-o", choices=("text", "json"), default="text")
    check.add_argument(
        "--snapshot",
        metavar="FILE",
        help="also write the scenario that was read; `bucketaccess explain FILE` gives the same verdict",
    )
    check.set_defaults(func=command)
