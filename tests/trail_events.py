"""EventBridge events of detail-type "AWS API Call via CloudTrail", in the shape the CloudTrail
and EventBridge documentation give: the EventBridge envelope (version, id, detail-type, source,
account, time, region, resources, detail) around the CloudTrail record (eventVersion,
userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent,
requestParameters, responseElements, requestID, eventID, readOnly, eventType, managementEvent,
recipientAccountId, eventCategory). One fixture per API call of bucketaccess.trail's table."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from bucketaccess.trail import Kind, Ref

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
ADMIN = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:alice",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
    "accountId": ACCOUNT,
    "accessKeyId": "ASIAEXAMPLE",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin",
            "accountId": ACCOUNT,
            "userName": "Admin",
        },
        "attributes": {"creationDate": "2026-12-06T10:00:00Z", "mfaAuthenticated": "false"},
    },
}


def cloudtrail_event(
    service: str,
    name: str,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None = None,
    *,
    identity: dict[str, Any] | None = None,
    resources: list[dict[str, str]] | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
    when: dt.datetime | None = None,
    event_id: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity or ADMIN,
        "eventTime": stamp,
        "eventSource": f"{service}.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if resources is not None:
        detail["resources"] = resources
    if error:
        detail["errorCode"], detail["errorMessage"] = error, "refused"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{service}",
        "account": account,
        "time": stamp,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def _bucket(
    name: str, extra: dict[str, Any] | None = None
) -> tuple[str, str, dict[str, Any], None, list[Ref]]:
    return (
        "s3",
        name,
        {"bucketName": "photos", "Host": "photos.s3.amazonaws.com", **(extra or {})},
        None,
        [Ref(Kind.Bucket, "photos")],
    )


def _key(name: str, extra: dict[str, Any] | None = None) -> tuple[str, str, dict[str, Any], None, list[Ref]]:
    return ("kms", name, {"keyId": KEY_ARN, **(extra or {})}, None, [Ref(Kind.Key, KEY_ARN)])


def _role(name: str, extra: dict[str, Any] | None = None) -> tuple[str, str, dict[str, Any], None, list[Ref]]:
    return ("iam", name, {"roleName": "uploader", **(extra or {})}, None, [Ref(Kind.Role, "uploader")])


POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/shared-upload"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{REGION}.amazonaws.com/id/EXAMPLED539D4633E53DE1B7"
ASSOCIATION = {
    "association": {
        "clusterName": "prod",
        "namespace": "team",
        "serviceAccount": "uploader",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/uploader",
        "associationId": "a-abcdefghijklmnop1",
    }
}

# API call -> (service, eventName, requestParameters, responseElements, expected refs)
FIXTURES: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, list[Ref]]] = {
    "PutBucketPolicy": _bucket(
        "PutBucketPolicy", {"bucketPolicy": {"Version": "2012-10-17", "Statement": []}, "policy": [""]}
    ),
    "DeleteBucketPolicy": _bucket("DeleteBucketPolicy", {"policy": [""]}),
    "PutBucketAcl": _bucket("PutBucketAcl", {"acl": [""], "AccessControlPolicy": {}}),
    "PutBucketOwnershipControls": _bucket("PutBucketOwnershipControls", {"ownershipControls": [""]}),
    "DeleteBucketOwnershipControls": _bucket("DeleteBucketOwnershipControls", {"ownershipControls": [""]}),
    "PutBucketEncryption": _bucket("PutBucketEncryption", {"encryption": [""]}),
    "DeleteBucketEncryption": _bucket("DeleteBucketEncryption", {"encryption": [""]}),
    "PutBucketPublicAccessBlock": _bucket("PutBucketPublicAccessBlock", {"publicAccessBlock": [""]}),
    "DeleteBucketPublicAccessBlock": _bucket("DeleteBucketPublicAccessBlock", {"publicAccessBlock": [""]}),
    "PutAccountPublicAccessBlock": (
        "s3",
        "PutAccountPublicAccessBlock",
        {
            "PublicAccessBlockConfiguration": {"BlockPublicPolicy": True},
            "Host": f"{ACCOUNT}.s3-control.{REGION}.amazonaws.com",
        },
        None,
        [Ref(Kind.AccountPublicAccessBlock, ACCOUNT)],
    ),
    "DeleteAccountPublicAccessBlock": (
        "s3",
        "DeleteAccountPublicAccessBlock",
        {"accountId": ACCOUNT},
        None,
        [Ref(Kind.AccountPublicAccessBlock, ACCOUNT)],
    ),
    "ModifyVpcEndpoint": (
        "ec2",
        "ModifyVpcEndpoint",
        {"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0a1b2c3d4e5f67890", "PolicyDocument": "{}"}},
        {"ModifyVpcEndpointResponse": {"return": True}},
        [Ref(Kind.VpcEndpoint, "vpce-0a1b2c3d4e5f67890")],
    ),
    "PutKeyPolicy": _key(
        "PutKeyPolicy", {"policyName": "default", "policy": "{}", "bypassPolicyLockoutSafetyCheck": False}
    ),
    "CreateGrant": _key(
        "CreateGrant",
        {"granteePrincipal": "arn:aws:iam::123456789012:role/uploader", "operations": ["Decrypt"]},
    ),
    "RetireGrant": (
        "kms",
        "RetireGrant",
        {"grantId": "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60"},
        None,
        [Ref(Kind.Key, KEY_ARN)],
    ),
    "RevokeGrant": _key(
        "RevokeGrant", {"grantId": "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60"}
    ),
    "EnableKey": _key("EnableKey"),
    "DisableKey": _key("DisableKey"),
    "ScheduleKeyDeletion": _key("ScheduleKeyDeletion", {"pendingWindowInDays": 7}),
    "CancelKeyDeletion": _key("CancelKeyDeletion"),
    "CreateAlias": (
        "kms",
        "CreateAlias",
        {"aliasName": "alias/uploads", "targetKeyId": KEY_ID},
        None,
        [Ref(Kind.Alias, "alias/uploads"), Ref(Kind.Key, KEY_ID)],
    ),
    "UpdateAlias": (
        "kms",
        "UpdateAlias",
        {"aliasName": "alias/uploads", "targetKeyId": KEY_ID},
        None,
        [Ref(Kind.Alias, "alias/uploads"), Ref(Kind.Key, KEY_ID)],
    ),
    "DeleteAlias": (
        "kms",
        "DeleteAlias",
        {"aliasName": "alias/uploads"},
        None,
        [Ref(Kind.Alias, "alias/uploads")],
    ),
    "PutRolePolicy": _role("PutRolePolicy", {"policyName": "upload", "policyDocument": "{}"}),
    "DeleteRolePolicy": _role("DeleteRolePolicy", {"policyName": "upload"}),
    "AttachRolePolicy": _role("AttachRolePolicy", {"policyArn": POLICY_ARN}),
    "DetachRolePolicy": _role("DetachRolePolicy", {"policyArn": POLICY_ARN}),
    "PutRolePermissionsBoundary": _role("PutRolePermissionsBoundary", {"permissionsBoundary": POLICY_ARN}),
    "DeleteRolePermissionsBoundary": _role("DeleteRolePermissionsBoundary"),
    "UpdateAssumeRolePolicy": _role("UpdateAssumeRolePolicy", {"policyDocument": "{}"}),
    "DeleteRole": _role("DeleteRole"),
    "CreatePolicyVersion": (
        "iam",
        "CreatePolicyVersion",
        {"policyArn": POLICY_ARN, "policyDocument": "{}", "setAsDefault": True},
        {"policyVersion": {"versionId": "v2", "isDefaultVersion": True}},
        [Ref(Kind.ManagedPolicy, POLICY_ARN)],
    ),
    "SetDefaultPolicyVersion": (
        "iam",
        "SetDefaultPolicyVersion",
        {"policyArn": POLICY_ARN, "versionId": "v1"},
        None,
        [Ref(Kind.ManagedPolicy, POLICY_ARN)],
    ),
    "CreateOpenIDConnectProvider": (
        "iam",
        "CreateOpenIDConnectProvider",
        {"url": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE", "clientIDList": ["sts.amazonaws.com"]},
        {"openIDConnectProviderArn": OIDC_ARN},
        [Ref(Kind.OidcProvider, "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE")],
    ),
    "DeleteOpenIDConnectProvider": (
        "iam",
        "DeleteOpenIDConnectProvider",
        {"openIDConnectProviderArn": OIDC_ARN},
        None,
        [Ref(Kind.OidcProvider, OIDC_ARN)],
    ),
    "AddClientIDToOpenIDConnectProvider": (
        "iam",
        "AddClientIDToOpenIDConnectProvider",
        {"openIDConnectProviderArn": OIDC_ARN, "clientID": "sts.amazonaws.com"},
        None,
        [Ref(Kind.OidcProvider, OIDC_ARN)],
    ),
    "RemoveClientIDFromOpenIDConnectProvider": (
        "iam",
        "RemoveClientIDFromOpenIDConnectProvider",
        {"openIDConnectProviderArn": OIDC_ARN, "clientID": "sts.amazonaws.com"},
        None,
        [Ref(Kind.OidcProvider, OIDC_ARN)],
    ),
    "UpdatePolicy": (
        "organizations",
        "UpdatePolicy",
        {"policyId": "p-examplepolicyid111", "content": "{}"},
        None,
        [Ref(Kind.OrgPolicy, "p-examplepolicyid111")],
    ),
    "AttachPolicy": (
        "organizations",
        "AttachPolicy",
        {"policyId": "p-examplepolicyid111", "targetId": "ou-examplerootid111-exampleouid111"},
        None,
        [
            Ref(Kind.OrgPolicy, "p-examplepolicyid111"),
            Ref(Kind.OrgTarget, "ou-examplerootid111-exampleouid111"),
        ],
    ),
    "DetachPolicy": (
        "organizations",
        "DetachPolicy",
        {"policyId": "p-examplepolicyid111", "targetId": "111111111111"},
        None,
        [Ref(Kind.OrgPolicy, "p-examplepolicyid111"), Ref(Kind.OrgTarget, "111111111111")],
    ),
    "MoveAccount": (
        "organizations",
        "MoveAccount",
        {
            "accountId": "111111111111",
            "sourceParentId": "r-examplerootid111",
            "destinationParentId": "ou-examplerootid111-exampleouid111",
        },
        None,
        [Ref(Kind.Account, "111111111111")],
    ),
    "CreatePodIdentityAssociation": (
        "eks",
        "CreatePodIdentityAssociation",
        {
            "clusterName": "prod",
            "namespace": "team",
            "serviceAccount": "uploader",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/uploader",
        },
        ASSOCIATION,
        [Ref(Kind.ServiceAccount, "team/uploader")],
    ),
    "UpdatePodIdentityAssociation": (
        "eks",
        "UpdatePodIdentityAssociation",
        {
            "clusterName": "prod",
            "associationId": "a-abcdefghijklmnop1",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/other",
        },
        ASSOCIATION,
        [Ref(Kind.ServiceAccount, "team/uploader")],
    ),
    "DeletePodIdentityAssociation": (
        "eks",
        "DeletePodIdentityAssociation",
        {"clusterName": "prod", "associationId": "a-abcdefghijklmnop1"},
        ASSOCIATION,
        [Ref(Kind.ServiceAccount, "team/uploader")],
    ),
}

# CloudTrail names the key a grant was retired from in the record's resources
RESOURCES = {"RetireGrant": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY_ARN}]}


def fixture_event(call: str, **kwargs: Any) -> dict[str, Any]:
    service, name, request, response, _ = FIXTURES[call]
    return cloudtrail_event(service, name, request, response, resources=RESOURCES.get(call), **kwargs)
