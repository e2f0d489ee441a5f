"""The pass: verify -> reconcile -> write -> conditions, and the release on deletion.

    types.py       what goes in and comes out (Subject, Peer, Outcome, Event, the seams)
    verify.py      read-only verification: role, admission, snapshot, evaluation, layer conditions
    repair.py      the pass: plan from every admitted object, write, verify again; release
    write.py       the write procedure for one bucket policy, key policy or set of grants
    conditions.py  metav1.Condition bookkeeping and Ready, derived in one place

No kopf and no kubernetes here: :mod:`bucketaccess.k8s` drives passes and writes their outcome.
"""

from .conditions import Condition, derive_ready, merge_conditions
from .repair import owners, release, run_pass, sweep
from .types import Deps, Event, Outcome, Peer, RoleResolutionError, Subject, WriteDeps
from .verify import verify

__all__ = [
    "Condition",
    "Deps",
    "Event",
    "Outcome",
    "Peer",
    "RoleResolutionError",
    "Subject",
    "WriteDeps",
    "derive_ready",
    "merge_conditions",
    "owners",
    "release",
    "run_pass",
    "sweep",
    "verify",
]
