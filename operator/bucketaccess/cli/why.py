"""``bucketaccess why NAME``: one BucketAccess's layers, as compactly as ``explain -o text``, from
its status (no AWS read: what the operator last found, and when)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..vocabulary import ConditionStatus, ConditionType
from .common import fail
from .exit_codes import ExitCode

_MARK = {ConditionStatus.TRUE: "[ OK ]", ConditionStatus.FALSE: "[FAIL]", ConditionStatus.UNKNOWN: "[ ?? ]"}


def to_text(obj: Mapping[str, Any]) -> str:
    """The status as lines: Ready first, then each condition in the status's order."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    conditions: Sequence[Mapping[str, Any]] = status.get("conditions") or ()
    if not conditions:
        return f"{meta.get('namespace')}/{meta.get('name')}: not verified yet (no status)\n"
    by_type = {c.get("type"): c for c in conditions}
    ready = by_type.get(ConditionType.Ready) or {}
    verified = status.get("lastVerifiedTime") or "never (nothing of it was read in AWS)"
    lines = [
        f"{meta.get('namespace')}/{meta.get('name')}: Ready={ready.get('status')} {ready.get('reason')}"
        f" (last verified {verified})",
        f"  {ready.get('message', '')}",
        "",
    ]
    for c in conditions:
        if c.get("type") == ConditionType.Ready:
            continue
        mark = _MARK.get(ConditionStatus(c.get("status", ConditionStatus.UNKNOWN)), "[ ?? ]")
        lines.append(f"{mark} {c.get('type', ''):<26} {c.get('reason', '')}")
        if c.get("status") != ConditionStatus.TRUE and c.get("message"):
            lines.append(f"       {c['message']}")
    return "\n".join(lines) + "\n"


def command(args: argparse.Namespace) -> int:
    from ..k8s.declared import ClusterUnreachable, read_one

    try:
        obj = read_one(args.namespace, args.name)
    except ClusterUnreachable as exc:
        print(f"bucketaccess: error: {exc}", file=sys.stderr)
        return ExitCode.Unknown
    if obj is None:
        where = args.namespace or "of the current context"
        fail(f"NAME: BucketAccess {args.name} not found in the namespace {where}")
    sys.stdout.write(to_text(obj))
    ready = next(
        (
            c
            for c in (obj.get("status") or {}).get("conditions") or ()
            if c.get("type") == ConditionType.Ready
        ),
        {},
    )
    return ExitCode.Allowed if ready.get("status") == ConditionStatus.TRUE else ExitCode.Denied


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    why = sub.add_parser("why", help="one BucketAccess's layers from its status, as compactly as explain")
    why.add_argument("name", metavar="NAME")
    why.add_argument("--namespace", "-n", help="its namespace (default: the context's)")
    why.set_defaults(func=command)
