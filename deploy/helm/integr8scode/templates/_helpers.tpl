{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "integr8scode.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "integr8scode.image" -}}
{{- with .Values.image.digest -}}
{{- include "integr8scode.checkDigest" (dict "digest" . "where" "image.digest") -}}
{{- printf "%s@%s" $.Values.image.repository . -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* A runtime's image, pinned when it has a digest: image@sha256:... */}}
{{- define "integr8scode.runtimeImage" -}}
{{- with .digest -}}
{{- include "integr8scode.checkDigest" (dict "digest" . "where" (printf "the digest of runtime %s" $.name)) -}}
{{- printf "%s@%s" $.image . -}}
{{- else -}}
{{- .image -}}
{{- end -}}
{{- end -}}

{{- define "integr8scode.checkDigest" -}}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" .digest) -}}
{{- fail (printf "%s must be sha256: and 64 hex digits, not %q" .where .digest) -}}
{{- end -}}
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
{{- $pairs = append $pairs (printf "%s=%s" .name (include "integr8scode.runtimeImage" .)) -}}
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


{{/* The sandbox namespace's budget ------------------------------------------------------- */}}

{{/* A quantity of memory or storage ("64Mi", "1Gi", "512Ki", 1048576) in MiB, rounded up. */}}
{{- define "integr8scode.mebibytes" -}}
{{- $text := toString . -}}
{{- if hasSuffix "Gi" $text -}}{{ mul (trimSuffix "Gi" $text | int64) 1024 }}
{{- else if hasSuffix "Mi" $text -}}{{ trimSuffix "Mi" $text | int64 }}
{{- else if hasSuffix "Ki" $text -}}{{ div (add (trimSuffix "Ki" $text | int64) 1023) 1024 }}
{{- else if regexMatch "^[0-9]+$" $text -}}{{ div (add ($text | int64) 1048575) 1048576 }}
{{- else -}}{{ fail (printf "cannot read %q as a quantity of memory (use Ki, Mi or Gi)" $text) }}
{{- end -}}
{{- end -}}

{{/* A CPU quantity ("100m", "1", "1.5") in millicores. */}}
{{- define "integr8scode.millicores" -}}
{{- $text := toString . -}}
{{- if hasSuffix "m" $text -}}{{ trimSuffix "m" $text | int64 }}
{{- else -}}{{ mulf ($text | float64) 1000 | ceil | int64 }}
{{- end -}}
{{- end -}}

{{/* The most a run's pod log takes, in MiB: manifests.log_allowance_mb, the same arithmetic
     (deploy/tests/test_helm_chart.py checks that both agree). Every byte of output on each
     stream its own record (55 bytes logged with the runtime's framing); the returned files'
     records with their names (at most 5464 bytes of base64) and framing. */}}
{{- define "integr8scode.logAllowanceMb" -}}
{{- $output := .Values.config.limits.outputBytes | int64 -}}
{{- $files := .Values.config.filesOut -}}
{{- $bytes := mul 2 $output 55 -}}
{{- if gt ($files.maxCount | int64) 0 -}}
{{- $total := $files.maxBytes | int64 -}}
{{- $records := add ($files.maxCount | int64) (div (add $total 49151) 49152) -}}
{{- $encoded := add (div (add (mul $total 4) 2) 3) (mul $records 5471) -}}
{{- $framed := add $encoded (mul (add $records (div (add $encoded 8191) 8192)) 48) -}}
{{- $bytes = add $bytes $framed -}}
{{- end -}}
{{- add (div (add $bytes 1048575) 1048576) 1 -}}
{{- end -}}

{{/* The most one sandbox pod takes, as JSON: {cpu (millicores), cpuRequest, memory, storage
     (MiB), overheadCpu, overheadMemory}: the larger of the general and the data runtime's caps. */}}
{{- define "integr8scode.sandboxPod" -}}
{{- $limits := .Values.config.limits -}}
{{- $memory := $limits.memoryMb | int64 -}}
{{- $disk := $limits.diskMb | int64 -}}
{{- range .Values.runtimes -}}
{{- if hasSuffix "-data" .name -}}
{{- $memory = max $memory ($.Values.config.dataLimits.memoryMb | int64) -}}
{{- $disk = max $disk ($.Values.config.dataLimits.diskMb | int64) -}}
{{- end -}}
{{- if has .name (include "integr8scode.compiledRuntimes" $ | splitList " ") -}}
{{- $memory = max $memory ($.Values.config.compileLimits.memoryMb | int64) -}}
{{- end -}}
{{- end -}}
{{- $overheadCpu := 0 -}}
{{- $overheadMemory := 0 -}}
{{- $class := .Values.sandbox.runtimeClass -}}
{{- if and $class.name $class.create $class.overhead -}}
{{- with $class.overhead.cpu }}{{ $overheadCpu = include "integr8scode.millicores" . | int64 }}{{ end -}}
{{- with $class.overhead.memory }}{{ $overheadMemory = include "integr8scode.mebibytes" . | int64 }}{{ end -}}
{{- end -}}
{{- dict
    "cpu" (include "integr8scode.millicores" .Values.sandbox.cpuLimit | int64)
    "cpuRequest" (include "integr8scode.millicores" .Values.sandbox.cpuRequest | int64)
    "memory" $memory
    "storage" (add $disk (include "integr8scode.logAllowanceMb" . | int64) (ternary 2 0 (gt (len .Values.sandbox.pool) 0)))
    "overheadCpu" $overheadCpu
    "overheadMemory" $overheadMemory
  | toJson -}}
{{- end -}}

{{/* Sandbox pods at once: every executor at its concurrency, and the extra executor of a
     rolling update (maxSurge 25%, rounded up). */}}
{{/* The compiled languages of executions/runners/languages.py (a test keeps them equal): their
pods build in an init container with the compile limits. */}}
{{- define "integr8scode.compiledRuntimes" -}}
c cpp go rust java haskell typescript
{{- end -}}

{{- define "integr8scode.sandboxPods" -}}
{{- $replicas := .Values.executor.replicas | int64 -}}
{{- $idle := 0 -}}
{{- range $runtime, $count := .Values.sandbox.pool }}{{ $idle = add $idle (mul 2 ($count | int64)) }}{{ end -}}
{{- mul (add $replicas (div (add $replicas 3) 4)) (add (.Values.executor.concurrency | int64) $idle) -}}
{{- end -}}

{{/* Where the sandbox pods go (the prepull DaemonSet too): (dict "ctx" $ "tolerations" list). */}}
{{- define "integr8scode.sandboxScheduling" -}}
{{- with .ctx.Values.sandbox.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .ctx.Values.sandbox.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Why a secret is required, for the message that stops a render without it. */}}
{{- define "integr8scode.requiredWhy" -}}
{{- $why := dict
    "SECRET_KEY" "Django's signing key, the same in every pod"
    "HEADLESS_JWT_PRIVATE_KEY" "the RSA key (PEM) that signs API tokens"
    "MONGODB_URL" "the executions' store"
    "DATABASE_URL" "PostgreSQL; without it every pod would keep its own SQLite file in an emptyDir and the migration Job would migrate a throwaway copy"
    "REDIS_URL" "live output and caches across replicas"
-}}
{{- get $why . | default "listed in secrets.required" -}}
{{- end -}}
