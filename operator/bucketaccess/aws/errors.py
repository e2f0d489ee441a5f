"""What can go wrong talking to AWS, as data: every error carries the AWS error ``code``, the HTTP
``status`` and the ``operation`` (``s3:GetBucketPolicy``), and callers decide by code, never by
message text.

    AwsError                 any other answer (code, status, operation)  -> Unknown / AWSError
    ├── NotFound             the role, bucket or key does not exist       -> False / RoleNotFound ...
    ├── OperatorAccessDenied the operator's own credentials were refused  -> Unknown / OperatorAccessDenied
    └── AwsUnavailable       AWS did not answer (network, 5xx, throttled out) -> Unknown / AWSUnavailable

Error codes that mean "not configured" (NoSuchBucketPolicy, ...) are not errors at all: the
reader turns them into absence (None), the way the ACK controllers do.
"""

from __future__ import annotations

from ..vocabulary import Reason

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
    {
        "NoSuchBucket",
        "NoSuchEntity",
        "NotFoundException",
        "NoSuchKey",
        "404",
        "InvalidVpcEndpointId.NotFound",
        "ResourceNotFoundException",  # EKS: no such cluster or association
        "PolicyNotFoundException",  # Organizations: no such SCP or RCP
    }
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
# Worth another try after a pause: the service is busy, or another writer holds the resource.
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "SlowDown",
        "RequestLimitExceeded",
        "OperationAborted",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
    }
)
# Organizations: the account asked about is not a member.
NOT_A_MEMBER = frozenset(
    {"ChildNotFoundException", "AccountNotFoundException", "ChildNotFound", "AccountNotFound"}
)
# Organizations: a policy type (RCPs) that the organization has not enabled; an endpoint that
# predates RCPs does not know the filter at all and answers InvalidInputException.
POLICY_TYPE_OFF = frozenset(
    {"PolicyTypeNotEnabledException", "PolicyTypeNotEnabled", "InvalidInputException"}
)
CONNECTION = "ConnectionError"  # the code of an error with no answer at all


class AwsError(Exception):
    """Talking to AWS failed; ``reason`` is the condition reason it becomes."""

    reason: Reason = Reason.AWSError

    def __init__(self, message: str, *, code: str = "", status: int = 0, operation: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.operation = operation

    @property
    def retryable(self) -> bool:
        return self.code in THROTTLING


_NOT_FOUND_REASON = {
    "role": Reason.RoleNotFound,
    "bucket": Reason.BucketNotFound,
    "key": Reason.KMSKeyNotFound,
}


class NotFound(AwsError):
    def __init__(
        self, kind: str, name: str, *, code: str = "", status: int = 404, operation: str = ""
    ) -> None:
        super().__init__(f"{kind} {name} does not exist", code=code, status=status, operation=operation)
        self.kind = kind
        self.name = name
        self.reason = _NOT_FOUND_REASON.get(kind, Reason.NotFound)


class OperatorAccessDenied(AwsError):
    reason = Reason.OperatorAccessDenied

    def __init__(self, action: str, detail: str, *, code: str = "AccessDenied", status: int = 403) -> None:
        super().__init__(
            f"the operator's credentials may not call {action}: {detail}",
            code=code,
            status=status,
            operation=action,
        )
        self.action = action


class AwsUnavailable(AwsError):
    reason = Reason.AWSUnavailable
