{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "integr8scode.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "integr8scode.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "integr8scode.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "integr8scode.fullname" .)) -}}
{{- end -}}

{{- define "integr8scode.executorServiceAccount" -}}
{{- printf "%s-executor" (include "integr8scode.fullname" .) -}}
{{- end -}}

{{/* Labels: call with (dict "ctx" $ "component" "web") ----------------------------------------- */}}

{{- define "integr8scode.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{ include "integr8scode.selectorLabels" . }}
{{- end -}}

{{- define "integr8scode.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Configuration ------------------------------------------------------------------------- */}}

{{- define "integr8scode.runtimeImages" -}}
{{- $pairs := list -}}
{{- range .Values.runtimes -}}
{{- $pairs = append $pairs (printf "%s=%s" .name .image) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "integr8scode.pairs" -}}
{{- $pairs := list -}}
{{- range $key, $value := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "integr8scode.allowedHosts" -}}
{{- $hosts := .Values.config.allowedHosts -}}
{{- if not $hosts -}}
{{- $hosts = concat (.Values.ingress.enabled | ternary .Values.ingress.hosts list) (list "localhost") -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{- define "integr8scode.csrfTrustedOrigins" -}}
{{- $origins := .Values.config.csrfTrustedOrigins -}}
{{- if and (not $origins) .Values.ingress.enabled -}}
{{- $scheme := .Values.config.https | ternary "https" "http" -}}
{{- range .Values.ingress.hosts -}}
{{- $origins = append $origins (printf "%s://%s" $scheme .) -}}
{{- end -}}
{{- end -}}
{{- join "," $origins -}}
{{- end -}}

{{- define "integr8scode.secretKeys" -}}
{{- if .Values.secrets.existingSecret -}}
{{- toJson .Values.secrets.existingSecretKeys -}}
{{- else -}}
{{- $keys := list -}}
{{- range $name, $value := .Values.secrets.values -}}
{{- if $value }}{{ $keys = append $keys $name }}{{ end -}}
{{- end -}}
{{- toJson $keys -}}
{{- end -}}
{{- end -}}

{{/* The environment of every application container: the ConfigMap, and the Secret as files
     (<NAME>_FILE, read by integr8scode.env.env_secret) or as plain variables. */}}
{{- define "integr8scode.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "integr8scode.fullname" . }}-env
{{- if not .Values.secrets.asFiles }}
  - secretRef:
      name: {{ include "integr8scode.secretName" . }}
{{- else }}
env:
{{- range (include "integr8scode.secretKeys" . | fromJsonArray) }}
  - name: {{ . }}_FILE
    value: /etc/integr8scode/secrets/{{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "integr8scode.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: var
    mountPath: /var/lib/integr8scode
{{- if .Values.secrets.asFiles }}
  - name: secrets
    mountPath: /etc/integr8scode/secrets
    readOnly: true
{{- end }}
{{- end -}}

{{- define "integr8scode.volumes" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
  - name: var
    emptyDir:
      sizeLimit: 256Mi
{{- if .Values.secrets.asFiles }}
  - name: secrets
    secret:
      secretName: {{ include "integr8scode.secretName" . }}
      defaultMode: 0440
{{- end }}
{{- end -}}

{{/* The pod spec shared by every application workload: (dict "ctx" $ "component" "web"
     "serviceAccount" true). */}}
{{- define "integr8scode.podCommon" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
{{- if .serviceAccount }}
serviceAccountName: {{ include "integr8scode.executorServiceAccount" .ctx }}
automountServiceAccountToken: true
{{- else }}
automountServiceAccountToken: false
{{- end }}
enableServiceLinks: false
{{ include "integr8scode.volumes" .ctx }}
{{- end -}}

{{- define "integr8scode.container" -}}
image: {{ include "integr8scode.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{ include "integr8scode.env" . }}
{{ include "integr8scode.volumeMounts" . }}
{{- end -}}
