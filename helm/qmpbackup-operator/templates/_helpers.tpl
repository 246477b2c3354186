{{/* the chart's name: nameOverride, else the chart's own */}}
{{- define "qmpbackup.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object's name. fullnameOverride as it is; with nameOverride, Helm's usual
<release>-<name> (just <release> when the release name contains it). Without either, the
release name alone: the names the chart had before these values (<release>-operator,
<release>-node-agent) stay the same, so an upgrade does not replace the Deployment, DaemonSet
and ClusterRoles. 46 characters leave room for the longest suffix ("-operator-metrics", a
Service name, which must fit a 63-character DNS label).
*/}}
{{- define "qmpbackup.fullname" -}}
{{- $name := "" -}}
{{- if .Values.fullnameOverride -}}
{{- $name = .Values.fullnameOverride -}}
{{- else if and .Values.nameOverride (not (contains .Values.nameOverride .Release.Name)) -}}
{{- $name = printf "%s-%s" .Release.Name .Values.nameOverride -}}
{{- else -}}
{{- $name = .Release.Name -}}
{{- end -}}
{{- $name | trunc 46 | trimSuffix "-" -}}
{{- end -}}

{{- define "qmpbackup.labels" -}}
app.kubernetes.io/name: {{ include "qmpbackup.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "qmpbackup.operator.name" -}}{{ include "qmpbackup.fullname" . }}-operator{{- end -}}
{{- define "qmpbackup.agent.name" -}}{{ include "qmpbackup.fullname" . }}-node-agent{{- end -}}

{{/*
A component's ServiceAccount: {create, name}. Created: name, else the component's own name.
Not created: name, else the namespace's "default" (what Kubernetes would use).
Call with (dict "sa" .Values.operator.serviceAccount "default" (include "qmpbackup.operator.name" .)).
*/}}
{{- define "qmpbackup.serviceAccountName" -}}
{{- if .sa.create -}}{{ default .default .sa.name }}{{- else -}}{{ default "default" .sa.name }}{{- end -}}
{{- end -}}
{{- define "qmpbackup.operator.serviceAccountName" -}}
{{- include "qmpbackup.serviceAccountName" (dict "sa" .Values.operator.serviceAccount "default" (include "qmpbackup.operator.name" .)) -}}
{{- end -}}
{{- define "qmpbackup.agent.serviceAccountName" -}}
{{- include "qmpbackup.serviceAccountName" (dict "sa" .Values.agent.serviceAccount "default" (include "qmpbackup.agent.name" .)) -}}
{{- end -}}

{{/*
A pod's labels: the chart's own (selectors match on them, so podLabels cannot replace them), then
the component's podLabels. Call with (dict "root" . "component" "operator" "podLabels" ...).
*/}}
{{- define "qmpbackup.podLabels" -}}
{{- $own := fromYaml (include "qmpbackup.labels" .root) -}}
{{- $_ := set $own "app.kubernetes.io/component" .component -}}
{{- toYaml (merge $own (.podLabels | default dict)) -}}
{{- end -}}

{{/*
imagePullSecrets for both pods: global.imagePullSecrets (a parent chart's, when this is a
subchart) and then imagePullSecrets. Entries are {name: ...} or, as some parent charts give
them, a plain name.
*/}}
{{- define "qmpbackup.imagePullSecrets" -}}
{{- $names := list -}}
{{- $global := (.Values.global | default dict).imagePullSecrets | default list -}}
{{- range (concat $global (.Values.imagePullSecrets | default list)) -}}
{{- $n := . -}}
{{- if not (kindIs "string" .) }}{{ $n = .name }}{{ end -}}
{{- if not (has $n $names) }}{{ $names = append $names $n }}{{ end -}}
{{- end -}}
{{- if $names -}}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* the folder a storage entry is seen at, inside the agent and by QEMU on the host */}}
{{- define "qmpbackup.storage.path" -}}
{{- if .hostPath -}}{{ .mountPath | default .hostPath }}{{- else -}}{{ .mountPath | default (printf "/backups/%s" .name) }}{{- end -}}
{{- end -}}

{{/* an agent.socketDirs entry: a host folder, or {path, namespace} (the namespace its VMs belong to) */}}
{{- define "qmpbackup.socketDir.path" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ .path }}{{- end -}}
{{- end -}}

{{/* the entry as qmpbackup.agent.socket-dirs takes it: path, or path=namespace */}}
{{- define "qmpbackup.socketDir.entry" -}}
{{- if and (not (kindIs "string" .)) .namespace -}}{{ .path }}={{ .namespace }}{{- else -}}{{ include "qmpbackup.socketDir.path" . }}{{- end -}}
{{- end -}}

{{/* agent.socketDirs as qmpbackup.*.socket-dirs takes it; the agents and the operator get the same value */}}
{{- define "qmpbackup.socketDirs" -}}
{{- $socketDirs := list -}}
{{- range .Values.agent.socketDirs }}{{ $socketDirs = append $socketDirs (include "qmpbackup.socketDir.entry" .) }}{{ end -}}
{{ join "," $socketDirs }}
{{- end -}}

{{/* agent.storage as qmpbackup.*.storage-locations takes it (name=path,...), for the agents and the operator */}}
{{- define "qmpbackup.storageLocations" -}}
{{- range $i, $s := .Values.agent.storage }}{{ if $i }},{{ end }}{{ $s.name }}={{ include "qmpbackup.storage.path" $s }}{{- end -}}
{{- end -}}

{{/* agent.tpmStateDirs as qmpbackup.agent.tpm-state-dirs takes it */}}
{{- define "qmpbackup.tpmStateDirs" -}}
{{- $dirs := list -}}
{{- range .Values.agent.tpmStateDirs }}{{ $dirs = append $dirs (include "qmpbackup.socketDir.entry" .) }}{{ end -}}
{{ join "," $dirs }}
{{- end -}}
