-- Argo CD health of a BucketAccessClass (s3access.dev/v1alpha1). A class has no status: the API
-- server refuses an invalid one (schema and CEL), so one that exists is Healthy.
local hs = {}
hs.status = "Healthy"
hs.message = "admission policy in force"
return hs
