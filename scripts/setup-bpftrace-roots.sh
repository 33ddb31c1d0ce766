#!/usr/bin/env bash
# Makes newer bpftrace versions runnable on this host, each from a minimal
# Debian root that runs on the host kernel. Idempotent.
#
#   scripts/setup-bpftrace-roots.sh            # trixie (bpftrace 0.23) and sid (0.27)
#   scripts/setup-bpftrace-roots.sh trixie     # only the suites named
#
# For each SUITE it
#   - debootstraps ROOT=$MCPTRACE_ROOTS_DIR/SUITE (default /srv/mcptrace-roots/SUITE)
#     with bpftrace and libbpf-tools, unless ROOT already runs /usr/bin/bpftrace;
#   - bind-mounts proc sys dev dev/pts sys/kernel/tracing sys/kernel/debug
#     sys/fs/bpf tmp into ROOT (mounting tracefs, debugfs and bpffs on the host first);
#   - writes $MCPTRACE_ROOTS_DIR/bin/bpftrace-SUITE, a drop-in bpftrace binary
#     (MCPTRACE_BPFTRACE=/srv/mcptrace-roots/bin/bpftrace-sid), and
#     $MCPTRACE_ROOTS_DIR/bin/libbpf-SUITE TOOL ARGS..., which runs a libbpf tool
#     of that root (`execsnoop` finds trixie's `execsnoop-libbpf` too).
# Prints one line per root: suite, debootstrap time when one ran, `bpftrace --version`.
# Exits non-zero if any suite failed. Environment:
#   MCPTRACE_ROOTS_DIR     where the roots and bin/ live (default /srv/mcptrace-roots)
#   MCPTRACE_DEBIAN_MIRROR Debian mirror (default http://deb.debian.org/debian)
set -uo pipefail

ROOTS_DIR=${MCPTRACE_ROOTS_DIR:-/srv/mcptrace-roots}
MIRROR=${MCPTRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BIN_DIR=$ROOTS_DIR/bin
# Order matters: sys before sys/kernel/*, dev before dev/pts.
BINDS=(proc sys dev dev/pts sys/kernel/tracing sys/kernel/debug sys/fs/bpf tmp)

die() { echo "setup-bpftrace-roots: $*" >&2; exit 1; }
warn() { echo "setup-bpftrace-roots: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mount need it)"
case "$ROOTS_DIR" in /*) ;; *) die "MCPTRACE_ROOTS_DIR must be an absolute path: $ROOTS_DIR" ;; esac
ROOTS_DIR=${ROOTS_DIR%/}
[ -n "$ROOTS_DIR" ] || die "MCPTRACE_ROOTS_DIR must not be /"

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
for s in "${suites[@]}"; do
  [[ "$s" =~ ^[a-z][a-z0-9-]*$ ]] || die "bad suite name: $s"
done

# ---------------------------------------------------------------- host side
ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  # Update the package lists only when apt does not know debootstrap yet.
  if ! apt-cache show debootstrap >/dev/null 2>&1; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/tmp/setup-bpftrace-roots.apt.log 2>&1 \
    || { cat /tmp/setup-bpftrace-roots.apt.log >&2; die "apt-get install debootstrap failed"; }
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap still missing after apt-get install"
}

ensure_host_mounts() {
  if [ -z "$(ls -A /sys/kernel/tracing 2>/dev/null)" ]; then
    mount -t tracefs nodev /sys/kernel/tracing || die "cannot mount tracefs on /sys/kernel/tracing"
  fi
  mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug \
    || die "cannot mount debugfs on /sys/kernel/debug"
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf \
    || die "cannot mount bpffs on /sys/fs/bpf"
}

# Mount points at or below $1, deepest first.
mounts_under() {
  findmnt -rn -o TARGET | awk -v r="$1" '$0 == r || index($0, r "/") == 1' | sort -r
}

# Removes a root that is not (or no longer) wanted. Unmounts first, and never
# crosses a file system boundary, so that a bind mount left behind can never
# make rm delete the host's /tmp or /dev.
remove_root() {
  local root=$1 m
  [ -e "$root" ] || return 0
  while read -r m; do
    [ -n "$m" ] && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done < <(mounts_under "$root")
  if [ -n "$(mounts_under "$root")" ]; then
    warn "cannot unmount everything under $root; not removing it"; return 1
  fi
  rm -rf --one-file-system -- "$root"
}

# ---------------------------------------------------------------- per root
root_works() { [ -x "$1/usr/bin/bpftrace" ] && chroot "$1" /usr/bin/bpftrace --version >/dev/null 2>&1; }

bootstrap() {
  local suite=$1 root=$2 tmp="$2.partial" log="$ROOTS_DIR/$1.debootstrap.log" t0 t1
  [ -f "/usr/share/debootstrap/scripts/$suite" ] || { warn "$suite: this debootstrap does not know the suite"; return 1; }
  remove_root "$tmp" || return 1
  if [ -e "$root" ]; then
    warn "$suite: $root exists but has no working /usr/bin/bpftrace; rebuilding it"
    remove_root "$root" || return 1
  fi
  t0=$(date +%s.%N)
  if ! debootstrap --variant=minbase --include=bpftrace,libbpf-tools "$suite" "$tmp" "$MIRROR" >"$log" 2>&1; then
    warn "$suite: debootstrap FAILED; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    remove_root "$tmp" && warn "$suite: removed the partial root $tmp"
    return 1
  fi
  t1=$(date +%s.%N)
  # debootstrap unmounts its own proc/sys, but make sure before renaming.
  if [ -n "$(mounts_under "$tmp")" ]; then
    mounts_under "$tmp" | while read -r m; do umount "$m" || umount -l "$m"; done
  fi
  mv -T -- "$tmp" "$root" || { warn "$suite: cannot rename $tmp to $root"; return 1; }
  BOOT_TIME[$suite]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
  if ! root_works "$root"; then
    warn "$suite: debootstrap succeeded but /usr/bin/bpftrace does not run in $root (see $log)"
    return 1
  fi
}

bind_mounts() {
  local root=$1 d
  for d in "${BINDS[@]}"; do
    mkdir -p "$root/$d" || return 1
    # -ef: the same device and inode, i.e. already bound (cheaper than, and
    # stricter than, mountpoint -q, which would accept any mount).
    if mountpoint -q "$root/$d" && [ "$root/$d" -ef "/$d" ]; then continue; fi
    mount --bind "/$d" "$root/$d" || { warn "cannot bind-mount /$d on $root/$d"; return 1; }
  done
}

# The wrappers must be drop-in binaries: `exec` all the way (the caller's pid
# becomes bpftrace's, so SIGINT reaches bpftrace itself), all args and the
# environment unchanged. They are /bin/sh scripts, because bash would export a
# changed SHLVL and `_` (dash only resets PWD to the real working directory).
# coreutils' chroot always chdirs to the new /, so the caller's directory is
# entered by env --chdir inside the root: wrapper -> chroot -> env -> bpftrace,
# one pid throughout. chroot is called by its absolute path, so a caller's
# PATH without /usr/sbin works.
write_wrappers() {
  local suite=$1 root=$2 q_root CHROOT
  q_root=$(printf '%q' "$root")
  CHROOT=$(command -v chroot) || { warn "no chroot command"; return 1; }
  mkdir -p "$BIN_DIR" || return 1
  # The shared part: remount after a reboot, choose the directory.
  local common
  common=$(cat <<EOF
ROOT=$q_root
if ! { [ "\$ROOT/proc" -ef /proc ] && [ "\$ROOT/tmp" -ef /tmp ] && [ "\$ROOT/sys/kernel/tracing" -ef /sys/kernel/tracing ]; }; then
  # The bind mounts are gone (e.g. after a reboot): redo them quietly.
  [ -n "\$(ls -A /sys/kernel/tracing 2>/dev/null)" ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
  mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
  for d in ${BINDS[*]}; do
    [ "\$ROOT/\$d" -ef "/\$d" ] || mount --bind "/\$d" "\$ROOT/\$d" 2>/dev/null || {
      echo "\$0: cannot bind-mount /\$d into \$ROOT (run scripts/setup-bpftrace-roots.sh as root)" >&2; exit 127; }
  done
fi
DIR=/
[ -d "\$ROOT\$PWD" ] && DIR=\$PWD
EOF
)
  local f="$BIN_DIR/bpftrace-$suite"
  cat >"$f.tmp" <<EOF || return 1
#!/bin/sh
# bpftrace from the Debian $suite root $root (written by scripts/setup-bpftrace-roots.sh).
$common
exec $CHROOT "\$ROOT" /usr/bin/env --chdir="\$DIR" /usr/bin/bpftrace "\$@"
EOF
  chmod 755 "$f.tmp" && mv -f "$f.tmp" "$f" || return 1

  f="$BIN_DIR/libbpf-$suite"
  cat >"$f.tmp" <<EOF || return 1
#!/bin/sh
# libbpf-tools from the Debian $suite root $root (written by scripts/setup-bpftrace-roots.sh).
# Usage: libbpf-$suite TOOL [ARGS...]; TOOL may be given without the -libbpf
# suffix that trixie's package adds (execsnoop runs execsnoop-libbpf there).
[ \$# -ge 1 ] || { echo "usage: \$0 TOOL [ARGS...]" >&2; exit 2; }
$common
TOOL=\$1; shift
case "\$TOOL" in */*|.*|'') echo "\$0: bad tool name: \$TOOL" >&2; exit 2 ;; esac
if [ -x "\$ROOT/usr/sbin/\$TOOL" ]; then :
elif [ -x "\$ROOT/usr/sbin/\$TOOL-libbpf" ]; then TOOL=\$TOOL-libbpf
else echo "\$0: no libbpf tool \$TOOL in \$ROOT/usr/sbin" >&2; exit 127
fi
exec $CHROOT "\$ROOT" /usr/bin/env --chdir="\$DIR" "/usr/sbin/\$TOOL" "\$@"
EOF
  chmod 755 "$f.tmp" && mv -f "$f.tmp" "$f" || return 1
}

# ---------------------------------------------------------------- main
declare -A BOOT_TIME=()
ensure_host_mounts
mkdir -p "$ROOTS_DIR" || die "cannot create $ROOTS_DIR"
failed=0
for suite in "${suites[@]}"; do
  root=$ROOTS_DIR/$suite
  if ! root_works "$root"; then
    ensure_debootstrap
    bootstrap "$suite" "$root" || { echo "$suite: FAILED (debootstrap)"; failed=1; continue; }
  fi
  bind_mounts "$root" || { echo "$suite: FAILED (bind mounts)"; failed=1; continue; }
  write_wrappers "$suite" "$root" || { echo "$suite: FAILED (writing wrappers in $BIN_DIR)"; failed=1; continue; }
  if ! v=$("$BIN_DIR/bpftrace-$suite" --version 2>&1); then
    echo "$suite: FAILED ($BIN_DIR/bpftrace-$suite --version: $v)"; failed=1; continue
  fi
  t=${BOOT_TIME[$suite]:+, debootstrap ${BOOT_TIME[$suite]} s}
  echo "$suite: $v ($root$t; $BIN_DIR/bpftrace-$suite, $BIN_DIR/libbpf-$suite)"
done
exit $failed
