{{/* Labels that select one component: name, instance and component. */}}
{{- define "kevents.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of every object: the selector labels and Helm's own. */}}
{{- define "kevents.labels" -}}
{{ include "kevents.selectorLabels" . }}
helm.sh/chart: {{ .root.Chart.Name }}-{{ .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "kevents.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "kevents.hubName" -}}
{{ .Release.Name }}-hub
{{- end }}

{{- define "kevents.collectorName" -}}
{{ .Release.Name }}-collector
{{- end }}

{{- define "kevents.scheme" -}}
{{ if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{/* The security context of every pod: a fixed non-root user. */}}
{{- define "kevents.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The security context of every container: no privileges, a read-only root. */}}
{{- define "kevents.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}
