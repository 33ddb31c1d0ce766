#!/usr/bin/env bash
# SSH test hosts on this machine: one sshd per loopback address (127.0.0.11, .12, …, port 2222),
# each a "host" that shares this kernel, so bpftrace really runs on it over SSH. Host number 2
# (127.0.0.12) finds bpftrace 0.27 first in its PATH (the Debian sid root), so a fleet has a host
# with another version. Keys, known_hosts and an Ansible inventory are written to DIR.
#
#   scripts/fleet-hosts.sh start N [DIR]   # default DIR /tmp/mcptrace-fleet
#   scripts/fleet-hosts.sh stop [DIR]
set -euo pipefail
cmd=${1:?usage: fleet-hosts.sh start N [DIR] | stop [DIR]}
if [ "$cmd" = start ]; then n=${2:?how many hosts}; dir=${3:-/tmp/mcptrace-fleet}; else dir=${2:-/tmp/mcptrace-fleet}; fi
port=2222

stop() {
  for pid in "$dir"/sshd_*.pid; do
    [ -f "$pid" ] || continue
    kill "$(cat "$pid")" 2>/dev/null || true
    rm -f "$pid"
  done
  # Each host's master connection (ControlPersist) belongs to the client; closing its socket ends it.
  for s in "$dir"/cm/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit dummy 2>/dev/null || true; done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || { echo "fleet-hosts: sshd is missing: apt-get install -y openssh-server" >&2; exit 3; }
mkdir -p "$dir/cm" /run/sshd
chmod 700 "$dir" "$dir/cm"
[ -f "$dir/key" ] || ssh-keygen -q -t ed25519 -N '' -C mcptrace-fleet-test -f "$dir/key"
[ -f "$dir/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C mcptrace-fleet-host -f "$dir/hostkey"
cp "$dir/key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
sid_path=
if [ -x /srv/mcptrace-roots/bin/bpftrace-sid ]; then
  mkdir -p "$dir/path-sid"
  ln -sf /srv/mcptrace-roots/bin/bpftrace-sid "$dir/path-sid/bpftrace"
  sid_path="$dir/path-sid:"
fi
stop
: > "$dir/known_hosts"
{
  echo "# Written by scripts/fleet-hosts.sh: $n test hosts on this machine."
  echo "[fleet]"
} > "$dir/inventory.ini"
for i in $(seq 1 "$n"); do
  addr="127.0.0.$((10 + i))"
  conf="$dir/sshd_$i.conf"
  {
    echo "ListenAddress $addr:$port"
    echo "HostKey $dir/hostkey"
    echo "PidFile $dir/sshd_$i.pid"
    echo "AuthorizedKeysFile $dir/authorized_keys"
    echo "PermitRootLogin prohibit-password"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "UsePAM no"
    echo "StrictModes no"
    echo "MaxSessions 64"
    echo "MaxStartups 64:30:128"
    if [ "$i" = 2 ] && [ -n "$sid_path" ]; then echo "SetEnv PATH=${sid_path}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; fi
  } > "$conf"
  /usr/sbin/sshd -f "$conf" -E "$dir/sshd_$i.log"
  echo "[$addr]:$port $(cut -d' ' -f1,2 "$dir/hostkey.pub")" >> "$dir/known_hosts"
  echo "host$i ansible_host=$addr ansible_port=$port ansible_user=root" >> "$dir/inventory.ini"
done
cat >> "$dir/inventory.ini" <<EOF

[fleet:vars]
ansible_ssh_private_key_file=$dir/key
ansible_ssh_common_args='-o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=yes'
EOF
# Wait until each one answers.
for i in $(seq 1 "$n"); do
  for _ in $(seq 1 50); do
    ssh -o BatchMode=yes -o UserKnownHostsFile="$dir/known_hosts" -o ConnectTimeout=2 -i "$dir/key" -p "$port" "root@127.0.0.$((10 + i))" true 2>/dev/null && break
    sleep 0.1
  done
done
echo "fleet-hosts: $n hosts on 127.0.0.11-$((10 + n)):$port; inventory $dir/inventory.ini" >&2
