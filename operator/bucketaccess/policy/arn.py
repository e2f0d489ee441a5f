"""An Amazon Resource Name as a value, read by field name rather than by position.

``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` (IAM User Guide, "IAM identifiers", ARNs). The
resource part may itself contain colons (``arn:aws:logs:...:log-group:name``): only the first five
separate fields. Matching an ARN against a pattern with wildcards is :func:`.wildcards.arn_matches`'s
business, not this type's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import fast_init

_TYPE_SEPARATOR = re.compile(r"[/:]")


@fast_init
@dataclass(frozen=True, slots=True)
class Arn:
    partition: str  # aws, aws-cn, aws-us-gov
    service: str  # iam, sts, s3, kms, eks ...
    region: str  # "" for a global resource (an IAM role, an S3 bucket)
    account: str  # "" for an S3 bucket or object
    resource: str  # key/ID, alias/NAME, role/PATH/NAME, BUCKET/KEY ...

    @classmethod
    def parse(cls, text: str) -> Arn:
        """``text`` as an ARN; ValueError unless it has the six parts, with a partition, a service
        and a resource."""
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not all((parts[1], parts[2], parts[5])):
            raise ValueError(f"not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE): {text!r}")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])

    @property
    def resource_type(self) -> str:
        """The resource part up to its first ``/`` or ``:``: ``key`` of ``key/ID``, ``role`` of
        ``role/PATH/NAME``; "" when there is none. An S3 bucket ARN has no type: its first segment
        is the bucket's name."""
        found = _TYPE_SEPARATOR.search(self.resource)
        return self.resource[: found.start()] if found else ""

    @property
    def resource_id(self) -> str:
        """The resource part after its type: ``ID`` of ``key/ID``, ``PATH/NAME`` of
        ``role/PATH/NAME``; the whole resource part when it has no type."""
        found = _TYPE_SEPARATOR.search(self.resource)
        return self.resource[found.end() :] if found else self.resource

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"
