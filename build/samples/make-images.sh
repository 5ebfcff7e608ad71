#!/usr/bin/env bash
# Regenerates samples/images (the pictures of samples/README.md): runs each sample, keeps the picture it writes or a
# screenshot of what it prints, through headless Chromium (/usr/bin/chromium, or $CHROMIUM). Run from anywhere:
#   build/samples/make-images.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
chromium=${CHROMIUM:-/usr/bin/chromium}
images=samples/images
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$images"

shot() { # html file, png out, width, height
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$3,$4" --screenshot="$2" "file://$1" >/dev/null 2>&1
}

console_page() { # title, text file, html out: the console output as a terminal-like page
  python3 - "$1" "$2" "$3" <<'PY'
import html, sys
title, text, out = sys.argv[1], open(sys.argv[2], encoding="utf-8").read(), sys.argv[3]
open(out, "w", encoding="utf-8").write(
    "<!DOCTYPE html><html><head><meta charset='utf-8'><style>body{margin:0;background:#1e1e1e;color:#d4d4d4;"
    "font:13px/1.45 'DejaVu Sans Mono',monospace}pre{margin:0;padding:14px 16px;white-space:pre-wrap}"
    "b{color:#9cdcfe}</style></head><body><pre><b>$ dotnet run --project samples/" + html.escape(title) + "</b>\n"
    + html.escape(text) + "</pre></body></html>")
PY
}

run() { # sample, args…: its console output into $work/<sample>.txt
  local sample=$1; shift
  dotnet run --project "samples/$sample" -v q -- "$@" > "$work/$sample.txt" 2>&1
}

for sample in Quickstart TreeShap TabularExplain; do
  run "$sample"
  console_page "$sample" "$work/$sample.txt" "$work/$sample.html"
  lines=$(wc -l < "$work/$sample.txt")
  shot "$work/$sample.html" "$images/$(echo "$sample" | tr '[:upper:]' '[:lower:]').png" 1000 $(( (lines + 2) * 19 + 30 ))
done

run TabularRegression "$work/diabetes"
cp "$work/diabetes/waterfall.svg" "$images/tabularregression.svg"

run ImageClassification "$work/digits"
cp "$work/digits/digits-attributions.png" "$images/imageclassification.png"

run TextClassification "$work/toxicity.html"
shot "$work/toxicity.html" "$images/textclassification.png" 1100 1000

# The notebook's own output: the beeswarm cell of explain-wine.ipynb, as it was committed (its SVG is ~340 KB: a PNG
# screenshot of it is kept instead).
python3 - samples/notebooks/explain-wine.ipynb "$work/beeswarm.svg" <<'PY'
import json, sys
cells = [c for c in json.load(open(sys.argv[1], encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
svg = next("".join(o["data"]["text/html"]) for c in cells if "Beeswarm(ig" in "".join(c["source"])
           for o in c["outputs"] if "text/html" in o.get("data", {}))
open(sys.argv[2], "w", encoding="utf-8").write(svg)
PY
size=$(grep -o 'width="[0-9]*" height="[0-9]*"' "$work/beeswarm.svg" | head -1 | tr -dc '0-9 ' | tr -s ' ')
shot "$work/beeswarm.svg" "$images/notebook-wine-beeswarm.png" ${size% *} ${size#* }
ls -l "$images"
