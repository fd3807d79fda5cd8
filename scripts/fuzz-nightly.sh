#!/usr/bin/env bash
# The nightly reliability run (not part of `npm test`; see docs/RELIABILITY.md):
#   - the fuzzer, ≥100,000 cases (GPCSCOPE_FUZZ_CASES), split over parallel shards;
#   - every .c and .h of the Debian 6.1 and 6.12 trees through parse and analysis;
#   - a 100,000-file workspace through the real language server.
# Failing fuzz cases are shrunk and saved under test/fixtures/regressions/ to be committed.
# Usage: scripts/fuzz-nightly.sh [fuzz|every-file|workspace|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
export GPCSCOPE_RELIABILITY=1
export GPCSCOPE_SAVE_REGRESSIONS="${GPCSCOPE_SAVE_REGRESSIONS:-1}"
export GPCSCOPE_RELIABILITY_OUT="${GPCSCOPE_RELIABILITY_OUT:-${TMPDIR:-/tmp}/gpcscope-reliability}"
export GPCSCOPE_FUZZ_CASES="${GPCSCOPE_FUZZ_CASES:-100000}"
export GPCSCOPE_FUZZ_SEED="${GPCSCOPE_FUZZ_SEED:-$(date +%Y%m%d)}"
shards="${GPCSCOPE_FUZZ_SHARDS:-$(nproc)}"
mkdir -p "$GPCSCOPE_RELIABILITY_OUT"
npm run build --silent
status=0

if [[ "$what" == all || "$what" == fuzz ]]; then
	pids=()
	for ((i = 0; i < shards; i++)); do
		GPCSCOPE_FUZZ_SHARD="$i/$shards" npx vitest run --project reliability test/reliability/fuzz-nightly.test.ts \
			> "$GPCSCOPE_RELIABILITY_OUT/fuzz-shard$i.log" 2>&1 &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || status=1; done
fi
if [[ "$what" == all || "$what" == every-file ]]; then
	npx vitest run --project reliability test/reliability/every-file-6.1.test.ts test/reliability/every-file-6.12.test.ts || status=1
fi
if [[ "$what" == all || "$what" == workspace ]]; then
	npx vitest run --project reliability test/reliability/workspace-100k.test.ts || status=1
fi

# One line per measured test (files, cases, edits, seconds, failures) for docs/RELIABILITY.md.
node -e '
const fs = require("fs"), dir = process.env.GPCSCOPE_RELIABILITY_OUT;
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) console.log(fs.readFileSync(dir + "/" + f, "utf8").replace(/\s+/g, " "));
'
exit $status
