"""The service rules: what each AWS service adds to the generic evaluation in :mod:`...policy`, one
module per service (s3.py, kms.py), and what they share (common.py).

Other packages import from here only what they need of S3 (which actions are bucket actions, the
public canned ACLs); within :mod:`..access`, each module imports from the service's own module.
"""

from .common import Service, UploadRefusal
from .s3 import PUBLIC_CANNED_ACLS, is_bucket_action

__all__ = ["PUBLIC_CANNED_ACLS", "Service", "UploadRefusal", "is_bucket_action"]
