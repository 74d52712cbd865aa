#!/usr/bin/env bash
# Compiles the benchmark's C tools (bench/tools/*.c) into build/bench/ with
# gcc -O2; rebuilds a tool only when it is missing or older than its source.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/bench
CC=${CC:-gcc}
for src in bench/tools/*.c; do
  [ -e "$src" ] || continue
  bin="build/bench/$(basename "${src%.c}")"
  if [ -x "$bin" ] && [ "$bin" -nt "$src" ]; then continue; fi
  "$CC" -O2 -g -Wall -Wextra -Werror -pthread -o "$bin" "$src"
done
