"""The words of the status: condition types, condition status, every reason the operator or
``bucketaccess explain`` can emit, the Event types and where a workload's session comes from, as
closed vocabularies whose values are the wire strings.

A leaf module (it imports nothing of the package), so the pure core and the edges share it.
``docs/api.md`` documents each reason; a unit test keeps the two in step and checks every value
against apimachinery's pattern for ``Condition.reason``.
"""

from __future__ import annotations

import re
from enum import StrEnum

# apimachinery's rule for metav1.Condition.reason
REASON_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")


class ConditionStatus(StrEnum):
    """metav1.ConditionStatus: nothing else may be written."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionType(StrEnum):
    """The conditions of a BucketAccess, in the order the status lists them; Ready reports the
    first failing layer of this order."""

    Ready = "Ready"
    Admitted = "Admitted"
    RoleAssumable = "RoleAssumable"
    IdentityPolicyAllows = "IdentityPolicyAllows"
    KMSKeyUsable = "KMSKeyUsable"
    BucketPolicyAllows = "BucketPolicyAllows"
    BucketACLAllows = "BucketACLAllows"
    SCPAllows = "SCPAllows"
    RCPAllows = "RCPAllows"
    PermissionsBoundaryAllows = "PermissionsBoundaryAllows"
    SessionPolicyAllows = "SessionPolicyAllows"
    PublicAccessBlockAllows = "PublicAccessBlockAllows"
    VPCEndpointPolicyAllows = "VPCEndpointPolicyAllows"
    Reconciled = "Reconciled"


# The layer conditions: the ConditionTypes ``explain`` checks, one per layer AWS consults, in the
# order the status lists them (Ready reports the first failing one). The others (Ready, Admitted,
# Reconciled) are about the operator's own work.
LAYERS: tuple[ConditionType, ...] = (
    ConditionType.RoleAssumable,
    ConditionType.IdentityPolicyAllows,
    ConditionType.KMSKeyUsable,
    ConditionType.BucketPolicyAllows,
    ConditionType.BucketACLAllows,
    ConditionType.SCPAllows,
    ConditionType.RCPAllows,
    ConditionType.PermissionsBoundaryAllows,
    ConditionType.SessionPolicyAllows,
    ConditionType.PublicAccessBlockAllows,
    ConditionType.VPCEndpointPolicyAllows,
)


class IdentitySource(StrEnum):
    """Where the workload's role session comes from (``status.identity.source``): the role the spec
    names, the ServiceAccount's IRSA annotation (a web identity token), or an EKS Pod Identity
    association."""

    RoleArn = "RoleArn"
    IRSA = "IRSA"
    PodIdentity = "PodIdentity"


class EventType(StrEnum):
    """core/v1 Event.type: nothing else may be posted."""

    Normal = "Normal"
    Warning = "Warning"


class Reason(StrEnum):
    """Every reason of a condition or an Event. Grouped by who says it; each is documented."""

    # --- a layer lets the upload through, or plays no part (explain's checks)
    AllowedByStatement = "AllowedByStatement"
    NotEvaluated = "NotEvaluated"  # RoleAssumable when the role is named directly
    IssuerNotConfirmed = "IssuerNotConfirmed"  # RoleAssumable: IRSA trust met for the issuer it names
    AllowedAtEveryLevel = "AllowedAtEveryLevel"
    GrantedByResourcePolicy = "GrantedByResourcePolicy"
    RootUser = "RootUser"
    KeyUsable = "KeyUsable"
    NoKMSEncryption = "NoKMSEncryption"
    NoBucketPolicy = "NoBucketPolicy"
    NoDenyingStatement = "NoDenyingStatement"
    ACLsDisabled = "ACLsDisabled"
    WriteGranted = "WriteGranted"
    GrantedByACL = "GrantedByACL"
    NotRequired = "NotRequired"
    NotLimiting = "NotLimiting"
    NoPermissionsBoundary = "NoPermissionsBoundary"
    NoSessionPolicy = "NoSessionPolicy"
    NoPublicAccessBlock = "NoPublicAccessBlock"
    NotTriggered = "NotTriggered"
    NoVPCEndpoint = "NoVPCEndpoint"
    DefaultEndpointPolicy = "DefaultEndpointPolicy"
    NoOrganization = "NoOrganization"
    ServiceLinkedRole = "ServiceLinkedRole"
    ManagementAccount = "ManagementAccount"
    NoneAttached = "NoneAttached"

    # --- a layer is a cause of the 403 (explain's checks)
    ExplicitDeny = "ExplicitDeny"
    NoAllowStatement = "NoAllowStatement"
    NotAKeyUser = "NotAKeyUser"
    NoIAMPermission = "NoIAMPermission"
    CrossAccountNotGranted = "CrossAccountNotGranted"
    NoWriteGrant = "NoWriteGrant"
    NoACLGrant = "NoACLGrant"
    AllowConditionNotMet = "AllowConditionNotMet"
    PublicPolicyRestricted = "PublicPolicyRestricted"
    PublicACLIgnored = "PublicACLIgnored"

    # --- AWS refuses the upload before any policy decides (explain's checks)
    ACLNotSupported = "ACLNotSupported"
    PublicACLBlocked = "PublicACLBlocked"
    KeyIdWithoutKMSHeader = "KeyIdWithoutKMSHeader"
    KMSKeyDisabled = "KMSKeyDisabled"
    KMSKeyPendingDeletion = "KMSKeyPendingDeletion"
    KMSKeyWrongRegion = "KMSKeyWrongRegion"
    KMSKeyNotInScenario = "KMSKeyNotInScenario"
    KeyPolicyNotInScenario = "KeyPolicyNotInScenario"
    KMSKeyNotFound = "KMSKeyNotFound"
    RoleNotFound = "RoleNotFound"
    BucketNotFound = "BucketNotFound"

    # --- the data a layer needs could not be had (Unknown)
    OperatorAccessDenied = "OperatorAccessDenied"
    AWSUnavailable = "AWSUnavailable"
    AWSError = "AWSError"
    NotFound = "NotFound"
    SCPsNotReadable = "SCPsNotReadable"
    CannotEvaluate = "CannotEvaluate"

    # --- resolving the role of a ServiceAccount
    NoPodIdentityAssociation = "NoPodIdentityAssociation"
    PodIdentityNotReadable = "PodIdentityNotReadable"
    ServiceAccountNotFound = "ServiceAccountNotFound"
    ServiceAccountNotReadable = "ServiceAccountNotReadable"
    RoleAnnotationMissing = "RoleAnnotationMissing"
    InvalidRoleAnnotation = "InvalidRoleAnnotation"

    # --- Admitted: the class's verdict
    AdmittedByClass = "AdmittedByClass"
    ClassNotFound = "ClassNotFound"
    NamespaceNotAdmitted = "NamespaceNotAdmitted"
    BucketNotAdmitted = "BucketNotAdmitted"
    PrefixNotAdmitted = "PrefixNotAdmitted"
    RoleNotAdmitted = "RoleNotAdmitted"
    ActionNotAdmitted = "ActionNotAdmitted"
    ACLNotAdmitted = "ACLNotAdmitted"
    KMSKeyNotAdmitted = "KMSKeyNotAdmitted"
    NamespaceShareExceeded = "NamespaceShareExceeded"
    PolicyShareExceeded = "PolicyShareExceeded"

    # --- Reconciled: the operator's own writes
    GrantsInPlace = "GrantsInPlace"
    ObserveOnly = "ObserveOnly"
    NotAdmitted = "NotAdmitted"
    PolicySizeLimit = "PolicySizeLimit"
    LockoutRisk = "LockoutRisk"
    UnreadablePolicy = "UnreadablePolicy"
    WriteNotVerified = "WriteNotVerified"
    WriteFailed = "WriteFailed"
    GrantNeedsBucketKey = "GrantNeedsBucketKey"

    # --- Ready: the first failing layer, named (reconcile/conditions.py, _READY_REASON)
    UploadAllowed = "UploadAllowed"
    ExplicitDenyInIdentityPolicy = "ExplicitDenyInIdentityPolicy"
    ExplicitDenyInKeyPolicy = "ExplicitDenyInKeyPolicy"
    ExplicitDenyInBucketPolicy = "ExplicitDenyInBucketPolicy"
    ExplicitDenyInBucketACL = "ExplicitDenyInBucketACL"
    ExplicitDenyInSCP = "ExplicitDenyInSCP"
    ExplicitDenyInRCP = "ExplicitDenyInRCP"
    ExplicitDenyInPermissionsBoundary = "ExplicitDenyInPermissionsBoundary"
    ExplicitDenyInSessionPolicy = "ExplicitDenyInSessionPolicy"
    ExplicitDenyInPublicAccessBlock = "ExplicitDenyInPublicAccessBlock"
    ExplicitDenyInVPCEndpointPolicy = "ExplicitDenyInVPCEndpointPolicy"
    NoAllowInIdentityPolicy = "NoAllowInIdentityPolicy"
    NoAllowInKeyPolicy = "NoAllowInKeyPolicy"
    NoAllowInBucketPolicy = "NoAllowInBucketPolicy"
    NoAllowInBucketACL = "NoAllowInBucketACL"
    NoAllowInSCP = "NoAllowInSCP"
    NoAllowInRCP = "NoAllowInRCP"
    NoAllowInPermissionsBoundary = "NoAllowInPermissionsBoundary"
    NoAllowInSessionPolicy = "NoAllowInSessionPolicy"
    NoAllowInPublicAccessBlock = "NoAllowInPublicAccessBlock"
    NoAllowInVPCEndpointPolicy = "NoAllowInVPCEndpointPolicy"

    # --- RoleAssumable: the workload cannot obtain its role
    RoleNotTrusted = "RoleNotTrusted"
    TrustConditionNotMet = "TrustConditionNotMet"
    RoleTrustDenies = "RoleTrustDenies"
    OIDCProviderMissing = "OIDCProviderMissing"
    OIDCAudienceNotAllowed = "OIDCAudienceNotAllowed"
    OIDCIssuerUnknown = "OIDCIssuerUnknown"

    # --- Events
    GrantedBucketAccess = "GrantedBucketAccess"
    RemovedBucketAccess = "RemovedBucketAccess"
    AddedKMSKeyUser = "AddedKMSKeyUser"
    RemovedKMSKeyUser = "RemovedKMSKeyUser"
    RestoredManagedStatement = "RestoredManagedStatement"
    ReplacedStalePrincipal = "ReplacedStalePrincipal"
