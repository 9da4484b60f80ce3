#!/usr/bin/env bash
# CycloneDX SBOM of the installed environment (default .venv) -> sbom.cdx.json.
# Usage: scripts/sbom.sh [VENV] [OUTPUT]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
out="${2:-sbom.cdx.json}"
if [ ! -x "$venv/bin/cyclonedx-py" ]; then "$venv/bin/python" -m pip install --quiet cyclonedx-bom; fi
"$venv/bin/cyclonedx-py" environment --output-format JSON --output-file "$out" "$venv"
echo "wrote $out ($("$venv/bin/python" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['components']))" "$out") components)"
