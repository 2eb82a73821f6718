#!/bin/sh
# mkflat.sh OUT SRC COMMON: assemble a tiny guest into a flat binary that
# runs at 1 MiB (shmvm --flat). _start must be the first byte.
set -eu
out=$1 src=$2 common=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
$cc -c -nostdlib -fno-pic -I"$(dirname "$src")" -o "$tmp/g.o" "$src"
$cc -c -nostdlib -fno-pic -I"$(dirname "$common")" -o "$tmp/c.o" "$common"
ld -nostdlib -static -Ttext=0x100000 -e _start --oformat binary -o "$out" "$tmp/g.o" "$tmp/c.o"
