-- Argo CD health of a BucketAccess (s3access.dev/v1alpha1), from the operator's own verdict.
-- Healthy: Ready=True. Degraded: Ready=False, with the reason and the layer's message.
-- Progressing: no verdict for the current spec yet (new, changed, or AWS could not be read).
local hs = {}
local status = obj.status
local generation = obj.metadata and obj.metadata.generation
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator's first verdict"
  return hs
end
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "the operator has not yet verified generation " .. tostring(generation)
  return hs
end
for _, condition in ipairs(status.conditions) do
  if condition.type == "Ready" then
    local why = (condition.reason or "") .. ": " .. (condition.message or "")
    if condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message or "Ready"
    elseif condition.status == "False" then
      hs.status = "Degraded"
      hs.message = why
    else
      hs.status = "Progressing"
      hs.message = why
    end
    return hs
  end
end
hs.status = "Progressing"
hs.message = "waiting for the operator's first verdict"
return hs
