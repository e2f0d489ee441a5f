"""Explanations as JSON (for tools) and as text (for a person at a terminal)."""

from __future__ import annotations

import json

from ..policy import Decision
from ..vocabulary import LAYERS
from .checks import Explanation, Status

_MARKS = {
    Status.TRUE: "[ OK ]",
    Status.FALSE: "[FAIL]",
    Status.NotApplicable: "[ -- ]",
    Status.Unknown: "[ ?? ]",
}
_VERDICTS = {
    Decision.Allowed: "ALLOWED: the upload would succeed",
    Decision.ImplicitDeny: "DENIED (ImplicitDeny): nothing allows part of the upload; AWS answers 403 Access Denied",
    Decision.ExplicitDeny: "DENIED (ExplicitDeny): a Deny or a guardrail blocks the upload; AWS answers 403 Access Denied",
    Decision.Rejected: "REJECTED: AWS refuses the upload with an error other than Access Denied",
    Decision.Unknown: "UNKNOWN: data needed for the decision is missing",
}


def to_json(ex: Explanation) -> str:
    return json.dumps(ex.as_dict(), indent=2) + "\n"


def to_text(ex: Explanation) -> str:
    verdict = _VERDICTS[ex.decision]
    # the first request of the workload itself: sts: requests obtain its role (RoleAssumable)
    main = next((r for r in ex.requests if not r.action.lower().startswith("sts:")), None)
    if main is not None and main.action.lower() != "s3:putobject":
        # only an upload is called an upload: name the request by its action
        verdict = verdict.replace("the upload", f"the {main.action} request")
    lines = [verdict]
    for r in ex.requests:
        lines.append(f"  {r.decision:<12} {r.action} on {r.resource}")
    lines.append("")
    width = max(len(n) for n in LAYERS)
    for name in LAYERS:
        check = ex.checks[name]
        lines.append(f"{_MARKS[check.status]} {name:<{width}}  {check.reason}")
        if check.status in (Status.FALSE, Status.Unknown) or check.statements:
            lines.append(f"       {check.message}")
        if check.statements:
            refs = ", ".join(f"{s.source} {s.sid} ({s.effect})" for s in check.statements)
            lines.append(f"       statements: {refs}")
    return "\n".join(lines) + "\n"
