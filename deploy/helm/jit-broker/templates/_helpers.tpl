{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "jit-broker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jit-broker.fullname" -}}
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

{{- define "jit-broker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jit-broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jit-broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "jit-broker.labels" -}}
helm.sh/chart: {{ include "jit-broker.chart" . }}
{{ include "jit-broker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: credential-broker
{{- end }}

{{- define "jit-broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "jit-broker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "jit-broker.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The port the broker listens on, read from the broker config itself. */}}
{{- define "jit-broker.port" -}}
{{- $server := default (dict) .Values.config.server }}
{{- default 8080 $server.port }}
{{- end }}

{{/* HTTPS when the broker terminates TLS (config.server.tls is set). */}}
{{- define "jit-broker.scheme" -}}
{{- $server := default (dict) .Values.config.server }}
{{- if $server.tls }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{- define "jit-broker.redisName" -}}
{{- printf "%s-redis" (include "jit-broker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jit-broker.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "jit-broker.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The lease store's URL: config.redis.url when the config names one, else the evaluation Redis
when redis.deploy is set, else redis.url. The password stays a ${env:} reference resolved by
the broker, so it never lands in the ConfigMap.
*/}}
{{- define "jit-broker.redisUrl" -}}
{{- $redis := default (dict) .Values.config.redis }}
{{- if $redis.url }}
{{- $redis.url }}
{{- else if .Values.redis.deploy }}
{{- if .Values.redis.password.secretName }}
{{- printf "redis://default:${env:JIT_REDIS_PASSWORD}@%s:6379" (include "jit-broker.redisName" .) }}
{{- else }}
{{- printf "redis://%s:6379" (include "jit-broker.redisName" .) }}
{{- end }}
{{- else }}
{{- required "set redis.url (an existing Redis) or redis.deploy: true (an evaluation Redis)" .Values.redis.url }}
{{- end }}
{{- end }}

{{/* The broker config as rendered into the ConfigMap: config with the lease store's URL. */}}
{{- define "jit-broker.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $redis := default (dict) $config.redis }}
{{- $_ := set $redis "url" (include "jit-broker.redisUrl" .) }}
{{- $_ := set $config "redis" $redis }}
{{- toYaml $config }}
{{- end }}
