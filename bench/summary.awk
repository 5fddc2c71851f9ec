# summary.awk -- reads bench/run.sh's runs.csv (one row per run) and writes
# the medians: CSV on stdout (one row per workload and allocator, with the
# throughput ratio to glweave), markdown to the file md, and one data file
# per plotted workload into plotdir.  Variables: order (allocator names,
# glweave first), reps, budget, cpus, load, md, plotdir.  Plain POSIX awk (mawk).
#
# SPDX-License-Identifier: MIT
function median(list,    v, n, i, j, t) {
  n = split(list, v, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; i++) {
    t = v[i] + 0
    for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
    v[j + 1] = t
  }
  return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function label(w, n, t) {
  s = w
  if (n != "-") s = s " n=" n
  if (w ~ /^(churn|prodcons|server|falseshare|threadchurn)$/) s = s " threads=" t
  return s
}
function mib(kb) { return (kb == "") ? "" : sprintf("%.1f", kb / 1024) }
function mibb(b) { return (b == "") ? "" : sprintf("%.1f", b / 1048576) }
function fmt_rate(r, unit) {
  if (r == "") return "—"
  if (unit == "threads/s") return sprintf("%.1f k", r / 1e3)
  return sprintf("%.2f M", r / 1e6)
}
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
  key = $col["workload"] SUBSEP $col["n"] SUBSEP $col["threads"]
  if (!(key in seen)) { seen[key] = 1; keys[++nkeys] = key }
  g = key SUBSEP $col["allocator"]
  unit[key] = ($col["unit"] != "") ? $col["unit"] : unit[key]
  runs[g]++
  if ($col["status"] != "ok") { bad[g] = bad[g] " " $col["status"]; next }
  split("rate live_peak_bytes rss_base_kb rss_peak_kb rss_end_kb driver_peak_kb gl_allocated_peak gl_mapped_peak gl_mapped_end gl_resident_end gl_dirty_end", m, " ")
  for (i = 1; i in m; i++) if ($col[m[i]] != "") val[g, m[i]] = val[g, m[i]] " " $col[m[i]]
}
END {
  na = split(order, alloc, " ")
  print "workload,n,threads,allocator,runs,failed,unit,rate_median,ratio_to_glweave,live_peak_bytes,rss_base_kb,rss_peak_kb,rss_end_kb,driver_peak_kb,gl_allocated_peak,gl_mapped_peak,gl_mapped_end,gl_resident_end,gl_dirty_end"
  for (k = 1; k <= nkeys; k++) {
    key = keys[k]
    base = median(val[key, "glweave", "rate"])
    for (a = 1; a <= na; a++) {
      g = key SUBSEP alloc[a]
      if (!(g in runs)) continue
      r = median(val[g, "rate"])
      ratio = (r != "" && base != "" && base > 0) ? sprintf("%.3f", r / base) : ""
      med[g] = r; rat[g] = ratio
      for (f = 1; f <= 10; f++) {
        split("live_peak_bytes rss_base_kb rss_peak_kb rss_end_kb driver_peak_kb gl_allocated_peak gl_mapped_peak gl_mapped_end gl_resident_end gl_dirty_end", m, " ")
        mm[g, m[f]] = median(val[g, m[f]])
      }
      split(key, part, SUBSEP)
      nfail = split(bad[g], dummy, " ")
      print part[1], part[2], part[3], alloc[a], runs[g], nfail, unit[key], r, ratio, \
        mm[g, "live_peak_bytes"], mm[g, "rss_base_kb"], mm[g, "rss_peak_kb"], mm[g, "rss_end_kb"], mm[g, "driver_peak_kb"], \
        mm[g, "gl_allocated_peak"], mm[g, "gl_mapped_peak"], mm[g, "gl_mapped_end"], \
        mm[g, "gl_resident_end"], mm[g, "gl_dirty_end"]
    }
  }

  # results.md
  printf "## Throughput\n\n" > md
  printf "Median of %d run(s) of %ss each, one process per run, allocators interleaved; " \
    "%d CPU(s), load average %s.\n", reps, budget, cpus, load > md
  printf "Cells: rate per second (M = 10^6) and, in parentheses, the ratio to glweave " > md
  printf "(above 1: faster than glweave).  A failed run is marked FAIL.\n\n" > md
  line = "| workload | unit |"; sep = "| --- | --- |"
  for (a = 1; a <= na; a++) { line = line " " alloc[a] " |"; sep = sep " ---: |" }
  print line > md; print sep > md
  for (k = 1; k <= nkeys; k++) {
    key = keys[k]; split(key, part, SUBSEP)
    line = "| " label(part[1], part[2], part[3]) " | " unit[key] " |"
    for (a = 1; a <= na; a++) {
      g = key SUBSEP alloc[a]
      cell = fmt_rate(med[g], unit[key])
      if (alloc[a] != "glweave" && rat[g] != "") cell = cell sprintf(" (%.2fx)", rat[g])
      if (bad[g] != "") cell = cell " FAIL" (med[g] == "" ? "" : "(some)")
      line = line " " cell " |"
    }
    print line > md
  }
  printf "\n## Memory\n\n" > md
  printf "Median MiB: live = most bytes the workload held at once (requested sizes); " > md
  printf "peak = VmHWM; end = VmRSS after the workload freed everything " > md
  printf "(the process starts at about the base RSS shown for glweave; the peak includes the driver's own arrays, " > md
  printf "shown as driver, which it unmaps before reading the end).  " > md
  printf "glweave columns: gl_stats_get() allocated and mapped near the peak; mapped, resident and dirty at the end, " > md
  printf "read right after the last free (no gl_trim, no wait for decay).  " > md
  printf "Thread workloads sample the live bytes every millisecond; for threadchurn live is an upper bound.\n\n" > md
  line = "| workload | live |"; sep = "| --- | ---: |"
  for (a = 1; a <= na; a++) { line = line " " alloc[a] " peak / end |"; sep = sep " ---: |" }
  line = line " base | driver | gl allocated / mapped (peak) | gl mapped / resident / dirty (end) |"; sep = sep " ---: | ---: | ---: | ---: |"
  print line > md; print sep > md
  for (k = 1; k <= nkeys; k++) {
    key = keys[k]; split(key, part, SUBSEP)
    if (part[1] !~ /^(frag-small|frag-large|churn|prodcons|server|threadchurn)$/) continue
    gw = key SUBSEP "glweave"
    line = "| " label(part[1], part[2], part[3]) " | " mibb(mm[gw, "live_peak_bytes"]) " |"
    for (a = 1; a <= na; a++) {
      g = key SUBSEP alloc[a]
      cell = (mm[g, "rss_peak_kb"] == "") ? "—" : mib(mm[g, "rss_peak_kb"]) " / " mib(mm[g, "rss_end_kb"])
      line = line " " cell " |"
    }
    line = line " " mib(mm[gw, "rss_base_kb"]) " | " mib(mm[gw, "driver_peak_kb"]) " | " mibb(mm[gw, "gl_allocated_peak"]) " / " mibb(mm[gw, "gl_mapped_peak"]) \
      " | " mibb(mm[gw, "gl_mapped_end"]) " / " mibb(mm[gw, "gl_resident_end"]) " / " mibb(mm[gw, "gl_dirty_end"]) " |"
    print line > md
  }

  # data for the plots: one file per workload, x then one column per allocator
  for (k = 1; k <= nkeys; k++) {
    key = keys[k]; split(key, part, SUBSEP)
    if (part[1] ~ /^(batch|mixed|large)$/) { x = part[2]; file = plotdir "/live-" part[1] ".dat" }
    else if (part[1] ~ /^(churn|prodcons|server|falseshare|threadchurn)$/) { x = part[3]; file = plotdir "/threads-" part[1] ".dat" }
    else continue
    if (!(file in opened)) {
      opened[file] = 1
      line = "# x"; for (a = 1; a <= na; a++) line = line " " alloc[a]
      print line > file
    }
    line = x
    for (a = 1; a <= na; a++) {
      g = key SUBSEP alloc[a]
      line = line " " ((med[g] == "") ? "?" : med[g] / (unit[key] == "threads/s" ? 1e3 : 1e6))
    }
    print line > file
  }
}
