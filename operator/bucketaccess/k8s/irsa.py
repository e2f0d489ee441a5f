"""IRSA resolution: the IAM role a ServiceAccount's IRSA annotation (``eks.amazonaws.com/role-arn``)
names, read from the Kubernetes API. Which session the workload then gets (IRSA or EKS Pod
Identity) is decided in :mod:`bucketaccess.reconcile.session`."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..reconcile import RoleResolutionError
from ..vocabulary import Reason

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def service_account_resolver(api: client.ApiClient) -> Callable[[str, str], str]:
    def resolve(namespace: str, name: str) -> str:
        try:
            sa = client.CoreV1Api(api).read_namespaced_service_account(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise RoleResolutionError(
                    Reason.ServiceAccountNotFound, f"ServiceAccount {namespace}/{name} does not exist"
                ) from None
            raise RoleResolutionError(
                Reason.ServiceAccountNotReadable,
                f"cannot read ServiceAccount {namespace}/{name}: HTTP {exc.status} {exc.reason}",
            ) from None
        arn = ((sa.metadata.annotations if sa.metadata else None) or {}).get(IRSA_ANNOTATION)
        if not arn:
            raise RoleResolutionError(
                Reason.RoleAnnotationMissing,
                f"ServiceAccount {namespace}/{name} has no {IRSA_ANNOTATION} annotation; add the role ARN there or set spec.role.arn",
            )
        if not arn.startswith("arn:aws:iam::") or ":role/" not in arn:
            raise RoleResolutionError(
                Reason.InvalidRoleAnnotation,
                f"ServiceAccount {namespace}/{name}: {IRSA_ANNOTATION} is {arn!r}, not an IAM role ARN of the aws partition",
            )
        return str(arn)

    return resolve


def resolve_once(namespace: str, name: str) -> str:
    """For one-shot commands: the role of one ServiceAccount, with the cluster's own failures
    (no kubeconfig, unreachable, forbidden) reported as RoleResolutionError too."""
    from kubernetes.config import ConfigException

    from .kube import kube_api

    try:
        return service_account_resolver(kube_api())(namespace, name)
    except (ApiException, OSError, ConfigException) as exc:
        raise RoleResolutionError(
            Reason.ServiceAccountNotReadable,
            f"cannot reach the cluster to read ServiceAccount {namespace}/{name}: {exc}",
        ) from None
