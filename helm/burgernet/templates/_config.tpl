{{/*
The non-secret settings as environment variables. Integers go through int64: Helm reads every
number in values as a float, which would print 41943040 as 4.194304e+07.
*/}}

{{/* Settings of both the API and the workers. */}}
{{- define "burgernet.sharedConfig" -}}
{{- $c := .Values.config }}
{{- /* Behind the chart's own ingress the client is one hop away; per-client limits need it. */}}
{{- $hops := $c.http.trustedProxyHops }}
{{- if kindIs "invalid" $hops }}{{ $hops = ternary 1 0 .Values.ingress.enabled }}{{ end }}
{{- $env := dict
  "BURGERNET_LOG_FORMAT" "json"
  "BURGERNET_LOG" $c.log
  "BURGERNET_PUBLIC_URL" $c.publicUrl
  "BURGERNET_DB_POOL_SIZE" (int64 $c.database.poolSize | toString)
  "BURGERNET_MAX_BODY_BYTES" (int64 $c.http.maxBodyBytes | toString)
  "BURGERNET_TRUSTED_PROXY_HOPS" (int64 $hops | toString)
  "BURGERNET_PARTICIPANT_ACCESS_TOKEN_TTL" $c.participantTokens.accessTokenTtl
  "BURGERNET_PARTICIPANT_REFRESH_TOKEN_TTL" $c.participantTokens.refreshTokenTtl
  "BURGERNET_STAFF_TOKEN_ISSUER" $c.staffToken.issuer
  "BURGERNET_STAFF_TOKEN_AUDIENCE" $c.staffToken.audience
  "BURGERNET_STAFF_TOKEN_ALGORITHMS" (join "," $c.staffToken.algorithms)
  "BURGERNET_SIGN_IN_RESEND_INTERVAL" $c.signIn.resendInterval
  "BURGERNET_SIGN_IN_LOCKOUT" $c.signIn.lockout
  "BURGERNET_SIGN_IN_CODES_PER_PHONE_PER_HOUR" (int64 $c.signIn.codesPerPhonePerHour | toString)
  "BURGERNET_SIGN_IN_REQUESTS_PER_CLIENT_PER_HOUR" (int64 $c.signIn.requestsPerClientPerHour | toString)
  "BURGERNET_SIGN_IN_CODES_PER_HOUR" (int64 $c.signIn.codesPerHour | toString)
  "BURGERNET_SIGN_IN_CODES_PER_FOREIGN_COUNTRY_PER_HOUR" (int64 $c.signIn.codesPerForeignCountryPerHour | toString)
  "BURGERNET_LIVE_LOCATION_TTL" $c.liveLocationTtl
  "BURGERNET_EVENT_STREAMS_PER_STAFF" (int64 $c.eventStreams.perStaffMember | toString)
  "BURGERNET_EVENT_STREAMS_PER_PROCESS" (int64 $c.eventStreams.perProcess | toString)
  "BURGERNET_EVENT_STREAM_KEEP_ALIVE" $c.eventStreams.keepAlive
  "BURGERNET_TARIFF_SMS_SEGMENT_EUR" ($c.tariffs.smsSegmentEur | toString)
  "BURGERNET_TARIFF_PUSH_EUR" ($c.tariffs.pushEur | toString)
  "BURGERNET_TARIFF_EMAIL_EUR" ($c.tariffs.emailEur | toString)
  "BURGERNET_TARIFF_VOICE_MINUTE_EUR" ($c.tariffs.voiceMinuteEur | toString)
  "BURGERNET_ALERT_MAX_AREA_KM2" (int64 $c.alerts.maxAreaKm2 | toString)
  "BURGERNET_ALERT_REGION_MARGIN" $c.alerts.regionMargin
  "BURGERNET_FANOUT_BATCH_SIZE" (int64 $c.alerts.fanoutBatchSize | toString)
  "BURGERNET_ALERT_RECRUITING_WINDOW" $c.alerts.recruitingWindow
  "BURGERNET_RECRUITMENT_CHECK_INTERVAL" $c.alerts.recruitmentCheckInterval
  "BURGERNET_PUSH_WINDOW" (int64 $c.alerts.pushWindow | toString)
  "BURGERNET_SMS_FALLBACK_AFTER" $c.alerts.smsFallbackAfter
  "BURGERNET_PUSH_LIFETIME" $c.alerts.pushLifetime
  "BURGERNET_CHANNEL_ORDER_INFORM" $c.alerts.channelOrder.inform
  "BURGERNET_CHANNEL_ORDER_ENGAGE" $c.alerts.channelOrder.engage
  "BURGERNET_CHANNEL_ORDER_ALARM" $c.alerts.channelOrder.alarm
  "BURGERNET_CHANNEL_ORDER_SEARCH" $c.alerts.channelOrder.search
  "BURGERNET_WORKER_CONCURRENCY" (int64 $c.jobs.concurrency | toString)
  "BURGERNET_PUSH_LANE_JOBS" (int64 $c.jobs.pushLaneJobs | toString)
  "BURGERNET_SMS_LANE_JOBS" (int64 $c.jobs.smsLaneJobs | toString)
  "BURGERNET_EMAIL_LANE_JOBS" (int64 $c.jobs.emailLaneJobs | toString)
  "BURGERNET_VOICE_LANE_JOBS" (int64 $c.jobs.voiceLaneJobs | toString)
  "BURGERNET_JOB_LEASE" $c.jobs.lease
  "BURGERNET_JOB_POLL_INTERVAL" $c.jobs.pollInterval
  "BURGERNET_SMS_GATEWAY_URL" $c.sms.gatewayUrl
  "BURGERNET_SMS_SENDER_ID" $c.sms.senderId
  "BURGERNET_SMS_TIMEOUT" $c.sms.timeout
  "BURGERNET_SMS_CONCURRENCY" (int64 $c.sms.concurrency | toString)
  "BURGERNET_SMS_RATE" $c.sms.rate
  "BURGERNET_VOICE_TIMEOUT" $c.voice.timeout
  "BURGERNET_VOICE_CONCURRENCY" (int64 $c.voice.concurrency | toString)
  "BURGERNET_VOICE_RATE" $c.voice.rate
  "BURGERNET_EMAIL_FROM" $c.email.from
  "BURGERNET_SMTP_TIMEOUT" $c.email.smtpTimeout
  "BURGERNET_EMAIL_CONCURRENCY" (int64 $c.email.concurrency | toString)
  "BURGERNET_EMAIL_RATE" $c.email.rate
  "BURGERNET_MUNICIPAL_EMAIL_RATE" $c.email.municipalRate
  "BURGERNET_MEDIA_STORE" $c.media.store
  "BURGERNET_MEDIA_MAX_PHOTO_BYTES" (int64 $c.media.maxPhotoBytes | toString)
  "BURGERNET_MEDIA_MAX_VIDEO_BYTES" (int64 $c.media.maxVideoBytes | toString)
  "BURGERNET_MEDIA_SINGLE_UPLOAD_MAX_BYTES" (int64 $c.media.singleUploadMaxBytes | toString)
  "BURGERNET_MEDIA_PART_BYTES" (int64 $c.media.partBytes | toString)
  "BURGERNET_MEDIA_UPLOAD_URL_TTL" $c.media.uploadUrlTtl
  "BURGERNET_MEDIA_ABANDON_AFTER" $c.media.abandonAfter
  "BURGERNET_MEDIA_PER_TIP" (int64 $c.media.perTip | toString)
  "BURGERNET_MEDIA_PER_HOUR" (int64 $c.media.perHour | toString)
  "BURGERNET_MEDIA_LINK_TTL" $c.media.linkTtl
  "BURGERNET_TIPS_PER_HOUR" (int64 $c.tips.perHour | toString)
  "BURGERNET_TIP_RETENTION_DAYS" (int64 $c.tips.retentionDays | toString)
  "BURGERNET_PARTICIPATION_TARGET_PERCENT" ($c.reports.participationTargetPercent | toString)
  "BURGERNET_MUNICIPAL_MESSAGE_CHANNELS" $c.municipalMessages.channels
  "BURGERNET_CAP_SENDER" $c.cap.sender
  "BURGERNET_FFPROBE" $c.video.ffprobe
  "BURGERNET_FFMPEG" $c.video.ffmpeg
  "BURGERNET_VIDEO_TOOL_TIMEOUT" $c.video.toolTimeout
  "BURGERNET_VIDEO_TOOL_CONCURRENCY" (int64 $c.video.toolConcurrency | toString)
  "BURGERNET_CONSOLE_OIDC_ISSUER" (default $c.staffToken.issuer $c.console.oidcIssuer)
  "BURGERNET_CONSOLE_OIDC_CLIENT_ID" $c.console.clientId
  "BURGERNET_CONSOLE_OIDC_SCOPES" $c.console.scopes
  "BURGERNET_CONSOLE_REDIRECT_URI" (printf "%s/console/" (trimSuffix "/" $c.publicUrl))
  "BURGERNET_CONSOLE_TILES" $c.console.tiles
}}
{{- with $c.console.tileAttribution }}
{{- $_ := set $env "BURGERNET_CONSOLE_TILE_ATTRIBUTION" . }}
{{- end }}
{{- with $c.console.mediaOrigin }}
{{- $_ := set $env "BURGERNET_CONSOLE_MEDIA_ORIGIN" . }}
{{- end }}
{{- with $c.video.maxDuration }}
{{- $_ := set $env "BURGERNET_VIDEO_MAX_DURATION" . }}
{{- end }}
{{- with $c.staffToken.jwksUrl }}
{{- $_ := set $env "BURGERNET_STAFF_TOKEN_JWKS_URL" . }}
{{- end }}
{{- /* Without a gateway its companions must be unset too: the application refuses them alone. */}}
{{- with $c.voice.gatewayUrl }}
{{- $_ := set $env "BURGERNET_VOICE_GATEWAY_URL" . }}
{{- $_ := set $env "BURGERNET_VOICE_CALLER_ID" $c.voice.callerId }}
{{- end }}
{{- if eq $c.media.store "s3" }}
{{- $_ := set $env "BURGERNET_S3_BUCKET" $c.media.s3.bucket }}
{{- $_ := set $env "BURGERNET_S3_REGION" $c.media.s3.region }}
{{- $_ := set $env "BURGERNET_S3_TIMEOUT" $c.media.s3.timeout }}
{{- with $c.media.s3.endpoint }}
{{- $_ := set $env "BURGERNET_S3_ENDPOINT" . }}
{{- end }}
{{- if not (kindIs "invalid" $c.media.s3.forcePathStyle) }}
{{- $_ := set $env "BURGERNET_S3_FORCE_PATH_STYLE" ($c.media.s3.forcePathStyle | toString) }}
{{- end }}
{{- else }}
{{- $_ := set $env "BURGERNET_MEDIA_DIR" (include "burgernet.mediaDir" .) }}
{{- end }}
{{- range $name, $value := $c.extraEnv }}
{{- if not (include "burgernet.isPushVariable" $name) }}
{{- $_ := set $env $name ($value | toString) }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/*
Settings only the workers get: APNs, FCM and the dossier's checkpoints. The API refuses any BURGERNET_APNS_* or
BURGERNET_FCM_* variable without the key file, which it has no business holding.
*/}}
{{- define "burgernet.workerConfig" -}}
{{- $c := .Values.config }}
{{- $env := dict
  "BURGERNET_APNS_KEY_ID" $c.apns.keyId
  "BURGERNET_APNS_TEAM_ID" $c.apns.teamId
  "BURGERNET_APNS_TOPIC" $c.apns.topic
  "BURGERNET_APNS_URL" $c.apns.url
  "BURGERNET_APNS_SANDBOX_URL" $c.apns.sandboxUrl
  "BURGERNET_APNS_CONNECTIONS" (int64 $c.apns.connections | toString)
  "BURGERNET_APNS_TIMEOUT" $c.apns.timeout
  "BURGERNET_FCM_URL" $c.fcm.url
  "BURGERNET_FCM_CONNECTIONS" (int64 $c.fcm.connections | toString)
  "BURGERNET_FCM_RATE" $c.fcm.rate
  "BURGERNET_FCM_TIMEOUT" $c.fcm.timeout
}}
{{- with $c.apns.caFile }}
{{- $_ := set $env "BURGERNET_APNS_CA_FILE" . }}
{{- end }}
{{- with $c.apns.rate }}
{{- $_ := set $env "BURGERNET_APNS_RATE" . }}
{{- end }}
{{- with $c.fcm.tokenUri }}
{{- $_ := set $env "BURGERNET_FCM_TOKEN_URI" . }}
{{- end }}
{{- with $c.fcm.caFile }}
{{- $_ := set $env "BURGERNET_FCM_CA_FILE" . }}
{{- end }}
{{- with $c.dossier.checkpointRetention }}
{{- $_ := set $env "BURGERNET_DOSSIER_CHECKPOINT_RETENTION" . }}
{{- end }}
{{- range $name, $value := $c.extraEnv }}
{{- if include "burgernet.isPushVariable" $name }}
{{- $_ := set $env $name ($value | toString) }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{- define "burgernet.isPushVariable" -}}
{{- if or (hasPrefix "BURGERNET_APNS_" .) (hasPrefix "BURGERNET_FCM_" .) }}true{{ end }}
{{- end }}

{{- define "burgernet.configMapName" -}}
{{ include "burgernet.fullname" . }}-config
{{- end }}

{{- define "burgernet.workerConfigMapName" -}}
{{ include "burgernet.fullname" . }}-worker-config
{{- end }}
