"""AWS change events (EventBridge "AWS API Call via CloudTrail") as references to the AWS
resources whose change can flip a verdict. Pure: no SDK, no Kubernetes."""

from .calls import CALLS, Call, Kind, Ref, by_name
from .parse import Event, Ignored, Malformed, parse

__all__ = ["CALLS", "Call", "Event", "Ignored", "Kind", "Malformed", "Ref", "by_name", "parse"]
