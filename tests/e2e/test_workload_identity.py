"""From a ServiceAccount to the upload, on the real API server: EKS Pod Identity (ABAC on session
tags, a target role in another account, a session policy) and IRSA (a trust policy whose sub names
another ServiceAccount, fixed in AWS and verified again; the account's IAM OIDC provider deleted,
then created again).

AWS is moto, except the three EKS operations moto does not have (DescribeCluster,
ListPodIdentityAssociations, DescribePodIdentityAssociation): the operator's boto3 reaches those at
the tests' own endpoint (tests/eks_endpoint.py) through AWS_ENDPOINT_URL_EKS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import GROUP, VERSION, condition, create, ensure_namespace, get_ba, wait_for
from tests.e2e.operator_proc import OperatorProcess
from tests.eks_endpoint import EksEndpoint
from tests.iam_policies import TEST_CLUSTER
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
NS, IRSA_NS = "billing", "irsa-team"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/E2ECLUSTER"
HOST = ISSUER.removeprefix("https://")
POD_TRUST = doc(
    {
        "Sid": "EksPodIdentity",
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
)


def irsa_trust(account: str, service_account: str) -> dict[str, Any]:
    return doc(
        {
            "Sid": "IrsaUploader",
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{HOST}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{HOST}:sub": f"system:serviceaccount:{IRSA_NS}:{service_account}",
                    f"{HOST}:aud": "sts.amazonaws.com",
                }
            },
        }
    )


@pytest.fixture(scope="module")
def eks(org_world: OrgWorld) -> Iterator[EksEndpoint]:
    with EksEndpoint(org_world.workloads) as endpoint:
        endpoint.state.clusters[TEST_CLUSTER] = ISSUER
        yield endpoint


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    eks: EksEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    for ns in (NS, IRSA_NS):
        ensure_namespace(kube, ns, {"workload-identity": "yes"})
    create(kube, access_class("workload-identity", namespace_labels={"workload-identity": "yes"}))
    org_world.oidc_provider(ISSUER)
    log = tmp_path_factory.mktemp("workload-identity") / "operator.log"
    args = [
        "--namespace",
        NS,
        "--namespace",
        IRSA_NS,
        "--cluster-name",
        TEST_CLUSTER,
        *org_world.operator_args(),
    ]
    env = {**org_world.operator_env(), **eks.env()}
    with OperatorProcess(control_plane.kubeconfig, log, args, env=env) as proc:
        yield proc


def service_account(kube: client.ApiClient, ns: str, name: str, role_arn: str | None = None) -> None:
    annotations = {"eks.amazonaws.com/role-arn": role_arn} if role_arn else {}
    client.CoreV1Api(kube).create_namespaced_service_account(
        ns, {"metadata": {"name": name, "annotations": annotations}}
    )


def by_sa(name: str, ns: str, bucket: str, sa: str, prefix: str) -> dict[str, Any]:
    return bucket_access(name, ns, cls="workload-identity", bucket=bucket, service_account=sa, prefix=prefix)


def check_cli(
    cp: ControlPlane, world: OrgWorld, eks: EksEndpoint, sa: str, bucket: str, prefix: str, snapshot: Path
) -> dict[str, Any]:
    """`bucketaccess check --service-account` as a person runs it (no operator), and the offline
    `explain` of the scenario it wrote: the two must agree."""
    env = {**os.environ, **world.operator_env(), **eks.env(), "KUBECONFIG": str(cp.kubeconfig)}
    cmd = [
        sys.executable,
        "-m",
        "bucketaccess",
        "check",
        "--service-account",
        sa,
        "--cluster-name",
        TEST_CLUSTER,
    ]
    cmd += ["--bucket", bucket, "--prefix", prefix, "-o", "json", "--snapshot", str(snapshot)]
    args = world.operator_args()
    cmd += [*args[:2], *args[-2:]]  # the reader roles, as the operator has them
    live = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert live.returncode in (0, 1), live.stderr
    offline = subprocess.run(
        [sys.executable, "-m", "bucketaccess", "explain", str(snapshot), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    assert offline.returncode == live.returncode and offline.stdout == live.stdout, offline.stderr
    return dict(json.loads(live.stdout))


def same_verdicts(obj: dict[str, Any], checked: dict[str, Any]) -> None:
    """Every layer condition the operator wrote says what `check` says of that layer."""
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    for name, found in checked["checks"].items():
        if name in conditions:
            mine = conditions[name]
            status = "True" if found["status"] in ("True", "NotApplicable") else found["status"]
            assert (mine["status"], mine["reason"]) == (status, found["reason"]), (name, mine, found)
    assert obj["status"]["decision"] == checked["decision"]


def verify_now(kube: client.ApiClient, ns: str, name: str) -> None:
    patch = {"metadata": {"annotations": {"s3access.dev/verify": str(time.time())}}}
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP, VERSION, ns, "bucketaccesses", name, patch
    )


def verdict(kube: client.ApiClient, ns: str, name: str) -> dict[str, Any]:
    """The object once it has a Ready condition for its current generation."""

    def probe() -> dict[str, Any] | None:
        obj = get_ba(kube, ns, name)
        st = obj.get("status") or {}
        ready = condition(obj, "Ready")
        return obj if ready and st.get("observedGeneration") == obj["metadata"]["generation"] else None

    return wait_for(probe, 60, f"{ns}/{name} verified")


def test_pod_identity_abac_on_the_namespace_tag(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    operator: OperatorProcess,
    org_world: OrgWorld,
    eks: EksEndpoint,
    tmp_path: Path,
) -> None:
    role, bucket = unique("abac"), unique("abac")
    abac = doc(
        {
            "Sid": "OwnNamespace",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/${{aws:PrincipalTag/kubernetes-namespace}}/*",
        }
    )
    org_world.seed(
        {
            "roles": [{"name": role, "trust": POD_TRUST, "inline": {"abac": abac}}],
            "buckets": [{"name": bucket}],
        }
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    service_account(kube, NS, "abac-uploader")
    association = eks.state.associate(TEST_CLUSTER, NS, "abac-uploader", arn)
    create(kube, by_sa("abac-own", NS, bucket, "abac-uploader", "billing/"))
    create(kube, by_sa("abac-other", NS, bucket, "abac-uploader", "payroll/"))
    own, other = verdict(kube, NS, "abac-own"), verdict(kube, NS, "abac-other")
    assert condition(own, "Ready")["status"] == "True", condition(own, "Ready")  # type: ignore[index]
    assert condition(own, "RoleAssumable")["reason"] == "AllowedByStatement"  # type: ignore[index]
    assert own["status"]["identity"] == {
        "source": "PodIdentity",
        "roleArn": arn,
        "serviceAccount": f"{NS}/abac-uploader",
        "associationId": association,
        "sessionTags": True,
        "sessionPolicy": False,
        "cluster": TEST_CLUSTER,
    }
    denied = condition(other, "IdentityPolicyAllows")
    assert condition(other, "Ready")["status"] == "False" and denied is not None  # type: ignore[index]
    assert denied["status"] == "False"
    assert "`${aws:PrincipalTag/kubernetes-namespace}` = `billing`" in denied["message"], denied["message"]
    for obj, prefix in ((own, "billing/"), (other, "payroll/")):
        checked = check_cli(
            control_plane,
            org_world,
            eks,
            f"{NS}/abac-uploader",
            bucket,
            prefix,
            tmp_path / f"{prefix[:-1]}.json",
        )
        same_verdicts(obj, checked)


def test_pod_identity_target_role_in_another_account(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld, eks: EksEndpoint
) -> None:
    first, target, bucket = unique("first"), unique("target"), unique("chained")
    first_arn = f"arn:aws:iam::{org_world.workloads}:role/{first}"
    target_arn = f"arn:aws:iam::{org_world.partners}:role/{target}"
    chain = doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": target_arn})
    org_world.seed({"roles": [{"name": first, "trust": POD_TRUST, "inline": {"chain": chain}}]})
    target_trust = doc(
        {
            "Sid": "FromTheAssociation",
            "Effect": "Allow",
            "Principal": {"AWS": first_arn},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"sts:ExternalId": "billing-ext"}},
        }
    )
    put = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    org_world.seed(
        {"roles": [{"name": target, "trust": target_trust, "inline": {"put": put}}]},
        account=org_world.partners,
    )
    grant = {
        "Sid": "PartnerWrites",
        "Effect": "Allow",
        "Principal": {"AWS": target_arn},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    org_world.seed({"buckets": [{"name": bucket, "policy": doc(grant)}]})
    for sa, external_id in (("chain-ok", "billing-ext"), ("chain-bad", "other-ext")):
        service_account(kube, NS, sa)
        eks.state.associate(
            TEST_CLUSTER, NS, sa, first_arn, target_role_arn=target_arn, external_id=external_id
        )
        create(kube, by_sa(sa, NS, bucket, sa, "in/"))
    ok, bad = verdict(kube, NS, "chain-ok"), verdict(kube, NS, "chain-bad")
    assert condition(ok, "RoleAssumable")["status"] == "True", condition(ok, "RoleAssumable")  # type: ignore[index]
    assert condition(ok, "Ready")["status"] == "True", condition(ok, "Ready")  # type: ignore[index]
    assert ok["status"]["roleArn"] == target_arn and ok["status"]["identity"]["targetRoleArn"] == target_arn
    refused = condition(bad, "RoleAssumable")
    assert refused is not None and (refused["status"], refused["reason"]) == ("False", "TrustConditionNotMet")
    assert "sts:ExternalId" in refused["message"] and "other-ext" in refused["message"]
    assert condition(bad, "Ready")["reason"] == "TrustConditionNotMet"  # type: ignore[index]


def test_pod_identity_session_policy_narrows_to_another_prefix(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld, eks: EksEndpoint
) -> None:
    role, bucket = unique("narrow"), unique("narrow")
    put = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    org_world.seed(
        {"roles": [{"name": role, "trust": POD_TRUST, "inline": {"put": put}}], "buckets": [{"name": bucket}]}
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    narrow = doc(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/reports/*"}
    )
    service_account(kube, NS, "narrowed")
    aid = eks.state.associate(TEST_CLUSTER, NS, "narrowed", arn, disable_session_tags=True, policy=narrow)
    create(kube, by_sa("narrowed", NS, bucket, "narrowed", "uploads/"))
    obj = verdict(kube, NS, "narrowed")
    session = condition(obj, "SessionPolicyAllows")
    assert session is not None and session["status"] == "False", session
    assert aid in session["message"]
    assert condition(obj, "Ready")["reason"] == "NoAllowInSessionPolicy"  # type: ignore[index]
    assert obj["status"]["identity"]["sessionPolicy"] is True


def test_irsa_sub_for_another_service_account_then_fixed_in_aws(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    operator: OperatorProcess,
    org_world: OrgWorld,
    eks: EksEndpoint,
    tmp_path: Path,
) -> None:
    role, bucket = unique("irsa"), unique("irsa")
    put = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    wrong = irsa_trust(org_world.workloads, "someone-else")
    org_world.seed(
        {"roles": [{"name": role, "trust": wrong, "inline": {"put": put}}], "buckets": [{"name": bucket}]}
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    service_account(kube, IRSA_NS, "uploader", role_arn=arn)
    create(kube, by_sa("irsa", IRSA_NS, bucket, "uploader", "in/"))
    obj = verdict(kube, IRSA_NS, "irsa")
    refused = condition(obj, "RoleAssumable")
    assert refused is not None and (refused["status"], refused["reason"]) == ("False", "TrustConditionNotMet")
    assert f"{HOST}:sub" in refused["message"]
    assert f"system:serviceaccount:{IRSA_NS}:uploader" in refused["message"]
    assert obj["status"]["identity"]["source"] == "IRSA"
    same_verdicts(
        obj,
        check_cli(
            control_plane, org_world, eks, f"{IRSA_NS}/uploader", bucket, "in/", tmp_path / "irsa.json"
        ),
    )

    # fixed in AWS, then "verify now": the next verdict reads the new trust policy
    org_world.client("iam").update_assume_role_policy(
        RoleName=role, PolicyDocument=json.dumps(irsa_trust(org_world.workloads, "uploader"))
    )
    verify_now(kube, IRSA_NS, "irsa")

    def assumable() -> dict[str, Any] | None:
        found = get_ba(kube, IRSA_NS, "irsa")
        return found if (condition(found, "RoleAssumable") or {}).get("status") == "True" else None

    fixed = wait_for(assumable, 60, "RoleAssumable=True after the trust policy was fixed")
    assert condition(fixed, "Ready")["status"] == "True", condition(fixed, "Ready")  # type: ignore[index]


def test_irsa_without_the_oidc_provider_then_with_it_again(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    operator: OperatorProcess,
    org_world: OrgWorld,
    eks: EksEndpoint,
    tmp_path: Path,
) -> None:
    role, bucket = unique("irsa-provider"), unique("irsa-provider")
    put = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    trust = irsa_trust(org_world.workloads, "provider-check")
    org_world.seed(
        {"roles": [{"name": role, "trust": trust, "inline": {"put": put}}], "buckets": [{"name": bucket}]}
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    service_account(kube, IRSA_NS, "provider-check", role_arn=arn)
    create(kube, by_sa("provider-check", IRSA_NS, bucket, "provider-check", "in/"))
    ready = verdict(kube, IRSA_NS, "provider-check")
    assert condition(ready, "Ready")["status"] == "True", condition(ready, "Ready")  # type: ignore[index]

    def reads(status: str) -> Any:
        def probe() -> dict[str, Any] | None:
            found = get_ba(kube, IRSA_NS, "provider-check")
            return found if (condition(found, "RoleAssumable") or {}).get("status") == status else None

        return probe

    provider = org_world.oidc_provider(ISSUER)
    org_world.client("iam").delete_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    try:
        verify_now(kube, IRSA_NS, "provider-check")
        missing = wait_for(reads("False"), 60, "RoleAssumable=False once the OIDC provider is deleted")
        refused = condition(missing, "RoleAssumable")
        assert refused is not None and refused["reason"] == "OIDCProviderMissing", refused
        assert HOST in refused["message"] and org_world.workloads in refused["message"]
        assert condition(missing, "Ready")["reason"] == "OIDCProviderMissing"  # type: ignore[index]
        checked = check_cli(
            control_plane, org_world, eks, f"{IRSA_NS}/provider-check", bucket, "in/", tmp_path / "gone.json"
        )
        same_verdicts(missing, checked)
    finally:
        org_world.oidc_provider(ISSUER)
    verify_now(kube, IRSA_NS, "provider-check")
    again = wait_for(reads("True"), 60, "RoleAssumable=True once the OIDC provider is created again")
    assert condition(again, "Ready")["status"] == "True", condition(again, "Ready")  # type: ignore[index]
