"""``bucketaccess impact`` against the real API server and moto: for each kind of change, exactly the
objects it breaks, fixes or leaves; and after the change is really applied in moto, the operator's
verdicts equal what impact predicted, object by object.

The CLI runs as a process of its own (the current kubeconfig, AWS through moto's endpoint), as a
person or a CI job runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import condition, create, ensure_namespace, get_ba, wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
NS, CLASS = "impact", "impact-observe"
PUT = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    ensure_namespace(kube, NS, {"team": "impact"})
    # Observe: the operator reports and writes nothing, so every change in AWS below is the test's own
    create(kube, access_class(CLASS, namespace_labels={"team": "impact"}, buckets=("impact-*",)))
    log = tmp_path_factory.mktemp("impact-operator") / "operator.log"
    args = ["--namespace", NS, *org_world.operator_args()]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()) as proc:
        yield proc


@pytest.fixture(scope="module")
def world(kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld) -> dict[str, Any]:
    """Two objects on one bucket, one on another: three roles, all Ready."""
    shared, alone = unique("impact-shared"), unique("impact-alone")
    roles = {n: unique("impact-role") for n in ("a1", "a2", "b1")}
    org_world.seed(
        {
            "roles": [{"name": r, "inline": {"put": PUT}} for r in roles.values()],
            "buckets": [{"name": shared}, {"name": alone}],
        }
    )
    arn = {n: f"arn:aws:iam::{org_world.workloads}:role/{r}" for n, r in roles.items()}
    names = {n: unique(n) for n in roles}
    for n in roles:
        bucket = alone if n == "b1" else shared
        create(kube, bucket_access(names[n], NS, cls=CLASS, bucket=bucket, prefix="in/", role=arn[n]))
    for n in names.values():
        wait_ready(kube, NS, n, "True")
    return {"shared": shared, "alone": alone, "roles": roles, "arn": arn, "names": names}


def reader_flags(org_world: OrgWorld) -> list[str]:
    """The operator's AWS reader settings (impact reads as the operator does), without run's own."""
    args, out = org_world.operator_args(), []
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in ("--account-reader-role-name", "--org-reader-role-arn"):
            out += [flag, value]
    return out


def impact(
    control_plane: ControlPlane, org_world: OrgWorld, *args: str, kubeconfig: Path | None = None
) -> tuple[int, dict[str, Any] | None, str]:
    env = {
        **os.environ,
        **org_world.operator_env(),
        "KUBECONFIG": str(kubeconfig or control_plane.kubeconfig),
    }
    cmd = [
        sys.executable,
        "-m",
        "bucketaccess",
        "impact",
        "-n",
        NS,
        *reader_flags(org_world),
        *args,
        "-o",
        "json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    report = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, report, done.stderr


def effects(report: dict[str, Any]) -> dict[str, str]:
    return {r["name"].split("/", 1)[1]: r["effect"] for r in report["rows"]}


def test_a_bucket_policy_deny_breaks_exactly_the_objects_on_that_bucket_and_the_operator_agrees(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    world: dict[str, Any],
    tmp_path: Path,
) -> None:
    names, shared = world["names"], world["shared"]
    deny = doc(
        {
            "Sid": "NoUploads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{shared}/*",
        }
    )
    policy = tmp_path / "deny.json"
    policy.write_text(json.dumps(deny))
    code, report, err = impact(control_plane, org_world, "--bucket-policy", shared, str(policy))
    assert code == 1, err
    assert report is not None and effects(report) == {names["a1"]: "breaks", names["a2"]: "breaks"}
    assert (report["evaluated"], report["unaffected"]) == (2, 1)  # the object on the other bucket is not read
    predicted = {r["name"].split("/", 1)[1]: r["after"] for r in report["rows"]}
    assert all(
        p["layer"] == "BucketPolicyAllows" and "NoUploads" in p["statement"] for p in predicted.values()
    )

    # now really apply it: the operator's verdicts are what impact predicted
    org_world.client("s3").put_bucket_policy(Bucket=shared, Policy=json.dumps(deny))
    for n in (names["a1"], names["a2"]):
        obj = wait_ready(kube, NS, n, "False")
        ready = condition(obj, "Ready")
        assert ready is not None and (ready["status"], ready["reason"]) == (
            predicted[n]["ready"],
            predicted[n]["reason"],
        )
    assert condition(get_ba(kube, NS, names["b1"]), "Ready")["status"] == "True"  # type: ignore[index]

    # and taking it back is predicted as a fix
    code, report, err = impact(control_plane, org_world, "--delete-bucket-policy", shared)
    assert code == 0, err
    assert report is not None and effects(report) == {names["a1"]: "fixes", names["a2"]: "fixes"}
    org_world.client("s3").delete_bucket_policy(Bucket=shared)
    for n in (names["a1"], names["a2"]):
        wait_ready(kube, NS, n, "True")


def test_a_deleted_role_policy_breaks_only_its_role_and_a_narrowed_class_only_its_bucket(
    control_plane: ControlPlane, org_world: OrgWorld, world: dict[str, Any], tmp_path: Path
) -> None:
    names = world["names"]
    code, report, err = impact(control_plane, org_world, "--delete-role-policy", world["arn"]["b1"], "put")
    assert code == 1, err
    assert report is not None and effects(report) == {names["b1"]: "breaks"}
    assert report["rows"][0]["after"]["reason"] == "NoAllowInIdentityPolicy"

    narrowed = access_class(CLASS, namespace_labels={"team": "impact"}, buckets=(world["shared"],))
    manifest = tmp_path / "class.yaml"
    manifest.write_text(json.dumps(narrowed))
    code, report, err = impact(control_plane, org_world, "--class", str(manifest))
    assert code == 1, err
    assert report is not None and effects(report) == {names["b1"]: "breaks"}
    after = report["rows"][0]["after"]
    assert (after["ready"], after["reason"], after["layer"]) == ("False", "BucketNotAdmitted", "Admitted")


def test_a_change_with_no_effect_a_bad_flag_and_an_unreachable_cluster(
    control_plane: ControlPlane, org_world: OrgWorld, world: dict[str, Any], tmp_path: Path
) -> None:
    code, report, _ = impact(control_plane, org_world, "--delete-bucket-policy", "impact-nobody-uses-it")
    assert code == 0 and report is not None and report["rows"] == [] and report["unaffected"] == 3

    code, report, err = impact(
        control_plane, org_world, "--bucket-policy", world["shared"], str(tmp_path / "absent.json")
    )
    assert code == 2 and report is None and len(err.strip().splitlines()) == 1 and "--bucket-policy" in err

    nowhere = tmp_path / "nowhere.kubeconfig"  # nothing listens on port 1
    nowhere.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    code, report, err = impact(
        control_plane, org_world, "--delete-bucket-policy", world["shared"], kubeconfig=nowhere
    )
    assert code == 3 and "a needed read failed" in err


@pytest.fixture(scope="module")
def kinds_world(kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld) -> dict[str, Any]:
    """Three more objects: one on a bucket encrypted with a customer key, one whose role holds its
    s3:PutObject through a managed policy, one plain; all Ready."""
    keyed, managed_bucket, plain_bucket = (
        unique("impact-keyed"),
        unique("impact-managed"),
        unique("impact-plain"),
    )
    roles = {n: unique("impact-kind") for n in ("keyed", "managed", "plain")}
    put_and_kms = doc({"Effect": "Allow", "Action": ["s3:PutObject", "kms:GenerateDataKey"], "Resource": "*"})
    policy_name = unique("impact-put")
    w = org_world.workloads
    seeded = org_world.seed(
        {
            "roles": [
                {"name": roles["keyed"], "inline": {"put": put_and_kms}},
                {"name": roles["managed"], "managed": {policy_name: PUT}},
                {"name": roles["plain"], "inline": {"put": PUT}},
            ],
            "keys": [
                {
                    "ref": "impact-key",
                    "policy": doc(
                        {
                            "Sid": "Root",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{w}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ),
                }
            ],
            "buckets": [
                {"name": keyed, "encryption": {"algorithm": "aws:kms", "key": "impact-key"}},
                {"name": managed_bucket},
                {"name": plain_bucket},
            ],
        }
    )
    arn = {n: f"arn:aws:iam::{w}:role/{r}" for n, r in roles.items()}
    names = {n: unique(f"kind-{n}") for n in roles}
    buckets = {"keyed": keyed, "managed": managed_bucket, "plain": plain_bucket}
    for n in roles:
        create(kube, bucket_access(names[n], NS, cls=CLASS, bucket=buckets[n], prefix="in/", role=arn[n]))
    for n in names.values():
        wait_ready(kube, NS, n, "True")
    return {
        "names": names,
        "arn": arn,
        "key": seeded.keys["impact-key"],
        "policy": policy_name,
        "buckets": buckets,
    }


GET_ONLY = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
DENY_PUT_SCP = doc(
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
)
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@pytest.mark.parametrize(
    ("kind", "breaks"),
    [
        pytest.param("key-policy", {"keyed"}, id="key-policy-without-the-root-grant"),
        pytest.param("managed-policy", {"managed"}, id="managed-policy-version-without-put"),
        pytest.param("detach", {"managed"}, id="managed-policy-detached"),
        pytest.param("boundary", {"plain"}, id="boundary-without-put"),
        pytest.param("bucket-bpa", set(), id="bucket-block-public-access-no-effect"),
        pytest.param(
            "scp", {"keyed", "managed", "plain"}, id="root-scp-denies-put-for-every-object-of-the-account"
        ),
    ],
)
def test_each_kind_of_change_breaks_exactly_the_objects_it_reaches(
    control_plane: ControlPlane,
    org_world: OrgWorld,
    kinds_world: dict[str, Any],
    tmp_path: Path,
    kind: str,
    breaks: set[str],
) -> None:
    names, arn = kinds_world["names"], kinds_world["arn"]
    file = tmp_path / "doc.json"
    if kind == "key-policy":
        file.write_text(
            json.dumps(
                doc(
                    {
                        "Sid": "Describe",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:root"},
                        "Action": "kms:DescribeKey",
                        "Resource": "*",
                    }
                )
            )
        )
        args = ["--key-policy", kinds_world["key"], str(file)]
    elif kind == "managed-policy":
        file.write_text(json.dumps(GET_ONLY))
        args = [
            "--managed-policy",
            f"arn:aws:iam::{org_world.workloads}:policy/{kinds_world['policy']}",
            str(file),
        ]
    elif kind == "detach":
        args = ["--detach-policy", arn["managed"], kinds_world["policy"]]
    elif kind == "boundary":
        file.write_text(json.dumps(GET_ONLY))
        args = ["--boundary", arn["plain"], "read-only", str(file)]
    elif kind == "bucket-bpa":
        file.write_text(json.dumps(ALL_BLOCKED))
        args = ["--bucket-public-access-block", kinds_world["buckets"]["plain"], str(file)]
    else:
        file.write_text(json.dumps(DENY_PUT_SCP))
        args = ["--scp", "FullAWSAccess", str(file)]
    code, report, err = impact(control_plane, org_world, *args)
    assert report is not None, err
    mine = {n: effect for n, effect in effects(report).items() if n in names.values()}
    expected = {names[n] for n in breaks}
    assert {n for n, e in mine.items() if e == "breaks"} == expected
    assert code == (1 if breaks else 0)
