{{/* Names and labels. */}}

{{- define "burgernet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefix of every resource; the release name alone when it already holds the chart name. */}}
{{- define "burgernet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "burgernet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "burgernet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "burgernet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "burgernet.labels" -}}
helm.sh/chart: {{ include "burgernet.chart" . }}
{{ include "burgernet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: burgernet
{{- end }}

{{/* Labels of one component (api, worker, migrate); call with (dict "root" $ "component" "api"). */}}
{{- define "burgernet.componentSelectorLabels" -}}
{{ include "burgernet.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "burgernet.componentLabels" -}}
{{ include "burgernet.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "burgernet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "burgernet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "burgernet.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Fixed places: ports, mount paths. */}}

{{- define "burgernet.apiPort" -}}8080{{- end }}
{{- define "burgernet.workerPort" -}}8081{{- end }}
{{- define "burgernet.secretsDir" -}}/var/run/secrets/burgernet{{- end }}
{{- define "burgernet.mediaDir" -}}/var/lib/burgernet/media{{- end }}
{{- define "burgernet.databaseCaDir" -}}/etc/burgernet/database-ca{{- end }}

{{/* The database's CA certificate (config.database.caCertificate), for sslrootcert: the volume
and its mount, each empty when no source is set. The same in every pod, migrations included. */}}
{{- define "burgernet.databaseCaVolume" -}}
{{- $ca := .Values.config.database.caCertificate }}
{{- if or $ca.configMap $ca.secret }}
- name: database-ca
  {{- if $ca.configMap }}
  configMap:
    name: {{ $ca.configMap }}
  {{- else }}
  secret:
    secretName: {{ $ca.secret }}
  {{- end }}
    defaultMode: 0444
    items:
      - key: {{ $ca.key }}
        path: ca.crt
{{- end }}
{{- end }}

{{- define "burgernet.databaseCaVolumeMount" -}}
{{- $ca := .Values.config.database.caCertificate }}
{{- if or $ca.configMap $ca.secret }}
- name: database-ca
  mountPath: {{ include "burgernet.databaseCaDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The TCP port a URL connects to: its own, else its scheme's (the NetworkPolicies' egress). */}}
{{- define "burgernet.urlPort" -}}
{{- $url := urlParse . }}
{{- $port := trimPrefix ":" (regexFind ":[0-9]+$" $url.host) }}
{{- if $port }}{{ $port }}{{ else if eq $url.scheme "http" }}80{{ else }}443{{ end }}
{{- end }}

{{/* Checks that the schema cannot express. Included by every workload template. */}}
{{- define "burgernet.validate" -}}
{{- if and (eq .Values.config.media.store "filesystem") (not .Values.config.media.filesystem.existingClaim) }}
{{- fail "config.media.store is filesystem: set config.media.filesystem.existingClaim to a ReadWriteMany PersistentVolumeClaim that the API and the workers share (or use store s3)" }}
{{- end }}
{{- $grace := int .Values.workers.shutdownGraceSeconds }}
{{- if not (kindIs "invalid" .Values.workers.terminationGracePeriodSeconds) }}
{{- if le (int .Values.workers.terminationGracePeriodSeconds) (add $grace 10) }}
{{- fail (printf "workers.terminationGracePeriodSeconds (%d) must exceed workers.shutdownGraceSeconds (%d) + 10, or running jobs are killed before they are released" (int .Values.workers.terminationGracePeriodSeconds) $grace) }}
{{- end }}
{{- end }}
{{- if and (gt (int .Values.api.preStopSleepSeconds) 0) (le (int .Values.api.terminationGracePeriodSeconds) (int .Values.api.preStopSleepSeconds)) }}
{{- fail "api.terminationGracePeriodSeconds must exceed api.preStopSleepSeconds, or the API is killed before it finishes its requests" }}
{{- end }}
{{- if and .Values.config.database.caCertificate.configMap .Values.config.database.caCertificate.secret }}
{{- fail "config.database.caCertificate: set configMap or secret, not both" }}
{{- end }}
{{- range $name, $_ := .Values.config.extraEnv }}
{{- if has $name (include "burgernet.secretEnvNames" $ | splitList " ") }}
{{- fail (printf "config.extraEnv.%s: that is a secret; put it in the Secret named by existingSecret (key: see secretKeys)" $name) }}
{{- end }}
{{- if has $name (list "BURGERNET_BIND" "BURGERNET_WORKER_BIND" "BURGERNET_SHUTDOWN_GRACE" "BURGERNET_MEDIA_DIR" "BURGERNET_LOG_FORMAT" "TMPDIR") }}
{{- fail (printf "config.extraEnv.%s: the chart sets this one itself (ports, mounts and probes depend on it); see README.md" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Worker termination grace: explicit, or the shutdown grace plus a margin. */}}
{{- define "burgernet.workerTerminationGrace" -}}
{{- if kindIs "invalid" .Values.workers.terminationGracePeriodSeconds }}
{{- add (int .Values.workers.shutdownGraceSeconds) 15 }}
{{- else }}
{{- int .Values.workers.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Every variable the chart takes from the Secret, so config.extraEnv cannot shadow one. */}}
{{- define "burgernet.secretEnvNames" -}}
DATABASE_URL BURGERNET_DOSSIER_CHECKPOINT_KEY BURGERNET_PARTICIPANT_TOKEN_SECRET BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET BURGERNET_SMS_GATEWAY_API_KEY BURGERNET_SMS_WEBHOOK_SECRET BURGERNET_SMS_WEBHOOK_PREVIOUS_SECRET BURGERNET_VOICE_GATEWAY_API_KEY BURGERNET_VOICE_WEBHOOK_SECRET BURGERNET_VOICE_WEBHOOK_PREVIOUS_SECRET BURGERNET_SMTP_URL BURGERNET_EMAIL_WEBHOOK_SECRET BURGERNET_EMAIL_WEBHOOK_PREVIOUS_SECRET BURGERNET_S3_ACCESS_KEY_ID BURGERNET_S3_SECRET_ACCESS_KEY BURGERNET_MEDIA_SIGNING_KEY BURGERNET_STAFF_TOKEN_KEYS BURGERNET_APNS_KEY_FILE BURGERNET_FCM_SERVICE_ACCOUNT_FILE
{{- end }}

{{/* One env var read from the Secret; call with (list $ "ENV_NAME" "secretKeysField" optional). */}}
{{- define "burgernet.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.existingSecret }}
      key: {{ index $root.Values.secretKeys (index . 2) }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end }}

{{/* Variables of both the API and the workers that are not in the ConfigMap: secrets and TMPDIR. */}}
{{- define "burgernet.sharedEnv" -}}
{{ include "burgernet.secretEnv" (list . "DATABASE_URL" "databaseUrl" false) }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_SMS_GATEWAY_API_KEY" "smsGatewayApiKey" false) }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_SMS_WEBHOOK_SECRET" "smsWebhookSecret" false) }}
{{- /* Only with a voice gateway: the application refuses its key and secret without the URL. */}}
{{- if .Values.config.voice.gatewayUrl }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_VOICE_GATEWAY_API_KEY" "voiceGatewayApiKey" false) }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_VOICE_WEBHOOK_SECRET" "voiceWebhookSecret" false) }}
{{- end }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_SMTP_URL" "smtpUrl" false) }}
{{- if eq .Values.config.media.store "s3" }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_S3_ACCESS_KEY_ID" "s3AccessKeyId" false) }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_S3_SECRET_ACCESS_KEY" "s3SecretAccessKey" false) }}
{{- else }}
{{ include "burgernet.secretEnv" (list . "BURGERNET_MEDIA_SIGNING_KEY" "mediaSigningKey" false) }}
{{- end }}
- name: TMPDIR
  value: /tmp
{{- end }}

{{/* The restricted Pod Security Standard, on every pod and container of the chart. */}}
{{- define "burgernet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "burgernet.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Spread over zones and nodes; call with (dict "root" $ "component" "api"). */}}
{{- define "burgernet.topologySpread" -}}
{{- $spread := .root.Values.topologySpread }}
{{- if $spread.enabled -}}
topologySpreadConstraints:
{{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - topologyKey: {{ . }}
    maxSkew: {{ $spread.maxSkew }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "burgernet.componentSelectorLabels" $ | nindent 8 }}
    # Spread each rollout's pods, not old and new together.
    matchLabelKeys: ["pod-template-hash"]
{{- end }}
{{- end }}
{{- end }}

{{/* Scheduling passthrough; call with the component's values. */}}
{{- define "burgernet.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}
