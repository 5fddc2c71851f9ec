#!/usr/bin/env bash
# bench/pair_cost.sh BUILD_DIR -- instructions per malloc+free pair on the
# hit path, counted by callgrind as the difference of two loop lengths, and
# the pair loop's throughput, for glweave (assembly and C fast paths), glibc,
# jemalloc, tcmalloc and mimalloc, in one run.  Prints markdown tables.
# BENCH_SHORT=1: a quick smoke run (fewer classes, shorter timing).
#
# SPDX-License-Identifier: MIT
set -euo pipefail
build=${1:-.}
short=${BENCH_SHORT:-0}
libdir=/usr/lib/x86_64-linux-gnu
short_loop=200000
long_loop=600000
if [[ $short == 1 ]]; then timed_pairs=2000000; repeats=1; else timed_pairs=50000000; repeats=5; fi

if ! command -v valgrind >/dev/null; then
  echo "pair_cost: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi

# name|preload|binary
allocators=("glweave-asm||$build/bench/pair_gl"
            "glweave-c||$build/bench/pair_gl_c"
            "glibc||$build/bench/pair_malloc")
# The drop-in library, preloaded like the peers (bench/pair_malloc calls malloc).
if [[ -f $build/lib/.libs/libglweave-malloc.so ]]; then
  allocators+=("glweave-preload|$build/lib/.libs/libglweave-malloc.so|$build/bench/pair_malloc")
fi
for peer in "jemalloc|libjemalloc.so.2" "tcmalloc|libtcmalloc_minimal.so.4" "mimalloc|libmimalloc.so.2"; do
  name=${peer%%|*} lib=${peer#*|}
  if [[ -f $libdir/$lib ]]; then
    allocators+=("$name|$libdir/$lib|$build/bench/pair_malloc")
  else
    echo "pair_cost: $name skipped ($libdir/$lib is not installed)" >&2
  fi
done
# Not an allocator: the loop and its calls alone (bench/noop_alloc.c).
if [[ -f $build/bench/.libs/libnoop-alloc.so ]]; then
  allocators+=("no-op-floor|$build/bench/.libs/libnoop-alloc.so|$build/bench/pair_malloc")
fi
if ! grep -q GLWEAVE_ASM_X86_64 "$build/config.h" 2>/dev/null; then
  echo "pair_cost: this build uses the C fast path (--disable-asm or not x86_64): glweave-asm is the C twin here" >&2
fi

# Total instructions of one run: callgrind's "totals:" line.
instructions() { # preload binary size pairs
  local out
  out=$(mktemp)
  env ${1:+LD_PRELOAD=$1} valgrind --tool=callgrind --callgrind-out-file="$out" "$2" "$3" "$4" >/dev/null 2>&1
  awk '/^totals:/ { print $2 }' "$out"
  rm -f "$out"
}

per_pair() { # preload binary size
  local a b
  a=$(instructions "$1" "$2" "$3" $short_loop)
  b=$(instructions "$1" "$2" "$3" $long_loop)
  awk -v a="$a" -v b="$b" -v n=$((long_loop - short_loop)) 'BEGIN { printf "%.1f", (b - a) / n }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A cost rate
for entry in "${allocators[@]}"; do
  IFS='|' read -r name preload binary <<<"$entry"
  # valgrind's launcher is a shell script: preloading the no-op "allocator"
  # would hand the shell the same buffer for everything.  Only timed.
  if [[ $name == no-op-floor ]]; then cost[$name]=nan; continue; fi
  cost[$name]=$(per_pair "$preload" "$binary" 32)
done
# Throughput: repetitions interleaved over allocators, median per allocator.
declare -A samples
for ((r = 0; r < repeats; r++)); do
  for entry in "${allocators[@]}"; do
    IFS='|' read -r name preload binary <<<"$entry"
    samples[$name]+="$(env ${preload:+LD_PRELOAD=$preload} "$binary" 32 $timed_pairs time) "
  done
done
for entry in "${allocators[@]}"; do
  name=${entry%%|*}
  rate[$name]=$(tr ' ' '\n' <<<"${samples[$name]}" | grep . | median)
done

echo "## malloc(32)+free pair on the hit path"
echo
echo "Instructions per pair include the caller's loop (callgrind, loops of $short_loop and $long_loop pairs);"
echo "throughput is the median of $repeats interleaved runs of $timed_pairs pairs. Ratios are the peer's figure over glweave-asm's."
echo "The no-op-floor row is no allocator: its malloc(32) returns a static buffer and its free of it does nothing, so it shows what"
echo "the loop and its two calls cost by themselves, the floor under every other row."
echo
echo "| allocator | instructions/pair | × glweave-asm | Mpairs/s | × glweave-asm |"
echo "|---|---:|---:|---:|---:|"
for entry in "${allocators[@]}"; do
  name=${entry%%|*}
  awk -v n="$name" -v c="${cost[$name]}" -v c0="${cost[glweave-asm]}" -v r="${rate[$name]}" -v r0="${rate[glweave-asm]}" \
    'BEGIN { if (c == "nan") printf "| %s | - | - | %.1f | %.2f |\n", n, r, r / r0;
             else printf "| %s | %.1f | %.2f | %.1f | %.2f |\n", n, c, c / c0, r, r / r0 }'
done

# Every small class through both glweave fast paths.
classes=()
for ((s = 16; s <= 128; s += 16)); do classes+=("$s"); done
for ((base = 128; base < 16384; base *= 2)); do
  for step in 1 2 3 4; do classes+=($((base + step * base / 4))); done
done
if [[ $short == 1 ]]; then classes=(16 48 1024 16384); fi
echo
echo "## glweave: instructions per pair for every small class"
echo
echo "| size | asm | C twin |"
echo "|---:|---:|---:|"
worst=0
for size in "${classes[@]}"; do
  a=$(per_pair "" "$build/bench/pair_gl" "$size")
  c=$(per_pair "" "$build/bench/pair_gl_c" "$size")
  echo "| $size | $a | $c |"
  worst=$(awk -v w="$worst" -v a="$a" 'BEGIN { print (a > w) ? a : w }')
done
echo
echo "Most instructions per pair over all classes (asm): $worst"
