#!/usr/bin/env bash
# Compiles each bpf/*.c entry object (one per attach point) to build/bpf/*.o
# and each bpf/test/*.c (objects used only by tests) to build/bpf/test/*.o,
# with clang for the BPF target; rebuilds only what is older than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/bpf/test
CLANG=${CLANG:-clang}
ARCH=$(uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
for src in bpf/*.c bpf/test/*.c; do
  [ -e "$src" ] || continue
  case "$src" in bpf/test/*) out=build/bpf/test ;; *) out=build/bpf ;; esac
  obj="$out/$(basename "${src%.c}").o"
  if [ -f "$obj" ] && [ -z "$(find bpf -newer "$obj" -type f | head -1)" ]; then continue; fi
  "$CLANG" -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_"$ARCH" \
    -I bpf -I /usr/include/"$(uname -m)"-linux-gnu -c "$src" -o "$obj"
done
