#!/usr/bin/env bash
# Makes this machine able to trace: bpftrace, libbpf-tools, tracefs. Idempotent.
# Shared by `npm run quickstart` and CI so both prepare a machine the same way.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@" || { echo "setup: need root for: $* (run with sudo)" >&2; exit 3; }; fi
}

need=()
command -v bpftrace >/dev/null 2>&1 || need+=(bpftrace)
[ -x /usr/sbin/execsnoop ] || command -v execsnoop >/dev/null 2>&1 || need+=(libbpf-tools)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)  # the terminal (pty) tests
# The privileged helper (mcptrace setup privileges) and its tests: sudo, a C compiler, setcap.
command -v sudo >/dev/null 2>&1 || need+=(sudo)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v setcap >/dev/null 2>&1 || [ -x /usr/sbin/setcap ] || need+=(libcap2-bin)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "$(ls -A /sys/kernel/tracing 2>/dev/null)" ]; then
  echo "setup: mounting tracefs at /sys/kernel/tracing" >&2
  as_root mount -t tracefs nodev /sys/kernel/tracing
fi
echo "setup: $(bpftrace --version), tracefs mounted" >&2
