"""``impact`` against a cluster: its declared uploads, read from AWS as the operator reads them.

Only the objects a change may touch are verified (an index from resource to objects: the bucket,
role and key each object names, the key its bucket encrypts with, the managed policies of its role),
through one shared cache, so each AWS resource is read once however many objects share it. Every
read is one the operator's IAM policy already allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..aws.errors import AwsError
from ..aws.ports import AwsReader
from ..impact.changes import Change, Kind, Unknown
from ..impact.verdicts import Row, Scenario, verdict_of
from ..reconcile import Deps, Subject, verify
from ..reconcile.types import Outcome
from ..resources import ClassSpec
from ..vocabulary import ConditionStatus, Reason

_BY_BUCKET = {Kind.BucketPolicy, Kind.BucketPublicAccessBlock}
_BY_KEY = {Kind.KeyPolicy, Kind.KeyDeletion}
_BY_ROLE = {Kind.RolePolicy, Kind.Attach, Kind.Detach, Kind.Boundary, Kind.RoleDeletion, Kind.TrustPolicy}


class ReadFailed(Exception):
    """A read that a verdict needs did not answer (exit 3)."""


@dataclass(frozen=True, slots=True)
class Subjectish:
    """What the index needs of one declared upload (from the cluster, no AWS)."""

    name: str
    bucket: str
    role_arn: str | None
    named_key: str | None
    managed_key: str | None


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def may_touch(obj: Subjectish, change: Change | Unknown, reader: AwsReader) -> bool:
    """Could this change rewrite something the object's verdict consults? Reads only what it must
    (the bucket's default key, the role's managed policies), through the shared cache."""
    if change.kind in _BY_BUCKET:
        return obj.bucket == change.target
    if change.kind in _BY_KEY:
        keys = {k for k in (obj.named_key, obj.managed_key) if k}
        try:
            default = (reader.bucket(obj.bucket).encryption or {}).get("kmsKeyArn")
        except AwsError:
            default = None
        keys |= {str(default)} if default else set()
        return any(k == change.target or k.endswith(f"/{change.target}") for k in keys)
    if change.kind in _BY_ROLE:
        return obj.role_arn is not None and _name(obj.role_arn) == _name(change.target)
    if change.kind is Kind.ManagedPolicy:
        if obj.role_arn is None:
            return False
        try:
            role = reader.role(obj.role_arn)
        except AwsError:
            return True  # cannot tell without the verdict's own read, which reports the failure
        names = {n for n, _ in role.managed} | ({role.boundary[0]} if role.boundary else set())
        return _name(change.target) in names
    return True  # organization policies and account Block Public Access: every account may be under them


def evaluate(
    objects: Sequence[tuple[Subjectish, Subject]],
    changes: Iterable[Change | Unknown],
    deps: Deps,
) -> tuple[dict[str, list[Scenario]], dict[str, Outcome], int]:
    """The scenarios of every object a change may touch, verified as the operator verifies;
    and how many objects no change touches (not read at all). Raises ReadFailed."""
    wanted = list(changes)
    scenarios: dict[str, list[Scenario]] = {}
    outcomes: dict[str, Outcome] = {}
    untouched = 0
    for obj, subject in objects:
        if not any(may_touch(obj, c, deps.reader) for c in wanted):
            untouched += 1
            continue
        outcome = verify(subject, deps)
        outcomes[obj.name] = outcome
        if outcome.snapshot is not None:
            scenarios[obj.name] = [dict(s) for s in outcome.snapshot.scenarios]
            continue
        if outcome.admission is not None and not outcome.admission.admitted:
            untouched += 1  # not admitted: nothing of it is evaluated in AWS, no AWS change breaks it
            continue
        failed = next((c for c in outcome.conditions if c.status is ConditionStatus.UNKNOWN), None)
        raise ReadFailed(
            f"{obj.name}: {failed.reason}: {failed.message}" if failed else f"{obj.name}: not evaluated"
        )
    return scenarios, outcomes, untouched


def class_rows(
    objects: Sequence[tuple[Subjectish, Subject]], proposed: dict[str, ClassSpec], deps: Deps
) -> list[Row]:
    """Objects of a changed class: their verdict with the class as it is and as proposed."""
    rows = []
    for obj, subject in objects:
        name = subject.spec.class_name
        if name not in proposed:
            continue
        before = verify(subject, deps)
        after = verify(replace(subject, class_spec=proposed[name]), deps)
        for outcome in (before, after):
            if outcome.admission is not None and outcome.admission.admitted and outcome.snapshot is None:
                failed = next((c for c in outcome.conditions if c.status is ConditionStatus.UNKNOWN), None)
                if failed is not None and failed.reason in (Reason.AWSUnavailable, Reason.CannotEvaluate):
                    raise ReadFailed(f"{obj.name}: {failed.reason}: {failed.message}")
        rows.append(
            Row(
                name=obj.name,
                before=verdict_of(before),
                after=verdict_of(after),
                touched=(f"BucketAccessClass {name}",),
            )
        )
    return rows
