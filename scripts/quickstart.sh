#!/usr/bin/env bash
# One command from a fresh clone to a real trace: machine setup, install, build, trace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-machine.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
echo
echo "== mcptrace doctor"
node bin/run.js doctor || true
echo
echo "== a real trace: openat() calls per process for 3 seconds"
echo "   mcptrace exec 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }' --timeout 3"
( for i in 1 2 3 4; do sleep 0.6; ls / >/dev/null; cat /etc/hostname >/dev/null; done ) &
node bin/run.js exec 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }' --timeout 3 || [ $? -eq 124 ]
echo
echo "Ready. Start the MCP server with: node bin/run.js serve   (see README: Use it from an MCP client)"
