#!/usr/bin/env bash
# One command for the speed comparison: Captum (in-process, PyTorch CPU) vs Microsoft.ML.Attribution (ONNX Runtime CPU)
# on the same models and inputs. Needs Debian's python3-torch and a Captum checkout:
#   CAPTUM_SRC=/path/to/captum bash build/bench/compare.sh
# Writes build/bench/RESULTS.md and prints the table.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CAPTUM_SRC:?set CAPTUM_SRC to a Captum checkout}"
/usr/bin/python3 build/bench/models.py >/dev/null
/usr/bin/python3 build/bench/captum_bench.py
# Peak memory first, on a quiet machine (right after BenchmarkDotNet's processes the first probe ran 10× slower).
mkdir -p build/bench/artifacts
for rows in 10000 100000; do
  dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- memory "$rows"
done > build/bench/artifacts/memory.txt
dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- --filter '*ComparisonBenchmarks*' \
  --warmupCount 3 --iterationCount 15 --launchCount 1 --exporters json --artifacts build/bench/artifacts >/dev/null
dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- --filter '*ScalingBenchmarks*' \
  --warmupCount 2 --iterationCount 7 --launchCount 1 --exporters json --artifacts build/bench/artifacts >/dev/null
/usr/bin/python3 build/bench/compare_report.py
