{{- define "qmpbackup.labels" -}}
app.kubernetes.io/name: qmpbackup-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "qmpbackup.operator.name" -}}{{ .Release.Name }}-operator{{- end -}}
{{- define "qmpbackup.agent.name" -}}{{ .Release.Name }}-node-agent{{- end -}}

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
