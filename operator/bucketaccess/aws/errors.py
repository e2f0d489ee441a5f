"""What can go wrong reading AWS, in the words the status conditions use.

    AwsError
    ├── NotFound            the role, bucket or key does not exist          -> False / RoleNotFound ...
    ├── OperatorAccessDenied the operator's own credentials were refused   -> Unknown / OperatorAccessDenied
    └── AwsUnavailable      AWS did not answer (network, 5xx, throttled out) -> Unknown / AWSUnavailable

Error codes that mean "not configured" (NoSuchBucketPolicy, ...) are not errors at all: the
reader turns them into absence (None), the way the ACK controllers do.
"""

from __future__ import annotations

# Codes S3/KMS/IAM/Organizations use for "this optional thing is not set".
NOT_CONFIGURED = frozenset(
    {
        "NoSuchBucketPolicy",
        "OwnershipControlsNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchTagSet",
        "AWSOrganizationsNotInUseException",
    }
)
NOT_FOUND = frozenset(
    {"NoSuchBucket", "NoSuchEntity", "NotFoundException", "NoSuchKey", "404", "InvalidVpcEndpointId.NotFound"}
)
ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "403",
        "Forbidden",
    }
)


class AwsError(Exception):
    """Reading AWS failed; ``reason`` is the condition reason it becomes."""

    reason = "AWSError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AwsError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name} does not exist")
        self.kind = kind
        self.name = name
        self.reason = {"role": "RoleNotFound", "bucket": "BucketNotFound", "key": "KMSKeyNotFound"}.get(
            kind, "NotFound"
        )


class OperatorAccessDenied(AwsError):
    reason = "OperatorAccessDenied"

    def __init__(self, action: str, detail: str) -> None:
        super().__init__(f"the operator's credentials may not call {action}: {detail}")
        self.action = action


class AwsUnavailable(AwsError):
    reason = "AWSUnavailable"
