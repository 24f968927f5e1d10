{{- define "countersign.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "countersign.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "countersign.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "countersign.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Environment and volumes shared by the server and the migration Job. */}}
{{- define "countersign.env" -}}
envFrom:
  - secretRef:
      name: {{ .Values.envSecret }}
env:
  - name: PORT
    value: {{ .Values.port | quote }}
  - name: COUNTERSIGN_DATA_DIR
    value: /app/data
  - name: COUNTERSIGN_SIGNING_KEY_PATH
    value: /etc/countersign/signing/{{ .Values.signingKey.secretKey }}
  {{- range $name, $value := .Values.env }}
  {{- if $value }}
  - name: {{ $name }}
    value: {{ $value | quote }}
  {{- end }}
  {{- end }}
volumeMounts:
  - name: data
    mountPath: /app/data
  - name: tmp
    mountPath: /tmp
  - name: signing-key
    mountPath: /etc/countersign/signing
    readOnly: true
{{- end -}}

{{- define "countersign.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: signing-key
  secret:
    secretName: {{ .Values.signingKey.secretName }}
    defaultMode: 0440  # readable by the pod's fsGroup (the non-root user)
{{- end -}}

{{- define "countersign.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
