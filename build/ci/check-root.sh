#!/usr/bin/env bash
# Fails when a file appears at the repository root that is not on the allow-list: generated output (ONNX Runtime
# profiles, *.nupkg, HTML reports, …) belongs in ignored folders such as artifacts/, never beside the solution.
set -uo pipefail
cd "$(dirname "$0")/../.."
allowed=' .ci .config .git .gitattributes .gitignore Attribution.sln Directory.Build.props Directory.Packages.props NuGet.config README.md artifacts build samples src test .fixture-venv '
bad=0
for entry in * .[!.]*; do
  [ -e "$entry" ] || continue
  case "$allowed" in *" $entry "*) ;; *) echo "unexpected file at the repository root: $entry" >&2; bad=1 ;; esac
done
exit $bad
