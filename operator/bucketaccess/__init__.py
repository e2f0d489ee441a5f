"""BucketAccess: verify and repair every AWS layer an S3 upload passes through."""

__version__ = "0.1.0"
