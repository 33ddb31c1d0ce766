#!/usr/bin/env bash
# The kernel suites (integration, CLI, live differential, analysis) against the bpftrace of Debian 13
# (0.23) and Debian unstable (0.27), each run from a minimal Debian root on this kernel.
# `npm test` is the lane of the machine's own bpftrace (0.17 on Debian 12).
#
#   bash scripts/test-bpftrace-versions.sh            # trixie and sid
#   bash scripts/test-bpftrace-versions.sh sid        # one lane
set -euo pipefail
cd "$(dirname "$0")/.."
ROOTS_DIR=${MCPTRACE_ROOTS_DIR:-/srv/mcptrace-roots}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)

bash scripts/setup-bpftrace-roots.sh "${suites[@]}"
failed=()
for suite in "${suites[@]}"; do
  bin=$ROOTS_DIR/bin/bpftrace-$suite
  echo "== bpftrace lane $suite: $("$bin" --version 2>/dev/null)"
  if ! MCPTRACE_BPFTRACE=$bin npx vitest run test/integration test/cli test/differential test/templates/templates-kernel.test.ts test/analysis; then
    failed+=("$suite")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "bpftrace lanes failed: ${failed[*]}" >&2
  exit 1
fi
