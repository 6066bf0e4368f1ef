{{- define "canopy.labels" -}}
app.kubernetes.io/name: canopy
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* Annotations of the webhook configurations: cert-manager's CA injector
fills their caBundle from the webhook Certificate. */}}
{{- define "canopy.webhookAnnotations" -}}
{{- if and (not .Values.webhook.selfManaged) .Values.webhook.certManager.enabled }}
cert-manager.io/inject-ca-from: {{ .Values.managerNamespace }}/{{ .Values.webhook.certSecret }}
{{- else }}
{}
{{- end }}
{{- end }}

{{/* The CA bundle of each webhook when the certificate is brought by hand. */}}
{{- define "canopy.caBundle" -}}
{{- if and (not .Values.webhook.selfManaged) (not .Values.webhook.certManager.enabled) .Values.webhook.caBundle }}
caBundle: {{ .Values.webhook.caBundle }}
{{- end }}
{{- end }}
