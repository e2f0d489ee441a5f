{{/* Labels on every object: the same two as deploy/ (kustomize), and Helm's own. */}}
{{- define "bucketaccess.labels" -}}
app.kubernetes.io/name: bucketaccess-operator
app.kubernetes.io/part-of: bucketaccess
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "bucketaccess.selector" -}}
app.kubernetes.io/name: bucketaccess-operator
{{- end }}

{{/* The rules the operator needs on BucketAccesses and what a pass touches, wherever it watches. */}}
{{- define "bucketaccess.objectRules" -}}
- apiGroups: [s3access.dev]
  resources: [bucketaccesses]
  verbs: [get, list, watch, patch]
- apiGroups: [s3access.dev]
  resources: [bucketaccesses/status]
  verbs: [get, patch]
{{- end }}

{{- define "bucketaccess.podRules" -}}
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end }}
