"""Live verification end to end: real kube-apiserver + etcd, moto server, the operator process.

Each of the AWS article's five causes is seeded, reported on exactly its layer with the
blocking statement, then repaired outside the operator, and Ready turns True.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane, free_port
from devenv.org_world import OrgWorld, doc, unique
from tests import manifests
from tests.e2e.kube import GROUP, LAYERS, VERSION, condition, create, ensure_namespace, get_ba, wait_for
from tests.e2e.kube import wait_ready as kube_wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class

pytestmark = pytest.mark.e2e
NS = "verify"
IRSA_HOST = "oidc.eks.us-east-1.amazonaws.com/id/VERIFYCLUSTER"
NS_NOORG = "verify-noorg"
CLASS = "verify-all"
PUT = {
    "Sid": "AllowPut",
    "Effect": "Allow",
    "Action": ["s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": "*",
}


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    ensure_namespace(kube, NS, {"team": "verify"})
    ensure_namespace(kube, NS_NOORG, {"team": "verify"})
    create(
        kube,
        # every bucket, role and key: this suite verifies layers, not admission
        access_class(CLASS, namespace_labels={"team": "verify"}, kmsKeys=["arn:aws:kms:*:*:key/*"]),
    )
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    args = ["--namespace", NS, "--metrics-port", str(free_port()), *org_world.operator_args()]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()) as proc:
        yield proc


def bucket_access(name: str, bucket: str, role: dict[str, str], ns: str = NS, **spec: Any) -> dict[str, Any]:
    made = manifests.bucket_access(
        name, ns, cls=spec.pop("className", CLASS), bucket=bucket, prefix="uploads/", **spec
    )
    made["spec"]["role"] = role  # an ARN or a ServiceAccount, as the test gives it
    return made


def wait_ready(
    kube: client.ApiClient, name: str, status: str, ns: str = NS, timeout: float = 60
) -> dict[str, Any]:
    return kube_wait_ready(kube, ns, name, status, timeout)


def failing(obj: dict[str, Any]) -> dict[str, str]:
    return {
        c["type"]: c["reason"]
        for c in obj["status"]["conditions"]
        if c["type"] in LAYERS and c["status"] != "True"
    }


def test_cause1_missing_putobject_then_repaired(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("reader-only"), unique("cause1")
    org_world.seed(
        {
            "roles": [
                {
                    "name": role,
                    "inline": {"read": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})},
                }
            ],
            "buckets": [{"name": bucket}],
        }
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    create(kube, bucket_access("cause1", bucket, {"arn": arn}))
    obj = wait_ready(kube, "cause1", "False")
    assert failing(obj) == {"IdentityPolicyAllows": "NoAllowStatement"}
    ready = condition(obj, "Ready")
    assert ready is not None and ready["reason"] == "NoAllowInIdentityPolicy"
    assert "s3:PutObject" in ready["message"] and arn in ready["message"]
    assert obj["status"]["decision"] == "ImplicitDeny" and obj["status"]["roleArn"] == arn

    # several timer runs (2s interval) later, still one Event: Events mark transitions only
    first_verified = obj["status"]["lastVerifiedTime"]
    wait_for(
        lambda: get_ba(kube, NS, "cause1")["status"]["lastVerifiedTime"] != first_verified,
        30,
        "a re-verification",
    )
    warnings = wait_for(lambda: ready_events(kube, "cause1"), 30, "the Ready event")
    assert [(e.type, e.reason) for e in warnings] == [("Warning", "NoAllowInIdentityPolicy")]

    org_world.iam(org_world.workloads).put_role_policy(
        RoleName=role, PolicyName="put", PolicyDocument=json.dumps(doc(PUT))
    )
    obj = wait_ready(kube, "cause1", "True", timeout=30)
    assert obj["status"]["decision"] == "Allowed" and obj["status"]["lastVerifiedTime"]
    events = wait_for(
        lambda: (e := ready_events(kube, "cause1")) and len(e) == 2 and e, 30, "the second Ready event"
    )
    assert [(e.type, e.reason) for e in events] == [
        ("Warning", "NoAllowInIdentityPolicy"),
        ("Normal", "UploadAllowed"),
    ]


def ready_events(kube: client.ApiClient, name: str) -> list[Any]:
    found = (
        client.CoreV1Api(kube).list_namespaced_event(NS, field_selector=f"involvedObject.name={name}").items
    )
    return sorted(found, key=lambda e: e.first_timestamp or e.event_time or e.metadata.creation_timestamp)


def test_cause2_kms_key_user_then_repaired(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("kms-uploader"), unique("cause2")
    admin = {
        "Sid": "KeyAdmins",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/key-admin"},
        "Action": "kms:*",
        "Resource": "*",
    }
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"put": doc(PUT)}}],
            "keys": [{"ref": "k", "policy": doc(admin)}],
            "buckets": [{"name": bucket, "encryption": {"algorithm": "aws:kms", "key": "k"}}],
        }
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    create(kube, bucket_access("cause2", bucket, {"arn": arn}))
    obj = wait_ready(kube, "cause2", "False")
    assert failing(obj) == {"KMSKeyUsable": "NotAKeyUser"}
    kms = condition(obj, "KMSKeyUsable")
    assert (
        kms is not None
        and seeded.keys["k"] in kms["message"]
        and "add " + arn + " as a key user" in kms["message"]
    )

    user = {
        "Sid": "KeyUser",
        "Effect": "Allow",
        "Principal": {"AWS": arn},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
    }
    org_world.client("kms").put_key_policy(
        KeyId=seeded.keys["k"], PolicyName="default", Policy=json.dumps(doc(admin, user))
    )
    wait_ready(kube, "cause2", "True", timeout=30)


def test_cause3_bucket_policy_deny_unless_kms_header_then_header_sent(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("header-uploader"), unique("cause3")
    account = org_world.workloads
    deny = {
        "Sid": "ExampleStmt",
        "Action": ["s3:PutObject"],
        "Effect": "Deny",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Principal": "*",
        "Condition": {
            "StringNotLikeIfExists": {
                "s3:x-amz-server-side-encryption-aws-kms-key-id": f"arn:aws:kms:us-east-1:{account}:key/*"
            }
        },
    }
    arn = f"arn:aws:iam::{account}:role/{role}"
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"put": doc(PUT)}}],
            "keys": [
                {
                    "ref": "k",
                    "policy": doc(
                        {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "kms:*", "Resource": "*"}
                    ),
                }
            ],
            "buckets": [{"name": bucket, "policy": doc(deny)}],
        }
    )
    create(kube, bucket_access("cause3", bucket, {"arn": arn}))
    obj = wait_ready(kube, "cause3", "False")
    assert failing(obj) == {"BucketPolicyAllows": "ExplicitDeny"}
    ready = condition(obj, "Ready")
    assert ready is not None and ready["reason"] == "ExplicitDenyInBucketPolicy"
    assert (
        "ExampleStmt" in ready["message"]
        and "x-amz-server-side-encryption-aws-kms-key-id" in ready["message"]
    )

    # the fix the message names: the workload sends the KMS key header
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "bucketaccesses",
        "cause3",
        {"spec": {"upload": {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": seeded.keys["k"]}}}},
    )
    obj = wait_ready(kube, "cause3", "True", timeout=30)
    assert obj["status"]["observedGeneration"] == 2


def test_cause4_bucket_acl_cross_account_then_granted(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("partner-uploader"), unique("cause4")
    org_world.seed({"roles": [{"name": role, "inline": {"put": doc(PUT)}}]}, account=org_world.partners)
    org_world.seed({"buckets": [{"name": bucket, "ownership": "ObjectWriter"}]})
    arn = f"arn:aws:iam::{org_world.partners}:role/{role}"
    create(kube, bucket_access("cause4", bucket, {"arn": arn}))
    obj = wait_ready(kube, "cause4", "False")
    assert failing(obj) == {"BucketACLAllows": "NoWriteGrant"}
    acl = condition(obj, "BucketACLAllows")
    assert acl is not None and org_world.partners in acl["message"]

    grant = {
        "Sid": "Partner",
        "Effect": "Allow",
        "Principal": {"AWS": arn},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc(grant)))
    wait_ready(kube, "cause4", "True", timeout=30)


def test_cause5_scp_denies_s3_then_detached(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("restricted-uploader"), unique("cause5")
    org_world.seed({"roles": [{"name": role, "inline": {"put": doc(PUT)}}]}, account=org_world.restricted)
    arn = f"arn:aws:iam::{org_world.restricted}:role/{role}"
    grant = {
        "Sid": "Restricted",
        "Effect": "Allow",
        "Principal": {"AWS": arn},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    org_world.seed({"buckets": [{"name": bucket, "policy": doc(grant)}]})
    create(kube, bucket_access("cause5", bucket, {"arn": arn}))
    obj = wait_ready(kube, "cause5", "False")
    assert failing(obj) == {"SCPAllows": "ExplicitDeny"}
    scp = condition(obj, "SCPAllows")
    assert (
        scp is not None and "DenyS3" in scp["message"] and "organization's administrators" in scp["message"]
    )

    org_world.detach_scp("DenyS3", "restricted")
    try:
        wait_ready(kube, "cause5", "True", timeout=30)
    finally:
        org_world.attach_scp("DenyS3", "restricted")


def test_vpc_endpoint_policy_is_a_layer_of_its_own(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket, other = unique("vpce-uploader"), unique("vpce"), unique("approved")
    org_world.seed({"roles": [{"name": role, "inline": {"put": doc(PUT)}}], "buckets": [{"name": bucket}]})
    ec2 = org_world.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    only_other = doc(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{other}/*"}
    )
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        PolicyDocument=json.dumps(only_other),
    )["VpcEndpoint"]["VpcEndpointId"]
    create(
        kube,
        bucket_access(
            "vpce", bucket, {"arn": f"arn:aws:iam::{org_world.workloads}:role/{role}"}, vpcEndpointId=endpoint
        ),
    )
    obj = wait_ready(kube, "vpce", "False")
    assert failing(obj) == {} and condition(obj, "VPCEndpointPolicyAllows")["status"] == "False"  # type: ignore[index]
    assert endpoint in condition(obj, "Ready")["message"]  # type: ignore[index]


def test_metrics_are_scraped_with_plausible_values(kube: client.ApiClient, operator: OperatorProcess) -> None:
    import re
    import urllib.request

    port = operator.args[operator.args.index("--metrics-port") + 1]
    wait_for(lambda: get_ba(kube, NS, "cause1").get("status"), 30, "at least one verified object")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()

    def value(pattern: str) -> float:
        found = re.findall(rf"^{pattern} ([0-9.e+]+)$", text, re.MULTILINE)
        assert found, f"{pattern} not in /metrics"
        return sum(float(v) for v in found)

    objects = value(r'bucketaccess_objects\{ready="(?:True|False|Unknown)"\}')
    assert objects >= 5
    assert value(r"bucketaccess_verify_duration_seconds_count") >= objects
    assert (
        value(r'bucketaccess_aws_calls_total\{operation="GetBucketPolicy",outcome="ok",service="s3"\}') >= 1
    )
    assert (
        value(
            r'bucketaccess_aws_calls_total\{operation="GetBucketPolicy",outcome="NoSuchBucketPolicy",service="s3"\}'
        )
        >= 1
    )
    assert value(r"bucketaccess_cache_hits_total") >= 1 and value(r"bucketaccess_cache_misses_total") >= 1
    # the scheduler's gauges are read from another thread than the one that moves them, so only
    # what no interleaving can break: objects are waiting or running, and passes have run
    assert value(r"bucketaccess_scheduled_objects") + value(r"bucketaccess_passes_in_flight") >= 1
    assert value(r"bucketaccess_scheduled_runs_total") >= 1
    assert value(r"bucketaccess_scheduled_failures_total") == 0


def test_role_from_service_account_annotation(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("sa-uploader"), unique("irsa")
    org_world.seed(
        {
            # a managed policy and a permissions boundary: both are read, and both must allow
            "roles": [
                {
                    "name": role,
                    "path": "/teams/",
                    # IRSA's trust: this operator has no --cluster-name, so RoleAssumable takes the
                    # issuer the trust policy names (IssuerNotConfirmed)
                    "trust": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Federated": f"arn:aws:iam::{org_world.workloads}:oidc-provider/{IRSA_HOST}"
                            },
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {f"{IRSA_HOST}:sub": f"system:serviceaccount:{NS}:uploader"}
                            },
                        }
                    ),
                    "managed": {unique("uploads"): doc(PUT)},
                    "boundary": doc({"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}),
                }
            ],
            "buckets": [{"name": bucket}],
        }
    )
    org_world.oidc_provider(f"https://{IRSA_HOST}")  # STS accepts no token of an issuer without one
    arn = f"arn:aws:iam::{org_world.workloads}:role/teams/{role}"
    client.CoreV1Api(kube).create_namespaced_service_account(
        NS, {"metadata": {"name": "uploader", "annotations": {"eks.amazonaws.com/role-arn": arn}}}
    )
    create(kube, bucket_access("irsa", bucket, {"serviceAccountName": "uploader"}))
    obj = wait_ready(kube, "irsa", "True")
    assert obj["status"]["roleArn"] == arn
    boundary = condition(obj, "PermissionsBoundaryAllows")
    assert boundary is not None and boundary["reason"] == "AllowedByStatement"
    assert condition(obj, "RoleAssumable")["reason"] == "IssuerNotConfirmed"  # type: ignore[index]
    assert obj["status"]["identity"]["source"] == "IRSA"

    create(kube, bucket_access("irsa-missing", bucket, {"serviceAccountName": "nobody"}))
    obj = wait_ready(kube, "irsa-missing", "False")
    ident = condition(obj, "IdentityPolicyAllows")
    assert ident is not None and ident["reason"] == "ServiceAccountNotFound"


def test_an_unadmitted_request_is_reported_but_not_evaluated(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("unadmitted"), unique("unadmitted")
    org_world.seed({"roles": [{"name": role, "inline": {"put": doc(PUT)}}], "buckets": [{"name": bucket}]})
    create(
        kube,
        access_class("only-billing", namespace_labels={"team": "billing"}),
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    create(kube, bucket_access("unadmitted", bucket, {"arn": arn}, className="only-billing"))
    obj = wait_ready(kube, "unadmitted", "False")
    admitted = condition(obj, "Admitted")
    assert admitted is not None and (admitted["status"], admitted["reason"]) == (
        "False",
        "NamespaceNotAdmitted",
    )
    assert condition(obj, "Ready")["reason"] == "NamespaceNotAdmitted"  # type: ignore[index]
    for layer in LAYERS:  # the operator read nothing in AWS for it
        found = condition(obj, layer)
        assert found is not None and (found["status"], found["reason"]) == ("Unknown", "NotAdmitted"), found
    assert "lastVerifiedTime" not in obj["status"] and obj["status"]["decision"] == "Unknown"


def test_bucket_that_does_not_exist(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role = unique("no-bucket")
    org_world.seed({"roles": [{"name": role, "inline": {"put": doc(PUT)}}]})
    create(
        kube,
        bucket_access(
            "no-bucket", unique("absent"), {"arn": f"arn:aws:iam::{org_world.workloads}:role/{role}"}
        ),
    )
    obj = wait_ready(kube, "no-bucket", "False")
    assert failing(obj) == {"BucketPolicyAllows": "BucketNotFound"}
    assert obj["status"]["decision"] == "Rejected"


def test_scps_not_readable_without_an_org_reader(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    operator: OperatorProcess,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    role, bucket = unique("noorg"), unique("noorg")
    org_world.seed({"roles": [{"name": role, "inline": {"put": doc(PUT)}}], "buckets": [{"name": bucket}]})
    log = tmp_path_factory.mktemp("operator-noorg") / "operator.log"
    args = ["--namespace", NS_NOORG, *org_world.operator_args(org_reader=False)]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()):
        create(
            kube,
            bucket_access(
                "noorg", bucket, {"arn": f"arn:aws:iam::{org_world.workloads}:role/{role}"}, ns=NS_NOORG
            ),
        )
        obj = wait_ready(kube, "noorg", "Unknown", ns=NS_NOORG)
    scp = condition(obj, "SCPAllows")
    assert scp is not None and scp["status"] == "Unknown" and scp["reason"] == "SCPsNotReadable"
    ready = condition(obj, "Ready")
    assert ready is not None and ready["reason"] == "SCPsNotReadable"
    assert obj["status"]["decision"] == "Unknown"


def test_the_bucket_key_is_chosen_per_request_and_decides_the_kms_context(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    """The key policy lets the role use the key only for this bucket's context (a Bucket Key); the
    bucket's default has none, so the upload fails until it asks for a Bucket Key itself."""
    role, bucket = unique("bucket-key-uploader"), unique("bucketkey")
    account = org_world.workloads
    arn = f"arn:aws:iam::{account}:role/{role}"
    context = {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}"}}
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"put": doc(PUT)}}],
            "keys": [
                {
                    "ref": "bk",
                    "policy": doc(
                        {
                            "Sid": "Admin",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{account}:role/key-admin"}
                            },
                        },
                        {
                            "Sid": "BucketOnly",
                            "Effect": "Allow",
                            "Principal": {"AWS": arn},
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": "*",
                            "Condition": context,
                        },
                    ),
                }
            ],
            "buckets": [
                {
                    "name": bucket,
                    "encryption": {"algorithm": "aws:kms", "key": "bk", "bucketKeyEnabled": False},
                }
            ],
        }
    )
    key = seeded.keys["bk"]
    create(
        kube,
        bucket_access(
            "bucketkey",
            bucket,
            {"arn": arn},
            upload={"encryption": {"algorithm": "aws:kms", "kmsKeyArn": key}},
        ),
    )
    obj = wait_ready(kube, "bucketkey", "False")
    assert failing(obj) == {"KMSKeyUsable": "NotAKeyUser"}
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "bucketaccesses",
        "bucketkey",
        {
            "spec": {
                "upload": {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": key, "bucketKeyEnabled": True}}
            }
        },
    )
    obj = wait_ready(kube, "bucketkey", "True", timeout=30)
    assert obj["status"]["observedGeneration"] == 2
