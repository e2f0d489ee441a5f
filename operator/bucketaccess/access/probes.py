"""What one upload asks of AWS: the authorization requests (probes) it implies, in the order AWS
meets them. Each service's rules build its own requests (:mod:`.services`)."""

from __future__ import annotations

from ..vocabulary import Reason
from .scenario import Scenario
from .services import RULES, Probe, Service, UploadRefusal
from .services.s3 import s3_resource


def plan_upload(sc: Scenario, kms: bool = True) -> tuple[Probe, ...]:
    """Every authorization request the upload implies, in the order AWS meets them (the KMS ones
    only with ``kms``: a question about the S3 requests alone needs none). A probe with a refusal
    is decided before any policy is read."""
    req = sc.request
    if not sc.identity.exists or not sc.bucket.exists:
        # Nothing else can be said about a request whose role or bucket does not exist.
        refusal: UploadRefusal = Reason.RoleNotFound if not sc.identity.exists else Reason.BucketNotFound
        resource = s3_resource(sc.bucket.name, req.key, req.action)
        return (Probe(Service.S3, req.action, resource, None, refusal=refusal),)
    planned: list[Probe] = []
    for service in _ALL if kms else _S3_ONLY:
        planned += RULES[service].probes(sc)
    return tuple(planned)


_ALL = tuple(Service)
_S3_ONLY = (Service.S3,)
