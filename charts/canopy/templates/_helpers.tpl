{{- define "canopy.labels" -}}
app.kubernetes.io/name: canopy
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
