"""The operator's configuration: read once at start-up from flags and the environment.

Each field's default is its setting's (:mod:`.settings`, where each setting is declared once);
``bucketaccess run`` builds the whole from the resolved settings with :func:`.settings.build`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import settings as s
from .leader import LeaseTimings
from .verify_now import VerifyNowLimits


@dataclass(frozen=True)
class OperatorConfig:
    default_interval_s: float = s.configured(s.DEFAULT_INTERVAL)  # verifyInterval when an object sets none
    cache_ttl_s: float = s.configured(
        s.CACHE_TTL
    )  # how old a shared read may be for a pass caused by a change
    region: str | None = s.optional(s.REGION)  # AWS region for the clients; None: the SDK's (AWS_REGION, ...)
    org_reader_role_arn: str | None = s.optional(
        s.ORG_READER_ROLE_ARN
    )  # role to assume for Organizations reads
    # role name to assume in other accounts to read their roles
    account_reader_role_name: str | None = s.optional(s.ACCOUNT_READER_ROLE_NAME)
    workers: int = s.configured(s.WORKERS)  # threads that run verification passes
    metrics_port: int = s.configured(s.METRICS_PORT)  # Prometheus /metrics; 0: off
    namespaces: tuple[str, ...] = ()  # watched namespaces (names or globs); empty: cluster-wide (--namespace)
    state_namespace: str = s.configured(
        s.STATE_NAMESPACE
    )  # where the record of managed buckets and keys lives
    record_name: str = s.configured(s.RECORD_NAME)  # its ConfigMap; one per shard
    cluster_name: str | None = s.optional(s.CLUSTER_NAME)  # the EKS cluster: Pod Identity, OIDC issuer
    oidc_issuer: str | None = s.optional(s.OIDC_ISSUER)  # IRSA's issuer URL, instead of eks:DescribeCluster
    leader_election: bool = s.configured(s.LEADER_ELECT)  # only the Lease's holder verifies and writes
    lease_name: str | None = s.optional(s.LEASE_NAME)  # the Lease in state_namespace; None: record_name
    lease: LeaseTimings = field(default_factory=LeaseTimings)
    verify_now: VerifyNowLimits = field(default_factory=VerifyNowLimits)  # fresh passes on request
    event_queue_url: str | None = s.optional(s.EVENT_QUEUE_URL)  # AWS change events; None: interval only

    @property
    def lease_object(self) -> str:
        return self.lease_name or self.record_name
