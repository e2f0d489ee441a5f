"""The service rules: what each AWS service adds to the generic evaluation in :mod:`...policy`, one
module per service (s3.py, kms.py), each registered in :data:`RULES`, as iam-simulate keeps one
authorizer per service in its ``serviceEngines``; and what they share (common.py).

Other packages import from here only what they need of S3 (which actions are bucket actions and
which list by prefix, the public canned ACLs) and the key-user statement (:mod:`.kms`); within
:mod:`..access`, each module imports from the service's own module.

The rules know no words: a finding is data (:class:`..checks.Blame`), worded afterwards by
:mod:`..remedies`, which imports the rules (an import-linter contract keeps it one way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from ...policy import Cause, RequestDecision
from ...vocabulary import ConditionType
from ..checks import Blame
from ..scenario import Scenario
from . import kms, s3
from .common import DefaultCheck, Outcome, Probe, Service, UploadRefusal
from .s3 import LISTS_BY_PREFIX, PUBLIC_CANNED_ACLS, is_bucket_action


class ServiceRules(Protocol):
    """What one service adds. The service's module is its implementation: mypy checks the modules
    in :data:`RULES` against this Protocol."""

    # The verdict of each check the service owns, when no request failed it.
    DEFAULT_CHECKS: Mapping[ConditionType, DefaultCheck]

    def probes(self, sc: Scenario) -> list[Probe]:
        """The service's requests of the upload, in the order AWS meets them, refusals included."""
        ...

    def findings(
        self, causes: Sequence[Cause], probe: Probe, decision: RequestDecision, sc: Scenario
    ) -> list[Blame]:
        """Which checks one of its refused requests fails, for the ``causes`` no generic layer's
        check (SCP, RCP, boundary, session, endpoint) takes, plus any the service adds."""
        ...


# In the order AWS meets them: S3 first, then the KMS calls S3 makes for it.
RULES: dict[Service, ServiceRules] = {Service.S3: s3, Service.KMS: kms}

__all__ = [
    "LISTS_BY_PREFIX",
    "PUBLIC_CANNED_ACLS",
    "RULES",
    "DefaultCheck",
    "Outcome",
    "Probe",
    "Service",
    "ServiceRules",
    "UploadRefusal",
    "is_bucket_action",
]
