"""The upload question: scenario model and loader, the requests an upload implies, the checks.

Pure: no boto3, kopf, kubernetes, clock or network.
"""

from .checks import Check, Explanation, RequestResult, Status
from .explain import explain
from .loader import load_scenario, parse_text
from .scenario import Scenario

__all__ = [
    "Check",
    "Explanation",
    "RequestResult",
    "Scenario",
    "Status",
    "explain",
    "load_scenario",
    "parse_text",
]
