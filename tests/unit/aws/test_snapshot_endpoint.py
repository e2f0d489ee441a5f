"""The live snapshot carries a VPC endpoint's VPC and owner (ec2:DescribeVpcEndpoints returns them)
into the scenario, so aws:SourceVpc and aws:VpceAccount are in the upload's context as AWS puts them."""

from __future__ import annotations

from datetime import UTC, datetime

from bucketaccess.access import load_scenario
from bucketaccess.access.intent import UploadIntent
from bucketaccess.access.probes import plan_upload
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.aws.snapshot import take

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/uploader"
ENDPOINT = "vpce-0a1b2c3d4e5f67890"


def test_an_endpoints_vpc_and_owner_reach_the_upload_context() -> None:
    aws = MemoryAws()
    aws.add_role(ROLE)
    aws.add_bucket("photos")
    aws.endpoints[ENDPOINT] = None
    aws.endpoint_vpcs[ENDPOINT] = ("vpc-0a1b2c3d", ACCOUNT)
    snap = take(aws, UploadIntent(role_arn=ROLE, bucket="photos", vpc_endpoint=ENDPOINT))
    request = snap.scenarios[0]["request"]
    assert request["vpcEndpoint"] == {"id": ENDPOINT, "vpcId": "vpc-0a1b2c3d", "account": ACCOUNT}
    (s3,) = [p for p in plan_upload(load_scenario(snap.scenarios[0], datetime.now(UTC))) if p.authorization]
    assert s3.authorization is not None
    keys = s3.authorization.ctx.keys
    assert keys["aws:sourcevpc"] == ("vpc-0a1b2c3d",) and keys["aws:vpceaccount"] == (ACCOUNT,)
    assert keys["aws:sourcevpcarn"] == (f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0a1b2c3d",)
