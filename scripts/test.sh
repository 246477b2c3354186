#!/usr/bin/env bash
# Runs every test: unit tests, then the real-QEMU integration tests (XxxIT).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
cd "$top"
mvn -B verify
