"""Which session a BucketAccess's workload gets: the role named in the spec, or the one its
ServiceAccount obtains through IRSA or EKS Pod Identity.

When a ServiceAccount has both an ``eks.amazonaws.com/role-arn`` annotation and a Pod Identity
association, the pod gets both sets of environment variables, and the AWS SDKs' default
credential chain takes the web identity token (IRSA) before the container credential provider
that Pod Identity uses (botocore: ``credentials.create_credential_resolver``; the AWS SDKs and
Tools Reference Guide, "Understand the credential provider chain"). So IRSA wins, and the status
says so.
"""

from __future__ import annotations

from ..aws.errors import AwsError, AwsUnavailable
from ..aws.ports import ClusterInfo
from ..resources import BucketAccessSpec
from ..vocabulary import IdentitySource, Reason
from .types import Deps, RoleResolutionError, WorkloadSession


def resolve_session(spec: BucketAccessSpec, namespace: str, deps: Deps) -> WorkloadSession:
    if spec.role_arn:
        return WorkloadSession(source=IdentitySource.RoleArn, role_arn=spec.role_arn)
    return service_account_session(namespace, spec.service_account or "", deps)


def service_account_session(namespace: str, name: str, deps: Deps) -> WorkloadSession:
    """The session a pod of this ServiceAccount gets (IRSA first, then Pod Identity)."""
    try:
        annotated: str | None = deps.resolve_service_account(namespace, name)
    except RoleResolutionError as exc:
        if exc.reason is not Reason.RoleAnnotationMissing:
            raise
        if not deps.cluster_name:
            raise RoleResolutionError(
                exc.reason,
                f"{exc.message}; for EKS Pod Identity, start the operator with --cluster-name so that it reads "
                "the cluster's associations",
            ) from None
        annotated = None
    if annotated is not None:
        issuer = deps.oidc_issuer
        cluster = _cluster(deps) if deps.cluster_name else None
        if issuer is None and cluster is not None:
            issuer = cluster.oidc_issuer
        return WorkloadSession(
            source=IdentitySource.IRSA,
            role_arn=annotated,
            namespace=namespace,
            service_account=name,
            first_role_arn=annotated,
            cluster=cluster,
            oidc_issuer=issuer,
        )
    assert deps.cluster_name is not None
    try:
        found = deps.reader.pod_identity_associations(deps.cluster_name, namespace, name)
    except AwsUnavailable:
        raise
    except AwsError as exc:
        raise RoleResolutionError(
            Reason.PodIdentityNotReadable,
            f"cannot read the Pod Identity associations of cluster {deps.cluster_name}: {exc.message}",
        ) from None
    if not found:
        raise RoleResolutionError(
            Reason.NoPodIdentityAssociation,
            f"ServiceAccount {namespace}/{name} has neither an eks.amazonaws.com/role-arn annotation nor a Pod "
            f"Identity association in cluster {deps.cluster_name}; create one "
            f"(eks:CreatePodIdentityAssociation) or set spec.role.arn",
        )
    a = found[0]
    return WorkloadSession(
        source=IdentitySource.PodIdentity,
        role_arn=a.target_role_arn or a.role_arn,
        namespace=namespace,
        service_account=name,
        first_role_arn=a.role_arn,
        target_role_arn=a.target_role_arn,
        association_id=a.association_id,
        external_id=a.external_id,
        session_tags=not a.disable_session_tags,
        session_policy=a.policy,
        cluster=_cluster(deps),
    )


def _cluster(deps: Deps) -> ClusterInfo | None:
    """The cluster's ARN and OIDC issuer; None when it cannot be read (its tags then lack the ARN)."""
    assert deps.cluster_name is not None
    try:
        return deps.reader.cluster(deps.cluster_name)
    except AwsUnavailable:
        raise
    except AwsError:
        return None
