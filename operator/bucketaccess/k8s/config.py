"""The operator's configuration: read once at start-up from flags and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from .leader import LeaseTimings
from .verify_now import VerifyNowLimits


@dataclass(frozen=True)
class OperatorConfig:
    default_interval_s: float = 300.0  # verifyInterval when a BucketAccess does not set one
    cache_ttl_s: float = 20.0  # how old a shared read may be for a pass caused by a change
    region: str | None = None  # AWS region for the clients; default: the SDK's (AWS_REGION, ...)
    org_reader_role_arn: str | None = None  # role to assume for Organizations reads
    account_reader_role_name: str | None = None  # role name to assume in other accounts to read their roles
    workers: int = 16  # threads that run verification passes
    metrics_port: int = 0  # Prometheus /metrics; 0: off
    namespaces: tuple[str, ...] = ()  # watched namespaces (names or globs); empty: cluster-wide
    state_namespace: str = "bucketaccess-system"  # where the record of managed buckets and keys lives
    record_name: str = "bucketaccess-managed"  # its ConfigMap; one per shard
    cluster_name: str | None = None  # the EKS cluster it runs in: Pod Identity associations, OIDC issuer
    oidc_issuer: str | None = None  # IRSA's issuer URL, when eks:DescribeCluster is not to be called
    leader_election: bool = False  # only the holder of the Lease verifies and writes (replicas > 1)
    lease_name: str | None = None  # the Lease's name in state_namespace; default: record_name (one per shard)
    lease: LeaseTimings = field(default_factory=LeaseTimings)
    verify_now: VerifyNowLimits = field(default_factory=VerifyNowLimits)  # fresh passes on request

    @property
    def lease_object(self) -> str:
        return self.lease_name or self.record_name
