#!/usr/bin/env bash
# Fetches a stock Debian kernel and builds the tiny initramfs that boots it under qemu with the
# host's root file system mounted read-only over 9p. Idempotent: a kernel already unpacked is
# reused. Prints the kernel directory on stdout.
#
#   bash scripts/stock-kernel/setup.sh debian-6.1     # bookworm's linux-image-amd64 (host's apt)
#   bash scripts/stock-kernel/setup.sh debian-6.12    # trixie's, through the trixie root's apt
#
# Environment: MCPTRACE_KERNELS_DIR (default /srv/mcptrace-kernels), MCPTRACE_ROOTS_DIR.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
KERNELS_DIR=${MCPTRACE_KERNELS_DIR:-/srv/mcptrace-kernels}
ROOTS_DIR=${MCPTRACE_ROOTS_DIR:-/srv/mcptrace-roots}
die() { echo "stock-kernel setup: $*" >&2; exit 1; }
log() { echo "stock-kernel setup: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get install and download)"
id=${1:-debian-6.1}
case "$id" in
  debian-6.1) apt_in=() ;;
  # Debian 13's kernel comes from the trixie root of the bpftrace lanes, whose apt knows trixie.
  debian-6.12)
    [ -x "$ROOTS_DIR/trixie/usr/bin/apt-get" ] || bash ../setup-bpftrace-roots.sh trixie >&2
    apt_in=(chroot "$ROOTS_DIR/trixie") ;;
  *) die "unknown kernel '$id': use debian-6.1 (Debian 12) or debian-6.12 (Debian 13)" ;;
esac

# The host tools: qemu (software emulation is enough), a static busybox for the initramfs, cpio.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx insmod && { ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic' \
  || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-cache show "${need[@]}" >/dev/null 2>&1 || apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The modules the initramfs loads (with what they depend on): 9p and overlayfs mount the host
# and the checkout; ext4, or the ext4 kprobe examples find no ext4 functions to attach to (the
# guest's root is 9p); loop, so biosnoop has a block device to watch (the guest has no disk).
MODULES="virtio_pci 9pnet_virtio 9p overlay ext4 loop"
dir=$KERNELS_DIR/$id
# A kernel set up with another module list is set up again.
if [ ! -s "$dir/initramfs.cpio.gz" ] || [ ! -s "$dir/vmlinuz" ] || [ "$(cat "$dir/modules" 2>/dev/null)" != "$MODULES" ]; then
  rm -rf "$dir" && mkdir -p "$dir/dl"
  # linux-image-amd64 is the meta package; its dependency names the current ABI's image.
  pkg=$("${apt_in[@]}" apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}') || true
  if [ -z "$pkg" ]; then
    "${apt_in[@]}" apt-get update -qq >/dev/null
    pkg=$("${apt_in[@]}" apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || die "apt does not know linux-image-amd64's image package"
  log "downloading $pkg"
  if [ ${#apt_in[@]} -gt 0 ]; then
    # apt in the root writes into the root's /tmp, which is the host's /tmp (a bind mount).
    tmp=$(mktemp -d /tmp/mcptrace-kernel-dl.XXXXXX)
    (cd "$tmp" && "${apt_in[@]}" sh -c "cd '$tmp' && apt-get download -q '$pkg'" >/dev/null 2>&1) \
      || "${apt_in[@]}" sh -c "apt-get update -qq && cd '$tmp' && apt-get download -q '$pkg'" >/dev/null
    mv "$tmp"/*.deb "$dir/dl/" && rmdir "$tmp"
  else
    (cd "$dir/dl" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  fi
  deb=$(ls "$dir"/dl/*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
  dpkg-deb -x "$deb" "$dir/pkg"
  kver=$(ls "$dir/pkg/lib/modules" 2>/dev/null || ls "$dir/pkg/usr/lib/modules")
  moddir=$dir/pkg/lib/modules/$kver
  [ -d "$moddir" ] || moddir=$dir/pkg/usr/lib/modules/$kver
  cp "$dir/pkg/boot/vmlinuz-$kver" "$dir/vmlinuz"
  cp "$dir/pkg/boot/config-$kver" "$dir/config"

  # The initramfs: busybox, the modules that mount the host over 9p and the checkout's overlay (with what they depend on,
  # read from each module's own depends= field, loaded dependencies first), and our init.
  ird=$dir/initramfs
  mkdir -p "$ird"/{bin,dev,proc,sys,host,lib/modules}
  cp /bin/busybox "$ird/bin/busybox"
  cp "$HERE/init" "$ird/init" && chmod +x "$ird/init"
  : >"$ird/modules.order"
  declare -A seen=()
  add_module() {
    local name=${1//-/_} f deps d
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    f=$(find "$moddir/kernel" -regextype posix-extended -regex ".*/${name//_/[-_]}\.ko(\.xz|\.zst|\.gz)?" | head -1)
    if [ -z "$f" ]; then
      grep -Eq "/${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
      die "module $name is neither a file nor built into $kver"
    fi
    local out=$ird/lib/modules/$name.ko
    case "$f" in
      *.xz) xz -dc "$f" >"$out" ;;
      *.zst) zstd -qdc "$f" >"$out" ;;
      *.gz) gzip -dc "$f" >"$out" ;;
      *) cp "$f" "$out" ;;
    esac
    deps=$(tr '\0' '\n' <"$out" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do add_module "$d"; done
    echo "$name.ko" >>"$ird/modules.order"
  }
  for m in $MODULES; do add_module "$m"; done
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs.cpio.gz"
  echo "$kver" >"$dir/kernel-release"
  echo "$MODULES" >"$dir/modules"
  rm -rf "$dir/pkg" "$dir/dl"
  log "$id: kernel $kver, initramfs with $(wc -l <"$ird/modules.order") modules"
fi
echo "$dir"
