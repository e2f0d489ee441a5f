"""The IAM policy language: parse and validate documents, match requests, decide one request.

Pure: no boto3, kopf, kubernetes, clock or network. Everything here is a function of its input.
"""

from .arn import Arn
from .context import Caller, PrincipalKind, RequestContext, normalize_keys
from .decision import (
    Authorization,
    Cause,
    CauseKind,
    Decision,
    ExternalAllow,
    Layer,
    NamedPolicy,
    RequestDecision,
    ResourceSide,
    evaluate,
    worst,
)
from .errors import InvalidInput
from .model import ConditionClause, Effect, Policy, Principals, SetQualifier, Statement
from .parse import PolicyKind, parse_policy
from .statements import (
    Hit,
    NearMiss,
    PolicyAnalysis,
    PolicyOrigin,
    PolicySource,
    Scope,
    StatementRef,
    analyze,
)

__all__ = [
    "Arn",
    "Authorization",
    "Caller",
    "Cause",
    "CauseKind",
    "ConditionClause",
    "Decision",
    "Effect",
    "ExternalAllow",
    "Hit",
    "InvalidInput",
    "Layer",
    "NamedPolicy",
    "NearMiss",
    "Policy",
    "PolicyAnalysis",
    "PolicyKind",
    "PolicyOrigin",
    "PolicySource",
    "PrincipalKind",
    "Principals",
    "RequestContext",
    "RequestDecision",
    "ResourceSide",
    "Scope",
    "SetQualifier",
    "Statement",
    "StatementRef",
    "analyze",
    "evaluate",
    "normalize_keys",
    "parse_policy",
    "worst",
]
