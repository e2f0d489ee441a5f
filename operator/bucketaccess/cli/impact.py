"""``bucketaccess impact``: which declared uploads a proposed change breaks, before it lands.

Exit codes: 0 nothing that was Ready breaks; 1 something breaks (or, with ``--fail-on-unknown``, a
value known only after apply touches a declared upload); 2 bad input (one line naming the flag or
field); 3 a needed read failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..aws.errors import AwsError
from ..impact.changes import Change, ChangeSet, Kind, Unknown
from ..impact.terraform import PlanError, read_plan
from ..impact.verdicts import Effect, Report, Scenario, assess, dumps, verdict_of
from ..policy import InvalidInput, PolicyKind, parse_policy
from ..resources import ClassSpec
from .common import READER_SETTINGS, InvalidSetting, add_setting, fail, reader_settings
from .exit_codes import ExitCode


def _json(flag: str, path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        fail(f"{flag}: {path}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{flag}: {path}: not JSON ({exc})")


def _document(flag: str, path: str, kind: PolicyKind) -> dict[str, Any]:
    doc = _json(flag, path)
    try:
        parse_policy(doc, path, kind)
    except InvalidInput as exc:
        fail(f"{flag}: {exc}")
    return dict(doc)


def _flags_bpa(flag: str, path: str) -> dict[str, bool]:
    doc = _json(flag, path)
    names = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"}
    if not isinstance(doc, dict) or set(doc) - names or not all(isinstance(v, bool) for v in doc.values()):
        fail(f"{flag}: {path}: an object of booleans named {', '.join(sorted(names))}")
    return {n: bool(doc.get(n, False)) for n in sorted(names)}


@dataclass(frozen=True, slots=True)
class _Flag:
    """One change flag: what it changes, its values (the last is a FILE when it carries a document),
    how that file becomes a document (None: no document), and its help."""

    kind: Kind
    values: tuple[str, ...]
    document: PolicyKind | str | None
    help: str = "repeatable"


_FLAGS: dict[str, _Flag] = {
    "--bucket-policy": _Flag(
        Kind.BucketPolicy, ("BUCKET", "FILE"), PolicyKind.Resource, "the bucket's whole new policy"
    ),
    "--delete-bucket-policy": _Flag(Kind.BucketPolicy, ("BUCKET",), None),
    "--key-policy": _Flag(
        Kind.KeyPolicy, ("KEY_ARN", "FILE"), PolicyKind.Resource, "the key's whole new policy"
    ),
    "--role-policy": _Flag(
        Kind.RolePolicy,
        ("ROLE", "NAME", "FILE"),
        PolicyKind.Identity,
        "a role's inline policy, new or changed (ROLE: ARN or name)",
    ),
    "--delete-role-policy": _Flag(Kind.RolePolicy, ("ROLE", "NAME"), None),
    "--managed-policy": _Flag(
        Kind.ManagedPolicy,
        ("POLICY", "FILE"),
        PolicyKind.Identity,
        "a managed policy's new default version (POLICY: ARN or name)",
    ),
    "--attach-policy": _Flag(
        Kind.Attach, ("ROLE", "POLICY", "FILE"), PolicyKind.Identity, "a managed policy attached to a role"
    ),
    "--detach-policy": _Flag(Kind.Detach, ("ROLE", "POLICY"), None),
    "--trust-policy": _Flag(
        Kind.TrustPolicy, ("ROLE", "FILE"), PolicyKind.Trust, "a role's new trust policy"
    ),
    "--boundary": _Flag(
        Kind.Boundary, ("ROLE", "POLICY", "FILE"), PolicyKind.Identity, "a role's new permissions boundary"
    ),
    "--remove-boundary": _Flag(Kind.Boundary, ("ROLE",), None),
    "--scp": _Flag(Kind.SCP, ("NAME", "FILE"), PolicyKind.Identity, "an SCP's new content (by name)"),
    "--rcp": _Flag(Kind.RCP, ("NAME", "FILE"), PolicyKind.Resource, "an RCP's new content (by name)"),
    "--attach-scp": _Flag(
        Kind.AttachSCP, ("ACCOUNT", "NAME", "FILE"), PolicyKind.Identity, "an SCP attached to an account"
    ),
    "--detach-scp": _Flag(Kind.DetachSCP, ("ACCOUNT", "NAME"), None),
    "--attach-rcp": _Flag(
        Kind.AttachRCP, ("ACCOUNT", "NAME", "FILE"), PolicyKind.Resource, "an RCP attached to an account"
    ),
    "--detach-rcp": _Flag(Kind.DetachRCP, ("ACCOUNT", "NAME"), None),
    "--bucket-public-access-block": _Flag(
        Kind.BucketPublicAccessBlock,
        ("BUCKET", "FILE"),
        "bpa",
        "a bucket's Block Public Access flags (a JSON object of the four flags)",
    ),
    "--account-public-access-block": _Flag(
        Kind.AccountPublicAccessBlock, ("ACCOUNT", "FILE"), "bpa", "an account's Block Public Access flags"
    ),
}


def _change(flag: str, values: list[str]) -> Change:
    kind, how = _FLAGS[flag].kind, _FLAGS[flag].document
    target, *rest = values
    name = rest[0] if len(rest) == 2 else ""
    document: dict[str, Any] | None = None
    if how == "bpa":
        document = _flags_bpa(flag, rest[-1])
    elif isinstance(how, PolicyKind):
        document = _document(flag, rest[-1], how)
    elif rest:
        name = rest[0]  # a deletion or a detachment names the policy, and carries no document
    if kind in (Kind.AttachSCP, Kind.AttachRCP, Kind.DetachSCP, Kind.DetachRCP) and not (
        len(target) == 12 and target.isdigit()
    ):
        fail(f"{flag}: {target!r} is not a 12-digit account id (a snapshot knows accounts, not OUs)")
    return Change(kind=kind, target=target, name=name, document=document, source=flag)


def proposed(args: argparse.Namespace, allow_none: bool = False) -> ChangeSet:
    changes: list[Change | Unknown] = []
    ignored: tuple[str, ...] = ()
    for flag in _FLAGS:
        for values in getattr(args, _dest(flag)) or ():
            changes.append(_change(flag, values))
    if args.terraform_plan:
        try:
            plan = read_plan(_json("--terraform-plan", args.terraform_plan))
        except PlanError as exc:
            fail(f"--terraform-plan: {exc}")
        changes += plan.changes
        ignored = plan.ignored
    if not changes and not ignored and not allow_none:
        fail("no change proposed: give --terraform-plan, --class or at least one change flag (see --help)")
    return ChangeSet(tuple(changes), ignored)


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _snapshots(directory: str) -> dict[str, list[Scenario]]:
    root = Path(directory)
    if not root.is_dir():
        fail(f"--snapshots: {directory}: not a directory")
    out: dict[str, list[Scenario]] = {}
    for path in sorted(root.rglob("*.json")):
        doc = _json("--snapshots", str(path))
        scenarios = doc if isinstance(doc, list) else [doc]
        if not scenarios or not all(isinstance(s, dict) for s in scenarios):
            fail(f"--snapshots: {path}: a scenario object, or a list of them")
        out[str(path.relative_to(root).with_suffix(""))] = scenarios
    if not out:
        fail(f"--snapshots: {directory}: no *.json scenario files")
    return out


def _line(row_name: str, effect: Effect, before: str, after: str) -> str:
    return f"{effect.upper():<9} {row_name}: {before} -> {after}"


def to_text(report: Report) -> str:
    lines = []
    for row in report.rows:
        if row.effect is Effect.Unchanged:
            continue
        before = f"Ready={row.before.ready} {row.before.reason}"
        if row.after is None:
            lines.append(
                _line(row.name, row.effect, before, "not known before apply: " + "; ".join(row.unknown))
            )
            continue
        after = f"Ready={row.after.ready} {row.after.reason}"
        if row.after.layer:
            after += (
                f" ({row.after.layer}" + (f": {row.after.statement}" if row.after.statement else "") + ")"
            )
        lines.append(_line(row.name, row.effect, before, after))
    lines += [f"CONFLICT  {c.message}" for c in report.conflicts]
    if report.ignored:
        lines.append("ignored (cannot change a verdict): " + ", ".join(report.ignored))
    lines.append(report.summary)
    return "\n".join(lines) + "\n"


def _classes(paths: list[str]) -> dict[str, ClassSpec]:
    """``--class FILE``: BucketAccessClass manifests (YAML or JSON), as the platform team would apply them."""
    out: dict[str, ClassSpec] = {}
    for path in paths:
        try:
            docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
        except (OSError, yaml.YAMLError) as exc:
            fail(f"--class: {path}: {exc}")
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "BucketAccessClass":
                fail(f"--class: {path}: kind: not a BucketAccessClass manifest")
            name = (doc.get("metadata") or {}).get("name")
            if not isinstance(name, str) or not name or not isinstance(doc.get("spec"), dict):
                fail(f"--class: {path}: metadata.name and spec are required")
            out[name] = ClassSpec.parse(doc["spec"])
    return out


def _cluster(args: argparse.Namespace, changes: ChangeSet, classes: dict[str, ClassSpec]) -> Report:
    """The declared uploads of the cluster (current kubeconfig), verified as the operator verifies."""
    # Kubernetes and boto3 load only here: `impact --snapshots` needs neither.
    from ..aws.boto import BotoReader
    from ..aws.cache import CachedReader, TTLCache
    from ..k8s.declared import ClusterUnreachable, from_kubeconfig
    from ..k8s.irsa import service_account_resolver
    from ..reconcile import Deps
    from .impact_cluster import ReadFailed, Subjectish, class_rows, evaluate

    try:
        settings = reader_settings(args)
    except InvalidSetting as exc:
        fail(str(exc))
    try:
        api, decls = from_kubeconfig(args.namespace, args.all_namespaces, args.selector, {})
    except ClusterUnreachable as exc:
        raise ReadFailed(str(exc)) from None
    reader = CachedReader(
        BotoReader(
            region=settings.region,
            org_reader_role_arn=settings.org_reader_role_arn,
            account_reader_role_name=settings.account_reader_role_name,
        ),
        TTLCache(3600),
    )
    deps = Deps(
        reader=reader,
        resolve_service_account=service_account_resolver(api),
        cluster_name=settings.cluster_name,
        oidc_issuer=settings.oidc_issuer,
    )
    objects = [
        (
            Subjectish(
                name=d.name,
                bucket=d.subject.spec.bucket,
                role_arn=d.subject.spec.role_arn or d.status.role_arn,
                named_key=d.subject.spec.upload.encryption.kms_key_arn
                if d.subject.spec.upload.encryption
                else None,
                managed_key=d.status.managed.kms_key_arn,
            ),
            d.subject,
        )
        for d in decls
    ]
    try:
        rows = class_rows(objects, classes, deps) if classes else []
        changed = {r.name for r in rows}
        rest = [(o, s) for o, s in objects if o.name not in changed]
        scenarios, outcomes, untouched = (
            evaluate(rest, changes.changes, deps) if changes.changes else ({}, {}, len(rest))
        )
    except AwsError as exc:
        raise ReadFailed(f"{exc.operation or 'a read'}: {exc.code or exc.reason}: {exc.message}") from None
    before = {name: verdict_of(outcome) for name, outcome in outcomes.items()}  # explained once, by verify
    return assess(scenarios, changes, datetime.now(UTC), also=rows, not_evaluated=untouched, before=before)


def command(args: argparse.Namespace) -> int:
    classes = _classes(args.classes or [])
    changes = proposed(args, allow_none=bool(classes))
    if args.snapshots:
        if classes:
            fail("--class: needs the cluster (a snapshot holds no object's spec); leave out --snapshots")
        objects = _snapshots(args.snapshots)
        try:
            report = assess(objects, changes, datetime.now(UTC))
        except InvalidInput as exc:
            fail(f"--snapshots: {exc}")
    else:
        from .impact_cluster import ReadFailed

        try:
            report = _cluster(args, changes, classes)
        except ReadFailed as exc:
            print(f"bucketaccess: error: a needed read failed: {exc}", file=sys.stderr)
            return ExitCode.Unknown
        except InvalidInput as exc:
            print(
                f"bucketaccess: error: AWS returned data the engine cannot evaluate: {exc}", file=sys.stderr
            )
            return ExitCode.Unknown
    sys.stdout.write(dumps(report) if args.output == "json" else to_text(report))
    if report.count(Effect.Breaks) or (args.fail_on_unknown and report.count(Effect.Unknown)):
        return ExitCode.Denied
    return ExitCode.Allowed


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    impact = sub.add_parser(
        "impact",
        help="which declared uploads a proposed AWS change (flags or a Terraform plan) would break",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    impact.add_argument(
        "--snapshots",
        metavar="DIR",
        help="offline: the declared uploads as scenario files (as `check --snapshot` writes them), one per "
        "object, named by path; without it, the cluster's BucketAccess objects (current kubeconfig) and AWS",
    )
    impact.add_argument("--namespace", "-n", help="the objects of this namespace (default: the context's)")
    impact.add_argument("--all-namespaces", "-A", action="store_true", help="the objects of every namespace")
    impact.add_argument("--selector", "-l", help="only objects with these labels (a label selector)")
    impact.add_argument(
        "--class",
        dest="classes",
        action="append",
        metavar="FILE",
        help="a BucketAccessClass manifest as it would be applied: which objects lose admission",
    )
    for declared in READER_SETTINGS:
        add_setting(impact, declared)
    impact.add_argument("--terraform-plan", metavar="FILE", help="`terraform show -json PLANFILE` output")
    for flag, spec in _FLAGS.items():
        add_change: Callable[..., Any] = impact.add_argument
        add_change(flag, nargs=len(spec.values), action="append", metavar=spec.values, help=spec.help)
    impact.add_argument(
        "--fail-on-unknown",
        action="store_true",
        help="exit 1 when a value known only after apply touches an upload",
    )
    impact.add_argument("--output", "-o", choices=("text", "json"), default="text")
    impact.set_defaults(func=command)
