"""The pass, against the in-memory AWS: what is written, and the conditions, reasons and Events
that come out, for mode by role exists by foreign statements by peers by refusal by write failure.

No process and no network: every case runs in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from bucketaccess.aws.cache import TTLCache
from bucketaccess.aws.errors import AwsError, AwsUnavailable
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.grants.plan import BUCKET_SID
from bucketaccess.reconcile import Deps, Outcome, Peer, Subject, WriteDeps, release, run_pass
from bucketaccess.resources import BucketAccessSpec, ClassSpec, Managed

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
PEER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/peer"
GHOST = f"arn:aws:iam::{ACCOUNT}:role/ghost"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "uploads"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
NO_PUT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
FOREIGN = [
    {
        "Sid": "AuditorRead",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    },
    {
        "Sid": "DenyInsecure",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
]
BIG_FOREIGN = [
    {
        "Sid": f"Filler{i}",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/{'x' * 900}{i}/*",
    }
    for i in range(22)
]


def class_spec(bucket_policy: str = "Manage", kms: str = "Observe") -> ClassSpec:
    return ClassSpec.parse(
        {
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "buckets": [BUCKET],
            "prefixes": ["*"],
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/*"],
            "reconcile": {"bucketPolicy": bucket_policy, "kmsKeyUsers": kms},
        }
    )


def subject(role: str = ROLE, cls: ClassSpec | None = None, name: str = "ba", prefix: str = "in/") -> Subject:
    return Subject(
        namespace="team-a",
        name=name,
        spec=BucketAccessSpec.parse(
            {"className": "c", "bucket": BUCKET, "prefix": prefix, "role": {"arn": role}}
        ),
        class_spec=cls if cls is not None else class_spec(),
        namespace_labels={"team": "a"},
    )


def peer(role: str = PEER_ROLE, prefix: str = "in/", cls: ClassSpec | None = None, **fields: Any) -> Peer:
    s = subject(role, cls, name=f"peer-{role.rsplit('/', 1)[-1]}", prefix=prefix)
    return Peer(
        namespace=s.namespace,
        name=s.name,
        spec=s.spec,
        role_arn=role,
        class_spec=s.class_spec,
        namespace_labels=s.namespace_labels,
        **{"verified": True, **fields},
    )


@dataclass
class World:
    aws: MemoryAws = field(default_factory=MemoryAws)
    finalized: int = 0
    cache: TTLCache = field(default_factory=lambda: TTLCache(0))
    shared: WriteDeps | None = None

    def run(self, s: Subject, peers: list[Peer] | None = None) -> Outcome:
        def before_write(own: Any) -> None:
            self.finalized += 1

        return run_pass(s, lambda key: list(peers or ()), self.deps(), self.writes(), before_write)

    def deps(self) -> Deps:
        return Deps(reader=self.aws, resolve_service_account=lambda ns, n: ROLE, now=lambda: NOW)

    def writes(self) -> WriteDeps:
        if self.shared is None:  # one per process, as in the operator
            self.shared = WriteDeps(writer=self.aws, cache=self.cache)
        return self.shared

    def policy(self) -> dict[str, Any]:
        text = self.aws.buckets[BUCKET].policy
        return json.loads(text) if text else {}

    def ours(self) -> list[dict[str, Any]]:
        return [s for s in self.policy().get("Statement", []) if BUCKET_SID.match(s.get("Sid", ""))]


def world(*, role: bool = True, foreign: list[dict[str, Any]] | None = None, peers: bool = False) -> World:
    w = World()
    if role:
        w.aws.add_role(ROLE, NO_PUT)
    if peers:
        w.aws.add_role(PEER_ROLE, NO_PUT)
    w.aws.add_bucket(BUCKET, {"Version": "2012-10-17", "Statement": foreign} if foreign else None)
    return w


def cond(outcome: Outcome, type_: str) -> tuple[str, str]:
    found = next(c for c in (outcome.ready, *outcome.conditions) if c.type == type_)
    return str(found.status), str(found.reason)


def principals(statement: dict[str, Any]) -> set[str]:
    aws = statement["Principal"]["AWS"]
    return {aws} if isinstance(aws, str) else set(aws)


@pytest.mark.parametrize(
    ("mode", "role", "foreign", "with_peer", "writes", "reconciled", "ready", "events"),
    [
        pytest.param(
            "Manage",
            True,
            None,
            False,
            ["s3:PutBucketPolicy"],
            ("True", "GrantsInPlace"),
            ("True", "UploadAllowed"),
            ["GrantedBucketAccess"],
            id="manage-role-exists-empty-policy-grants-and-becomes-ready",
        ),
        pytest.param(
            "Manage",
            True,
            FOREIGN,
            False,
            ["s3:PutBucketPolicy"],
            ("True", "GrantsInPlace"),
            ("True", "UploadAllowed"),
            ["GrantedBucketAccess"],
            id="manage-foreign-statements-kept-grant-appended",
        ),
        pytest.param(
            "Manage",
            True,
            None,
            True,
            ["s3:PutBucketPolicy"],
            ("True", "GrantsInPlace"),
            ("True", "UploadAllowed"),
            ["GrantedBucketAccess"],
            id="manage-with-peer-one-statement-for-both-roles",
        ),
        pytest.param(
            "Observe",
            True,
            FOREIGN,
            False,
            [],
            ("True", "ObserveOnly"),
            ("False", "NoAllowInIdentityPolicy"),
            [],
            id="observe-writes-nothing-and-reports-the-cause",
        ),
        pytest.param(
            "Manage",
            False,
            None,
            False,
            [],
            ("False", "RoleNotFound"),
            ("False", "RoleNotFound"),
            [],
            id="manage-role-missing-no-write-reconciled-false",
        ),
        pytest.param(
            "Manage",
            False,
            FOREIGN,
            True,
            [],
            ("False", "RoleNotFound"),
            ("False", "RoleNotFound"),
            [],
            id="manage-role-missing-with-peers-writes-nothing-for-anyone",
        ),
        pytest.param(
            "Observe",
            False,
            None,
            False,
            [],
            ("True", "ObserveOnly"),
            ("False", "RoleNotFound"),
            [],
            id="observe-role-missing-reports-it",
        ),
    ],
)
def test_pass_by_mode_role_foreign_and_peers(
    mode: str,
    role: bool,
    foreign: list[dict[str, Any]] | None,
    with_peer: bool,
    writes: list[str],
    reconciled: tuple[str, str],
    ready: tuple[str, str],
    events: list[str],
) -> None:
    w = world(role=role, foreign=foreign, peers=with_peer)
    before = w.aws.buckets[BUCKET].policy
    outcome = w.run(subject(cls=class_spec(mode)), [peer()] if with_peer else [])

    assert [x.operation for x in w.aws.writes] == writes
    assert cond(outcome, "Reconciled") == reconciled
    assert cond(outcome, "Ready") == ready
    assert [str(e.reason) for e in outcome.events] == events
    assert w.finalized == (1 if writes else 0)  # the finalizer goes on before the first write only
    if not writes:
        assert w.aws.buckets[BUCKET].policy == before
        return
    statements = w.policy()["Statement"]
    # foreign statements: byte for byte, in their order, before ours
    assert [json.dumps(s) for s in statements[: len(foreign or [])]] == [json.dumps(s) for s in foreign or []]
    (ours,) = w.ours()
    assert ours["Effect"] == "Allow" and ours["Resource"] == f"arn:aws:s3:::{BUCKET}/in/*"
    assert principals(ours) == ({ROLE, PEER_ROLE} if with_peer else {ROLE})
    assert outcome.managed == Managed(bucket=BUCKET, bucket_policy_sid=ours["Sid"])


def test_a_second_pass_in_the_steady_state_writes_nothing() -> None:
    w = world(foreign=FOREIGN)
    w.run(subject())
    written = len(w.aws.writes)
    outcome = w.run(subject())
    assert len(w.aws.writes) == written
    assert cond(outcome, "Reconciled") == ("True", "GrantsInPlace")
    assert "no change needed" in next(c.message for c in outcome.conditions if c.type == "Reconciled")
    assert outcome.events == ()


def test_a_peer_whose_role_is_missing_is_left_out_of_the_grant() -> None:
    w = world()
    w.run(subject(), [peer(GHOST, role_missing=True)])
    (ours,) = w.ours()
    assert principals(ours) == {ROLE}


def test_a_peer_not_admitted_by_its_class_is_left_out() -> None:
    w = world(peers=True)
    other_class = ClassSpec.parse(
        {"buckets": ["elsewhere-*"], "roles": ["*"], "reconcile": {"bucketPolicy": "Manage"}}
    )
    w.run(subject(), [peer(cls=other_class)])
    (ours,) = w.ours()
    assert principals(ours) == {ROLE}


@pytest.mark.parametrize(
    ("change", "reason", "reads"),
    [
        pytest.param(
            {"namespace": "other", "namespace_labels": {"team": "b"}},
            "NamespaceNotAdmitted",
            0,
            id="namespace",
        ),
        pytest.param({"class_spec": None}, "ClassNotFound", 0, id="no-class"),
        pytest.param({"bucket": "secrets"}, "BucketNotAdmitted", 0, id="another-teams-bucket"),
        pytest.param(
            {"role": "arn:aws:iam::999988887777:role/victim"}, "RoleNotAdmitted", 0, id="another-teams-role"
        ),
        # a named key the class does not list may still be the bucket's default: one read of the
        # (admitted) bucket decides, and nothing of the key is read
        pytest.param({"key": KEY}, "KMSKeyNotAdmitted", 1, id="another-teams-key"),
    ],
)
def test_a_request_not_admitted_reads_nothing_in_aws_and_says_so(
    change: dict[str, Any], reason: str, reads: int
) -> None:
    w = world(foreign=FOREIGN)
    w.aws.add_bucket("secrets", {"Version": "2012-10-17", "Statement": FOREIGN})
    spec: dict[str, Any] = {"className": "c", "bucket": change.get("bucket", BUCKET), "prefix": "in/"}
    spec["role"] = {"arn": change.get("role", ROLE)}
    if "key" in change:
        spec["upload"] = {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": change["key"]}}
    s = replace(
        subject(),
        spec=BucketAccessSpec.parse(spec),
        **{k: v for k, v in change.items() if k in ("namespace", "namespace_labels", "class_spec")},
    )
    outcome = w.run(s)
    assert w.aws.writes == [] and w.aws.reads == reads
    assert cond(outcome, "Admitted") == ("False", reason)
    assert cond(outcome, "Reconciled") == ("False", "NotAdmitted")
    layers = [c for c in outcome.conditions if c.type not in ("Admitted", "Reconciled")]
    assert layers and all((c.status, c.reason) == ("Unknown", "NotAdmitted") for c in layers)
    assert cond(outcome, "Ready") == ("False", reason)
    said = " ".join(c.message for c in (outcome.ready, *outcome.conditions))
    assert "AuditorRead" not in said and "DenyInsecure" not in said and outcome.snapshot is None


def test_a_named_key_that_is_the_buckets_default_is_admitted_and_evaluated() -> None:
    w = world()
    w.aws.buckets[BUCKET].encryption = {"algorithm": "aws:kms", "kmsKeyArn": KEY, "bucketKeyEnabled": False}
    spec = {
        "className": "c",
        "bucket": BUCKET,
        "prefix": "in/",
        "role": {"arn": ROLE},
        "upload": {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": KEY}},
    }
    outcome = w.run(replace(subject(), spec=BucketAccessSpec.parse(spec)))
    assert cond(outcome, "Admitted") == ("True", "AdmittedByClass")
    assert outcome.snapshot is not None and outcome.snapshot.default_key_arn == KEY
    assert all(
        c.reason != "NotAdmitted" for c in outcome.conditions if c.type not in ("Admitted", "Reconciled")
    )


def test_a_policy_over_the_size_limit_is_refused_and_says_nothing_was_written() -> None:
    w = world(foreign=BIG_FOREIGN)
    outcome = w.run(subject())
    assert w.aws.writes == []
    status, reason = cond(outcome, "Reconciled")
    assert (status, reason) == ("False", "PolicySizeLimit")
    message = next(c.message for c in outcome.conditions if c.type == "Reconciled")
    assert "nothing was written" in message and "20480" in message


def test_a_write_aws_refuses_is_reported_not_raised() -> None:
    w = world(foreign=FOREIGN)
    w.aws.fail(
        "s3:PutBucketPolicy",
        AwsError("Invalid principal", code="MalformedPolicy", status=400, operation="s3:PutBucketPolicy"),
    )
    outcome = w.run(subject())
    assert w.aws.writes == []
    assert cond(outcome, "Reconciled") == ("False", "WriteFailed")
    message = next(c.message for c in outcome.conditions if c.type == "Reconciled")
    assert "MalformedPolicy" in message and "nothing was written" not in message
    assert json.loads(w.aws.buckets[BUCKET].policy or "")["Statement"] == FOREIGN


def test_aws_unavailable_during_the_write_escapes_for_the_scheduler_to_retry() -> None:
    w = world()
    w.aws.fail("s3:PutBucketPolicy", AwsUnavailable("throttled", code="SlowDown", status=503))
    with pytest.raises(AwsUnavailable):
        w.run(subject())
    assert w.aws.writes == []


def test_the_fake_refuses_a_principal_that_does_not_exist_as_aws_does() -> None:
    w = world()
    with pytest.raises(AwsError) as refused:
        w.aws.put_bucket_policy(
            BUCKET,
            json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": GHOST},
                            "Action": "s3:PutObject",
                            "Resource": "*",
                        }
                    ]
                }
            ),
        )
    assert refused.value.code == "MalformedPolicy"


def test_a_write_another_writer_undoes_is_not_verified_and_says_it_was_written() -> None:
    w = world()
    put = w.aws.put_bucket_policy

    def racing_put(bucket: str, text: str) -> None:
        put(bucket, text)
        w.aws.buckets[bucket].policy = json.dumps({"Version": "2012-10-17", "Statement": FOREIGN})

    w.aws.put_bucket_policy = racing_put  # type: ignore[method-assign]
    outcome = w.run(subject())
    assert cond(outcome, "Reconciled") == ("False", "WriteNotVerified")
    message = next(c.message for c in outcome.conditions if c.type == "Reconciled")
    assert "written" in message and "nothing was written" not in message


@pytest.mark.parametrize(
    ("kms", "operation", "event"),
    [
        pytest.param(
            "KeyPolicy", "kms:PutKeyPolicy", "AddedKMSKeyUser", id="keypolicy-adds-a-key-user-statement"
        ),
        pytest.param("Grant", "kms:CreateGrant", "AddedKMSKeyUser", id="grant-creates-a-grant"),
    ],
)
def test_kms_key_users_for_the_bucket_default_key(kms: str, operation: str, event: str) -> None:
    w = world()
    # Grant mode needs the Bucket Key: the grant is limited to this bucket's encryption context
    w.aws.buckets[BUCKET].encryption = {
        "algorithm": "aws:kms",
        "kmsKeyArn": KEY,
        "bucketKeyEnabled": kms == "Grant",
    }
    w.aws.add_key(KEY)
    # the account's IAM policies are trusted by the default key policy, so add nothing there:
    # the role may not use the key until the operator makes it a key user
    w.aws.keys[KEY].policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "KeyAdmins",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": ["kms:PutKeyPolicy", "kms:DescribeKey"],
                    "Resource": "*",
                }
            ],
        }
    )
    before = cond(World(aws=w.aws).run(subject(cls=class_spec("Observe", "Observe"))), "KMSKeyUsable")
    assert before == ("False", "NotAKeyUser")
    outcome = w.run(subject(cls=class_spec("Observe", kms)))
    assert [x.operation for x in w.aws.writes] == [operation]
    assert cond(outcome, "KMSKeyUsable")[0] == "True"
    assert cond(outcome, "Reconciled") == ("True", "GrantsInPlace")
    assert event in [str(e.reason) for e in outcome.events]
    assert outcome.managed is not None and outcome.managed.kms_key_arn == KEY


def test_release_removes_only_this_objects_principal_then_the_statement() -> None:
    w = world(foreign=FOREIGN, peers=True)
    mine = w.run(subject(), [peer()])
    assert mine.managed is not None
    release(subject(), mine.managed, [peer()], w.writes(), uid="uid-1")
    (ours,) = w.ours()
    assert principals(ours) == {PEER_ROLE}
    release(subject(PEER_ROLE, name="peer-peer"), mine.managed, [], w.writes(), uid="uid-2")
    assert w.ours() == [] and w.policy()["Statement"] == FOREIGN


def test_release_of_the_last_grant_deletes_an_otherwise_empty_policy() -> None:
    w = world()
    mine = w.run(subject())
    assert mine.managed is not None
    release(subject(), mine.managed, [], w.writes(), uid="uid-1")
    assert w.aws.buckets[BUCKET].policy is None
    assert w.aws.writes[-1].operation == "s3:DeleteBucketPolicy"


def test_a_verdict_read_before_another_pass_wrote_is_not_published() -> None:
    """Another pass grants this role while this one is reading: the first verdict (no grant)
    is older than that write, so the pass reads again and publishes the granted state."""
    w = world()
    grant = {
        "Sid": "BucketAccessPeer",
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/in/*",
    }
    read_bucket = w.aws.bucket
    calls = []

    def bucket_then_peer_writes(name: str) -> Any:
        info = read_bucket(name)
        calls.append(name)
        if len(calls) == 1:  # the peer's write lands right after this pass read the old policy
            w.aws.buckets[BUCKET].policy = json.dumps({"Version": "2012-10-17", "Statement": [grant]})
            w.cache.invalidate("bucket", BUCKET)
        return info

    w.aws.bucket = bucket_then_peer_writes  # type: ignore[method-assign]
    outcome = w.run(subject(cls=class_spec("Observe")))
    assert len(calls) == 2
    assert cond(outcome, "BucketPolicyAllows")[0] == "True"
    assert cond(outcome, "Ready") == ("True", "UploadAllowed")


def test_a_verdict_read_after_the_last_write_is_published_at_once() -> None:
    w = world()
    w.cache.invalidate("bucket", BUCKET)  # a write long before this pass
    reads = w.aws.reads
    w.run(subject(cls=class_spec("Observe")))
    assert w.aws.reads - reads == 2  # role and bucket, once each


def test_a_role_joining_a_statement_is_a_grant_not_a_restore() -> None:
    w = world(peers=True)
    w.run(subject())
    outcome = w.run(subject(PEER_ROLE, name="second"), [peer(ROLE)])
    reasons = [str(e.reason) for e in outcome.events]
    assert reasons == ["GrantedBucketAccess"]
    assert PEER_ROLE in outcome.events[0].message and ROLE + "," not in outcome.events[0].message


def test_a_managed_statement_edited_outside_is_put_back_with_a_warning() -> None:
    w = world()
    w.run(subject())
    policy = w.policy()
    policy["Statement"][0]["Action"] = "s3:*"  # someone widened our statement by hand
    w.aws.buckets[BUCKET].policy = json.dumps(policy)
    outcome = w.run(subject())
    assert [(str(e.type), str(e.reason)) for e in outcome.events] == [("Warning", "RestoredManagedStatement")]
    assert w.ours()[0]["Action"] == "s3:PutObject"


def test_a_principal_slipped_into_our_statement_is_removed_with_a_warning() -> None:
    w = world()
    w.aws.add_role(PEER_ROLE, NO_PUT)
    w.run(subject())
    policy = w.policy()
    policy["Statement"][0]["Principal"] = {"AWS": [ROLE, PEER_ROLE]}  # an intruder, by hand
    w.aws.buckets[BUCKET].policy = json.dumps(policy)
    outcome = w.run(subject())
    assert principals(w.ours()[0]) == {ROLE}
    assert ("Warning", "RestoredManagedStatement") in [(str(e.type), str(e.reason)) for e in outcome.events]


def test_a_pass_of_an_object_released_meanwhile_writes_nothing() -> None:
    w = world()
    s = subject()
    s = replace(s, uid="u1")
    w.writes().release("u1")  # its cleanup ran while this pass was on its way
    outcome = w.run(s)
    assert w.aws.writes == []
    assert w.ours() == []
    assert outcome.managed is not None and outcome.managed.bucket_policy_sid is None


def spec_subject(**spec: Any) -> Subject:
    s = subject()
    raw = {"className": "c", "bucket": BUCKET, "prefix": "in/", "role": {"arn": ROLE}, **spec}
    return replace(s, spec=BucketAccessSpec.parse(raw))


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        pytest.param({"actions": ["s3:DeleteObject"]}, "ActionNotAdmitted", id="delete-object"),
        pytest.param(
            {"actions": ["s3:PutObjectRetention", "s3:BypassGovernanceRetention"]},
            "ActionNotAdmitted",
            id="retention",
        ),
        pytest.param({"actions": ["s3:GetObject"]}, "ActionNotAdmitted", id="get-object"),
        pytest.param({"upload": {"acl": "public-read"}}, "ACLNotAdmitted", id="public-read"),
        pytest.param(
            {"upload": {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": KEY}}},
            "KMSKeyNotAdmitted",
            id="any-kms-key",
        ),
    ],
)
def test_a_hostile_request_is_verified_and_reported_but_never_written(
    spec: dict[str, Any], reason: str
) -> None:
    w = world(foreign=FOREIGN)
    w.aws.add_key(KEY)
    before = w.aws.buckets[BUCKET].policy
    outcome = w.run(spec_subject(**spec))
    assert w.aws.writes == []
    assert w.aws.buckets[BUCKET].policy == before
    assert cond(outcome, "Admitted") == ("False", reason)
    assert cond(outcome, "Reconciled") == ("False", "NotAdmitted")


def test_an_admitted_acl_is_granted_only_under_a_condition_on_that_acl() -> None:
    w = world()
    outcome = w.run(spec_subject(upload={"acl": "bucket-owner-full-control"}))
    assert cond(outcome, "Reconciled") == ("True", "GrantsInPlace")
    by_action = {s["Action"]: s for s in w.ours()}
    assert set(by_action) == {"s3:PutObject", "s3:PutObjectAcl"}
    assert "Condition" not in by_action["s3:PutObject"]
    assert by_action["s3:PutObjectAcl"]["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}
    }
    assert (
        outcome.managed is not None and outcome.managed.bucket_policy_sid == by_action["s3:PutObject"]["Sid"]
    )
    assert cond(outcome, "Ready") == ("True", "UploadAllowed")


def test_a_role_arn_whose_path_names_another_role_is_not_found_and_never_written() -> None:
    w = world()
    w.aws.add_role(f"arn:aws:iam::{ACCOUNT}:role/victim", NO_PUT)  # at path /
    trick = f"arn:aws:iam::{ACCOUNT}:role/team-a-path/victim"  # IAM would read "victim" by name
    outcome = w.run(subject(trick))
    assert w.aws.writes == []
    assert cond(outcome, "IdentityPolicyAllows") == ("False", "RoleNotFound")
    assert cond(outcome, "Reconciled") == ("False", "RoleNotFound")


def fill(w: World, room: int) -> None:
    """Foreign statements that leave ``room`` bytes (within a few) under the 20 KB limit."""
    filler: list[dict[str, Any]] = []

    def size() -> int:
        return len(json.dumps({"Version": "2012-10-17", "Statement": filler}, separators=(",", ":")))

    i = 0
    while 20 * 1024 - size() > room:
        pad = max(1, min(300, 20 * 1024 - size() - room - 150))
        filler.append(
            {
                "Sid": f"F{i}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/{'x' * pad}/*",
            }
        )
        i += 1
    w.aws.buckets[BUCKET].policy = json.dumps(
        {"Version": "2012-10-17", "Statement": filler}, separators=(",", ":")
    )


LONG = "a-prefix-too-long-to-fit/" * 12


def test_a_full_policy_keeps_existing_grants_and_refuses_only_the_newcomer() -> None:
    w = world(peers=True)
    fill(w, room=350)
    first = w.run(subject(prefix="a/"))  # fits: first come, first served
    assert cond(first, "Reconciled") == ("True", "GrantsInPlace")
    granted = w.policy()
    late = w.run(
        subject(PEER_ROLE, name="late", prefix=LONG),
        [peer(ROLE, prefix="a/")],
    )
    assert cond(late, "Reconciled")[:2] == ("False", "PolicySizeLimit")
    assert w.policy() == granted  # nothing evicted, nothing added
    assert late.managed is not None and late.managed.bucket_policy_sid is None


def test_a_removal_is_written_even_when_another_grant_does_not_fit() -> None:
    w = world(peers=True)
    fill(w, room=350)
    mine = w.run(subject(prefix="a/"))
    assert mine.managed is not None and w.ours() != []
    # the object goes while another, not yet granted, asks for more than there is room for
    waiting = peer(PEER_ROLE, prefix=LONG)
    release(subject(prefix="a/"), mine.managed, [waiting], w.writes(), uid="gone")
    assert w.ours() == []  # the departed principal was removed
    assert w.aws.writes[-1].operation == "s3:PutBucketPolicy"


def capped(limit: int) -> ClassSpec:
    return ClassSpec.parse(
        {
            "namespaceSelector": {},
            "buckets": [BUCKET],
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/*"],
            "reconcile": {"bucketPolicy": "Manage"},
            "limits": {"objectsPerNamespacePerBucket": limit},
        }
    )


def test_a_namespace_over_its_share_of_a_bucket_is_refused_and_the_earliest_keep_theirs() -> None:
    w = world(peers=True)
    third = f"arn:aws:iam::{ACCOUNT}:role/third"
    w.aws.add_role(third, NO_PUT)
    cls = capped(2)

    def who(role: str, created: str, prefix: str) -> Peer:
        p = peer(role, prefix=prefix, cls=cls)
        return Peer(
            namespace=p.namespace,
            name=p.name,
            spec=p.spec,
            role_arn=role,
            class_spec=cls,
            namespace_labels=p.namespace_labels,
            uid=created,
            created=created,
            verified=True,
        )

    first, second = who(ROLE, "2026-01-01T00:00:00Z", "a/"), who(PEER_ROLE, "2026-01-02T00:00:00Z", "b/")
    late = subject(third, cls=cls, name="late", prefix="c/")
    late = replace(late, uid="z", created="2026-01-03T00:00:00Z")
    outcome = w.run(late, [first, second])
    assert cond(outcome, "Admitted") == ("False", "NamespaceShareExceeded")
    assert cond(outcome, "Reconciled") == ("False", "NotAdmitted")
    assert w.aws.writes == []
    # a pass of the earliest plans both earliest grants, and never the late one's
    w.aws.roles.pop(third)  # (so that a wrong grant would not even be writable)
    w.aws.add_role(third, NO_PUT)
    earliest = Subject(
        namespace=first.namespace,
        name=first.name,
        spec=first.spec,
        class_spec=cls,
        namespace_labels=first.namespace_labels,
        uid=first.uid,
        created=first.created,
    )
    late_peer = who(third, late.created, "c/")
    w.run(earliest, [second, late_peer])
    assert {p for s in w.ours() for p in principals(s)} == {ROLE, PEER_ROLE}


def test_the_sweep_removes_a_principal_whose_object_is_gone_and_keeps_the_rest() -> None:
    from bucketaccess.reconcile import sweep

    w = world(foreign=FOREIGN, peers=True)
    w.run(subject(), [peer()])  # both granted
    # this object's finalizer was removed by hand and it was deleted: only the peer is left
    applied, holds = sweep(bucket=BUCKET, peers=[peer()], writes=w.writes())
    assert holds and [a.wrote for a in applied] == [True]
    (ours,) = w.ours()
    assert principals(ours) == {PEER_ROLE}
    assert w.policy()["Statement"][: len(FOREIGN)] == FOREIGN
    # and once nobody is left, nothing of ours is, and the caller may forget the bucket
    applied, holds = sweep(bucket=BUCKET, peers=[], writes=w.writes())
    assert not holds and w.ours() == [] and w.policy()["Statement"] == FOREIGN


def test_the_sweep_of_a_bucket_that_is_gone_lets_it_be_forgotten() -> None:
    from bucketaccess.reconcile import sweep

    w = world()
    del w.aws.buckets[BUCKET]
    _, holds = sweep(bucket=BUCKET, peers=[], writes=w.writes())
    assert not holds and w.aws.writes == []


def test_grant_mode_without_a_bucket_key_creates_no_unconstrained_grant() -> None:
    w = world()
    w.aws.buckets[BUCKET].encryption = {"algorithm": "aws:kms", "kmsKeyArn": KEY, "bucketKeyEnabled": False}
    w.aws.add_key(KEY)
    outcome = w.run(subject(cls=class_spec("Observe", "Grant")))
    assert w.aws.writes == [] and w.aws.keys[KEY].grants == []
    assert cond(outcome, "Reconciled") == ("False", "GrantNeedsBucketKey")


def test_a_granted_key_is_usable_only_for_its_bucket() -> None:
    w = world()
    w.aws.buckets[BUCKET].encryption = {"algorithm": "aws:kms", "kmsKeyArn": KEY, "bucketKeyEnabled": True}
    w.aws.add_key(
        KEY,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Admins",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": ["kms:PutKeyPolicy", "kms:DescribeKey"],
                    "Resource": "*",
                }
            ],
        },
    )
    w.run(subject(cls=class_spec("Observe", "Grant")))
    (grant,) = w.aws.keys[KEY].grants
    assert grant["Constraints"] == {"EncryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{BUCKET}"}}


def test_a_bucket_action_is_granted_on_the_bucket_arn_limited_to_the_prefix() -> None:
    w = world()
    w.aws.roles[ROLE].inline = {}
    cls = ClassSpec.parse(
        {
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "buckets": [BUCKET],
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/*"],
            "actions": ["s3:PutObject", "s3:ListBucket"],
            "reconcile": {"bucketPolicy": "Manage"},
        }
    )
    s = spec_subject(actions=["s3:ListBucket"])
    s = replace(s, class_spec=cls)
    outcome = w.run(s)
    by_resource = {st["Resource"]: st for st in w.ours()}
    assert by_resource[f"arn:aws:s3:::{BUCKET}/in/*"]["Action"] == "s3:PutObject"
    listing = by_resource[f"arn:aws:s3:::{BUCKET}"]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "in/*"}}
    assert cond(outcome, "Ready") == ("True", "UploadAllowed")  # the grant written is the grant verified


def test_bucket_management_actions_are_never_granted_whatever_the_class_says() -> None:
    w = world(foreign=FOREIGN)
    cls = ClassSpec.parse(
        {
            "namespaceSelector": {},
            "buckets": [BUCKET],
            "prefixes": ["*"],
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/*"],
            "actions": ["s3:*"],
            "reconcile": {"bucketPolicy": "Manage"},
        }
    )
    s = spec_subject(prefix="", actions=["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock"])
    s = replace(s, class_spec=cls, namespace_labels={})
    outcome = w.run(s)
    assert w.aws.writes == []
    assert cond(outcome, "Admitted") == ("False", "ActionNotAdmitted")


def test_a_cleanup_on_a_full_policy_completes() -> None:
    w = world(peers=True)
    fill(w, room=350)
    mine = w.run(subject(prefix="a/"))
    assert mine.managed is not None
    waiting = peer(PEER_ROLE, prefix=LONG)  # does not fit, and waits
    first = release(subject(prefix="a/"), mine.managed, [waiting], w.writes(), uid="gone")
    again = release(subject(prefix="a/"), mine.managed, [waiting], w.writes(), uid="gone")
    assert [a.refusal for a in first + again] == [None, None]  # done: the finalizer may go


def test_a_sweep_that_cannot_write_keeps_the_bucket_on_the_record() -> None:
    from bucketaccess.reconcile import sweep

    w = world(peers=True)
    w.run(subject(), [peer()])
    w.aws.fail(
        "s3:GetBucketPolicy",
        AwsError("denied", code="AccessDenied", status=403, operation="s3:GetBucketPolicy"),
    )
    applied, holds = sweep(bucket=BUCKET, peers=[], writes=w.writes())
    assert holds and [str(a.refusal) for a in applied] == ["WriteFailed"]
    assert principals(w.ours()[0]) == {ROLE, PEER_ROLE}  # nothing changed, and nothing forgotten


def test_a_role_that_cannot_be_read_is_never_written_as_a_principal() -> None:
    w = world()
    w.aws.fail(
        "iam:GetRole", AwsError("denied", code="AccessDenied", status=403, operation="iam:GetRole"), times=5
    )
    outcome = w.run(subject())
    assert w.aws.writes == []
    assert cond(outcome, "IdentityPolicyAllows")[0] == "Unknown"
    assert cond(outcome, "Reconciled")[0] == "False"


def test_an_object_its_own_pass_has_not_verified_is_not_planned_by_another() -> None:
    w = world(peers=True)
    unverified = peer(verified=False)
    w.run(subject(), [unverified])
    assert principals(w.ours()[0]) == {ROLE}


def test_two_passes_together_plan_each_other_instead_of_undoing_each_others_grant() -> None:
    w = world(peers=True)
    x = replace(subject(name="x"), uid="ux")
    y = replace(subject(PEER_ROLE, name="y"), uid="uy")
    w.run(x)  # its status is not written yet: the store has nothing verified about it
    w.run(y, [peer(ROLE, verified=False, uid="ux")])
    assert principals(w.ours()[0]) == {ROLE, PEER_ROLE}


def test_a_public_acl_is_not_admitted_where_block_public_access_would_refuse_it() -> None:
    w = world()
    w.aws.buckets[BUCKET].ownership = "ObjectWriter"
    w.aws.buckets[BUCKET].public_access_block = {"BlockPublicAcls": True}
    cls = ClassSpec.parse(
        {
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "buckets": [BUCKET],
            "roles": [f"arn:aws:iam::{ACCOUNT}:role/*"],
            "acls": ["public-read", "bucket-owner-full-control"],
            "reconcile": {"bucketPolicy": "Manage"},
        }
    )
    s = spec_subject(upload={"acl": "public-read"})
    s = replace(s, class_spec=cls)
    outcome = w.run(s)
    assert w.aws.writes == []
    assert cond(outcome, "Admitted") == ("False", "ACLNotAdmitted")
    assert "Block Public Access" in next(c.message for c in outcome.conditions if c.type == "Admitted")


def test_a_hand_edit_the_sweep_puts_back_is_named_for_the_objects_it_concerns() -> None:
    from bucketaccess.reconcile import owners, sweep

    w = world(peers=True)
    w.run(subject(), [peer()])
    policy = w.policy()
    sid = policy["Statement"][0]["Sid"]
    policy["Statement"][0]["Action"] = "s3:*"
    w.aws.buckets[BUCKET].policy = json.dumps(policy)
    mine = peer(ROLE)  # the object of the first pass, as the store sees it
    applied, _ = sweep(bucket=BUCKET, peers=[peer(), mine], writes=w.writes())
    assert [a.edited for a in applied] == [(sid,)]
    assert {p.role_arn for p in owners(BUCKET, [peer(), mine])[sid]} == {ROLE, PEER_ROLE}
    assert w.ours()[0]["Action"] == "s3:PutObject"


def _burst_member(i: int, cls: ClassSpec, *, verified: bool) -> tuple[Subject, Peer]:
    role = f"arn:aws:iam::{ACCOUNT}:role/burst-{i}"
    s = replace(
        subject(role, cls=cls, name=f"burst-{i}", prefix=f"b{i}/"),
        uid=f"uid-{i}",
        created="2026-01-01T00:00:00Z",
    )
    p = Peer(
        namespace=s.namespace,
        name=s.name,
        spec=s.spec,
        role_arn=role,
        class_spec=cls,
        namespace_labels=s.namespace_labels,
        uid=s.uid,
        created=s.created,
        verified=verified,
    )
    return s, p


@pytest.mark.parametrize("order", [[7, 6, 5, 4, 3, 2, 1, 0], [3, 0, 6, 1, 5, 2, 7, 4], list(range(8))])
def test_a_burst_past_the_object_share_never_holds_more_than_the_share(order: list[int]) -> None:
    """Eight objects created at once, limit 3, passes in any order while none is confirmed yet:
    at no write do more than three hold grants, and the three first in rank keep theirs."""
    w = world()
    cls = capped(3)
    members = [_burst_member(i, cls, verified=False) for i in range(8)]
    for s, _ in members:
        w.aws.add_role(str(s.spec.role_arn), NO_PUT)
    most = 0
    outcomes = {}
    for i in order:
        s, _ = members[i]
        store = [p for j, (_, p) in enumerate(members) if j != i]  # the others, not yet confirmed
        outcomes[i] = w.run(s, store)
        most = max(most, len({r for st in w.ours() for r in principals(st)}))
    assert most <= 3
    held = {r for st in w.ours() for r in principals(st)}
    assert held == {f"arn:aws:iam::{ACCOUNT}:role/burst-{i}" for i in range(3)}
    assert {
        i for i, o in outcomes.items() if cond(o, "Admitted") == ("False", "NamespaceShareExceeded")
    } == set(range(3, 8))
    assert w.finalized == 3  # no finalizer for an object over its share


def test_a_namespace_past_its_byte_share_is_refused_and_another_namespace_still_gets_its_grant() -> None:
    w = world()
    cls = class_spec()
    hog = []
    for i in range(12):
        role = f"arn:aws:iam::{ACCOUNT}:role/hog-{i}"
        w.aws.add_role(role, NO_PUT)
        s = replace(subject(role, name=f"hog-{i}", prefix=f"{i:02d}/" + "p" * 1000 + "/"), uid=f"h{i}")
        hog.append(s)
    other_role = f"arn:aws:iam::{ACCOUNT}:role/other"
    w.aws.add_role(other_role, NO_PUT)
    other = replace(subject(other_role, name="other", prefix="other/"), namespace="team-b", uid="o")
    other_peer = Peer(
        namespace="team-b",
        name="other",
        spec=other.spec,
        role_arn=other_role,
        class_spec=cls,
        namespace_labels={"team": "a"},
        uid="o",
        verified=True,
    )
    assert cond(w.run(other), "Reconciled") == ("True", "GrantsInPlace")
    confirmed: list[Peer] = [other_peer]
    refused = []
    for s in hog:
        outcome = w.run(s, confirmed)
        if cond(outcome, "Admitted") == ("False", "PolicyShareExceeded"):
            refused.append(outcome)
            continue
        assert cond(outcome, "Reconciled") == ("True", "GrantsInPlace")
        confirmed.append(
            Peer(
                namespace=s.namespace,
                name=s.name,
                spec=s.spec,
                role_arn=s.spec.role_arn,
                class_spec=cls,
                namespace_labels=s.namespace_labels,
                uid=s.uid,
                verified=True,
                holds=True,
            )
        )
    assert refused, "twelve 1 KB prefixes fit in half a bucket policy"
    size = len(json.dumps(w.policy(), separators=(",", ":")))
    hogged = sum(
        len(json.dumps(st, separators=(",", ":"))) for st in w.ours() if other_role not in principals(st)
    )
    assert size <= 20 * 1024 and hogged <= 20 * 1024 // 2
    message = next(c for c in refused[0].conditions if c.type == "Admitted").message
    assert "fair share" in message and "divided among 2 namespace(s)" in message
    # the other namespace's next grant still fits
    late_role = f"arn:aws:iam::{ACCOUNT}:role/other-late"
    w.aws.add_role(late_role, NO_PUT)
    late = replace(subject(late_role, name="late", prefix="late/"), namespace="team-b", uid="ol")
    assert cond(w.run(late, confirmed), "Reconciled") == ("True", "GrantsInPlace")


def test_the_sweep_keeps_a_grant_a_pass_wrote_before_its_status_reached_the_store() -> None:
    """A pass writes its grant, then its status: in between, the store still shows the object
    unverified. A sweep then must plan it as the pass did, not revoke the grant it just made
    (an upload denied until the object's next pass puts it back)."""
    from bucketaccess.reconcile import sweep

    w = world(peers=True)
    earlier = peer(PEER_ROLE, uid="u-earlier")  # verified, its grant in place
    w.run(replace(subject(), uid="u-new"), [earlier])
    assert principals(w.ours()[0]) == {ROLE, PEER_ROLE}
    unconfirmed = peer(ROLE, uid="u-new", verified=False)  # its status not written yet
    applied, holds = sweep(bucket=BUCKET, peers=[earlier, unconfirmed], writes=w.writes())
    assert holds and [a.wrote for a in applied] == [False]
    assert principals(w.ours()[0]) == {ROLE, PEER_ROLE}


def test_an_object_gone_from_the_cluster_is_planned_by_no_later_pass_or_sweep() -> None:
    """Deleted with no cleanup of its own (a finalizer removed by hand): the sweep takes its
    principal out, and no other object's pass puts it back from what this process last planned."""
    from bucketaccess.reconcile import sweep

    w = world(peers=True)
    w.run(replace(subject(), uid="u-gone"))
    w.run(replace(subject(PEER_ROLE, name="stays"), uid="u-stays"), [peer(ROLE, uid="u-gone")])
    assert principals(w.ours()[0]) == {ROLE, PEER_ROLE}
    w.writes().forget("u-gone")  # its DELETED event
    stays = peer(PEER_ROLE, uid="u-stays")
    sweep(bucket=BUCKET, peers=[stays], writes=w.writes())
    assert principals(w.ours()[0]) == {PEER_ROLE}
    w.run(replace(subject(PEER_ROLE, name="stays"), uid="u-stays"))
    assert principals(w.ours()[0]) == {PEER_ROLE}
