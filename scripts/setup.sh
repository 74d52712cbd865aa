#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine (run as root): installs the
# Debian packages ebbflow needs when missing, mounts bpffs, installs npm
# dependencies and builds BPF objects, the native addon and the TypeScript.
# Fast when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "ebbflow needs root (BPF, network namespaces, cgroups); run as root"
  exit 1
fi

PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make cmake g++
      iproute2 iptables nftables iperf3 wrk busybox-static
      containerd runc containernetworking-plugins etcd-server prometheus)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/ebbflow-apt.log 2>&1; then
    log "apt-get install failed; refreshing package lists and retrying"
    apt-get update >>/tmp/ebbflow-apt.log 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/ebbflow-apt.log 2>&1 || {
      log "apt-get install failed, see /tmp/ebbflow-apt.log"; tail -20 /tmp/ebbflow-apt.log >&2; exit 1; }
  fi
  # Debian starts some services on install; ebbflow runs its own instances only.
  for svc in containerd etcd prometheus; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
  log "mounting bpffs at /sys/fs/bpf"
  mkdir -p /sys/fs/bpf
  mount -t bpf bpf /sys/fs/bpf
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

log "building"
npm run --silent build:bpf
bash scripts/build-bench-tools.sh
# The CNI plugin's native shim (relays each call to the agent; see cni/shim).
if [ ! -x build/cni/ebbflow-cni ] || [ cni/shim/ebbflow-cni.c -nt build/cni/ebbflow-cni ]; then
  mkdir -p build/cni
  gcc -O2 -Wall -Wextra -Werror -o build/cni/ebbflow-cni cni/shim/ebbflow-cni.c
fi
if [ ! -f build/native/Release/ebbflow_native.node ] || \
   [ -n "$(find native -newer build/native/Release/ebbflow_native.node -type f | head -1)" ]; then
  npm run --silent build:native >/tmp/ebbflow-native-build.log 2>&1 || {
    log "native addon build failed, see /tmp/ebbflow-native-build.log"; tail -30 /tmp/ebbflow-native-build.log >&2; exit 1; }
fi
npm run --silent build:ts
log "ready"
