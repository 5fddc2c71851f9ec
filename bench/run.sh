#!/usr/bin/env bash
# run.sh -- runs the benchmark driver for every allocator on every workload,
# each run a process of its own, the allocators interleaved and their order
# rotated from one repetition to the next; then writes the medians as
# markdown and CSV, and plots them with gnuplot.  Normally started by
# `make bench` (or `make bench-short`) from a configured build tree.
#
# Allocators: glibc (no preload), jemalloc, tcmalloc, mimalloc (LD_PRELOAD of
# the Debian libraries; a missing one is skipped with a message), glweave
# (the driver linked with libglweave, calling gl_*), and glweave-preload
# (LD_PRELOAD of lib/.libs/libglweave-malloc.so, only if that file exists).
#
# Environment:
#   BENCH_BUILDDIR  build tree holding bench/bench_malloc, bench/bench_glweave (.)
#   BENCH_SRCDIR    source tree (unused today, for symmetry with the build tree)
#   BENCH_SHORT=1   CI mode: tiny sizes, one repetition, a few seconds in all
#   BENCH_REPS      repetitions (default 3; 1 in short mode)
#   BENCH_TIME      time budget of one run's measured part, seconds (default 0.3)
#   BENCH_ONLY      space-separated allocators to run (default: all found)
#   BENCH_OUT       results directory (default $BENCH_BUILDDIR/bench/results)
#   BENCH_LIBDIR    where the peers live (default /usr/lib/<multiarch>)
#
# Exit status: 0 when every run succeeded, 1 when a run crashed, timed out
# or measured the wrong allocator (the tables are written all the same).
#
# SPDX-License-Identifier: MIT
set -uo pipefail

builddir=$(cd "${BENCH_BUILDDIR:-.}" && pwd)
short=${BENCH_SHORT:-0}
if [[ "$short" == 1 ]]; then
  reps=${BENCH_REPS:-1}
  budget=${BENCH_TIME:-0.01}
  per_run_timeout=30
else
  reps=${BENCH_REPS:-3}
  budget=${BENCH_TIME:-0.3}
  per_run_timeout=120
fi
out=${BENCH_OUT:-$builddir/bench/results}
multiarch=$( (gcc -print-multiarch || dpkg-architecture -qDEB_HOST_MULTIARCH) 2>/dev/null)
libdir=${BENCH_LIBDIR:-/usr/lib/${multiarch:-x86_64-linux-gnu}}

drv_malloc=$builddir/bench/bench_malloc
drv_glweave=$builddir/bench/bench_glweave
for drv in "$drv_malloc" "$drv_glweave"; do
  if [[ ! -x "$drv" ]]; then
    echo "bench: $drv not found; build it with \`make bench\` (or make bench/bench_malloc bench/bench_glweave)" >&2
    exit 2
  fi
done

# --- allocators: name, driver, preload, library that must serve malloc ------
names=() drivers=() preloads=() expects=()
add_allocator() { names+=("$1"); drivers+=("$2"); preloads+=("$3"); expects+=("$4"); }
peer() { # name file package
  local name=$1 file=$libdir/$2 package=$3
  if [[ -e "$file" ]]; then
    add_allocator "$name" "$drv_malloc" "$file" "$name"
  else
    echo "bench: $name skipped: $file not found (Debian package $package)"
  fi
}
add_allocator glweave "$drv_glweave" "" "gl_api"
add_allocator glibc "$drv_malloc" "" "libc.so"
peer jemalloc libjemalloc.so.2 libjemalloc2
peer tcmalloc libtcmalloc_minimal.so.4 libtcmalloc-minimal4
peer mimalloc libmimalloc.so.2 libmimalloc2.0
if [[ -e "$builddir/lib/.libs/libglweave-malloc.so" ]]; then
  add_allocator glweave-preload "$drv_malloc" "$builddir/lib/.libs/libglweave-malloc.so" "glweave"
fi
if [[ -n "${BENCH_ONLY:-}" ]]; then
  keep_n=() keep_d=() keep_p=() keep_e=()
  for i in "${!names[@]}"; do
    if [[ " $BENCH_ONLY " == *" ${names[i]} "* ]]; then
      keep_n+=("${names[i]}") keep_d+=("${drivers[i]}") keep_p+=("${preloads[i]}") keep_e+=("${expects[i]}")
    fi
  done
  names=("${keep_n[@]}") drivers=("${keep_d[@]}") preloads=("${keep_p[@]}") expects=("${keep_e[@]}")
fi
nalloc=${#names[@]}
if ((nalloc == 0)); then
  echo "bench: no allocator to run" >&2
  exit 2
fi

# --- workloads: "workload n threads" (n or threads "-" when not used) -------
if [[ "$short" == 1 ]]; then
  cases=(
    "pairs - 1"
    "batch 100 1" "batch 1000 1"
    "mixed 1000 1" "mixed 10000 1"
    "large 100 1"
    "realloc 4096 1"
    "frag-small 20000 1" "frag-large 200 1"
    "churn 100 1" "churn 100 2"
    "prodcons - 2"
    "server 256 1" "server 256 2"
    "falseshare - 1" "falseshare - 2"
    "threadchurn - 1" "threadchurn - 2"
  )
else
  cases=(
    "pairs - 1"
    "batch 100 1" "batch 1000 1" "batch 10000 1" "batch 100000 1"
    "mixed 1000 1" "mixed 10000 1" "mixed 100000 1"
    "large 100 1" "large 1000 1" "large 10000 1"
    "realloc 4096 1" "realloc 262144 1"
    "frag-small 1000000 1" "frag-large 4000 1"
  )
  for t in 1 2 4 8; do cases+=("churn 1000 $t"); done
  for t in 2 4 8; do cases+=("prodcons - $t"); done # needs a second thread
  for t in 1 2 4 8; do cases+=("server 10000 $t"); done
  for t in 1 2 4 8; do cases+=("falseshare - $t"); done
  for t in 1 2 4 8; do cases+=("threadchurn - $t"); done
fi

mkdir -p "$out/logs"
rm -f "$out"/logs/*.log
runs_csv=$out/runs.csv
fields=(unit ops seconds rate live_peak_bytes rss_base_kb rss_peak_kb rss_end_kb driver_peak_kb
  gl_allocated_peak gl_mapped_peak gl_allocated_end gl_mapped_end gl_cached_end
  gl_resident_end gl_dirty_end malloc_lib)
header="rep,allocator,workload,n,threads,status"
for f in "${fields[@]}"; do header+=",$f"; done
echo "$header" >"$runs_csv"

total=$((reps * ${#cases[@]} * nalloc))
echo "bench: ${names[*]}; ${#cases[@]} workloads, $reps repetition(s), ${budget}s each: $total runs"
echo "bench: $(nproc) CPU(s), $(uname -r); results in $out"
# Other processes skew every figure; say so, here and in results.md.
load_start=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load_start" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }'; then
  echo "bench: warning: load average $load_start on $(nproc) CPU(s): other processes will skew the results"
fi

failures=0
done_runs=0
started=$SECONDS
run_one() { # rep allocator-index case
  local rep=$1 a=$2 workload n threads
  read -r workload n threads <<<"$3"
  local name=${names[a]} args=(-t "$budget" -p "$threads")
  [[ "$n" != - ]] && args+=(-n "$n")
  local log=$out/logs/$name-$workload-$n-$threads-$rep.log
  local env_cmd=(env -u LD_PRELOAD)
  [[ -n "${preloads[a]}" ]] && env_cmd=(env "LD_PRELOAD=${preloads[a]}")
  local line status=ok rc
  line=$("${env_cmd[@]}" timeout "$per_run_timeout" "${drivers[a]}" "${args[@]}" "$workload" 2>"$log" | grep '^BENCH ')
  rc=${PIPESTATUS[0]}
  if ((rc == 124)); then
    status=timeout
  elif ((rc > 128)); then
    status="signal-$((rc - 128))"
  elif ((rc != 0)); then
    status="exit-$rc"
  elif [[ -z "$line" ]]; then
    status=no-output
  fi
  local -A kv=()
  local word
  for word in $line; do
    [[ "$word" == *=* ]] && kv[${word%%=*}]=${word#*=}
  done
  if [[ "$status" == ok && "${kv[malloc_lib]:-}${kv[api]:-}" != *"${expects[a]}"* ]]; then
    status=wrong-allocator
  fi
  local row="$rep,$name,$workload,$n,$threads,$status" f
  for f in "${fields[@]}"; do row+=",${kv[$f]:-}"; done
  echo "$row" >>"$runs_csv"
  done_runs=$((done_runs + 1))
  if [[ "$status" != ok ]]; then
    failures=$((failures + 1))
    echo "bench: FAILED ($status): $name $workload n=$n threads=$threads rep $rep" \
      "(malloc from ${kv[malloc_lib]:-?}); stderr: $log"
    sed 's/^/    /' "$log" | tail -n 5
  else
    rm -f "$log"
  fi
}

for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    for ((k = 0; k < nalloc; k++)); do
      run_one "$rep" $(((k + rep - 1) % nalloc)) "$c"
    done
  done
  echo "bench: repetition $rep/$reps done ($done_runs/$total runs, $((SECONDS - started))s)"
done

# --- plots -----------------------------------------------------------------
# Draws one SVG per axis (live-set size, thread count) from the data files
# that summary.awk wrote into $out/plot, one panel per workload.
plot_panels() { # output x-label log-base-of-x panel...
  local svg=$1 xlabel=$2 logx=$3 panel file unit
  shift 3
  local n=$# cols=$(($# < 3 ? $# : 3))
  local rows=$(((n + cols - 1) / cols))
  {
    echo "set terminal svg size $((cols * 420)),$((rows * 330)) dynamic font 'sans,11'"
    echo "set output '$svg'"
    echo "set datafile missing '?'"
    echo "names = '${names[*]}'"
    echo "set key below horizontal font ',9'"
    echo "set grid"
    echo "set xlabel '$xlabel'"
    echo "set yrange [0:*]"
    echo "set logscale x $logx"
    echo "set offsets graph 0.05, graph 0.05, 0, 0"
    [[ "$logx" == 2 ]] && echo "set xtics (1, 2, 4, 8, 16, 32)"
    echo "set multiplot layout $rows,$cols title 'glweave benchmarks: median of $reps run(s), $(nproc) CPU(s)'"
    for panel in "$@"; do
      file=$out/plot/$panel.dat
      [[ -e "$file" ]] || continue
      case "$panel" in
        *threadchurn) unit="k threads/s" ;;
        *falseshare) unit="M writes/s" ;;
        *) unit="M ops/s" ;;
      esac
      echo "set title '${panel#*-}'"
      echo "set ylabel '$unit'"
      echo "plot for [i=1:words(names)] '$file' using 1:(column(i+1)) with linespoints title word(names, i)"
    done
    echo "unset multiplot"
  } >"$out/plot/$(basename "$svg" .svg).gp"
  if ! gnuplot "$out/plot/$(basename "$svg" .svg).gp" 2>"$out/plot/gnuplot.log"; then
    echo "bench: gnuplot failed for $svg:"
    cat "$out/plot/gnuplot.log"
  fi
}

plot() {
  if ! command -v gnuplot >/dev/null 2>&1; then
    echo "bench: gnuplot not found, no plots (Debian package gnuplot-nox)"
    return
  fi
  plot_panels "$out/live-set.svg" "live blocks (batch: blocks per batch)" 10 \
    live-batch live-mixed live-large
  plot_panels "$out/threads.svg" "threads" 2 \
    threads-churn threads-prodcons threads-server threads-falseshare threads-threadchurn
}

# --- medians, ratios, tables, plots -----------------------------------------
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
results_csv=$out/results.csv
results_md=$out/results.md
rm -rf "$out/plot"
mkdir -p "$out/plot"
awk -F, -v OFS=, -v order="${names[*]}" -v reps="$reps" -v budget="$budget" \
  -v md="$results_md" -v cpus="$(nproc)" -v plotdir="$out/plot" \
  -v load="$load_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end" \
  -f "$here/summary.awk" "$runs_csv" >"$results_csv"
plot

echo
cat "$results_md"
echo
echo "bench: $out/results.md, $out/results.csv (medians), $out/runs.csv (every run)"
if ((failures != 0)); then
  echo "bench: $failures of $total runs FAILED (see above and $out/logs/)"
  exit 1
fi
exit 0
