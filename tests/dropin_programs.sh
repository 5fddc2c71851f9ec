#!/bin/sh
# dropin_programs.sh -- real Debian programs with libglweave-malloc.so as
# their malloc: each case runs once under glibc's malloc and once with
# LD_PRELOAD naming the built library, and must exit the same way and print
# the same output (digests of everything it produced) both times, with no
# "glweave:" report on stderr.  The programs fork, exec, start threads,
# dlopen modules and hand glibc memory back and forth, so every command of a
# case, helpers included, runs under the library.
#
#   python   python3 builds and drops large dicts, lists, sets and strings,
#            in threads too, and imports C extension modules
#   sort     sort of a large generated file: small buffer (temporary files,
#            merges) and --parallel=2
#   gcc      gcc compiles, assembles, links and runs a generated C program,
#            and compiles lib/large.c of this tree
#   sqlite3  a few thousand inserts, an index, joins and aggregates
#   git      a repository with many commits, then gc (threaded
#            pack-objects), fsck and log
#   xz       xz -T2 compresses a 10-block file with two threads and
#            decompresses it with two threads; the round trip must match
#
# A case whose program is missing is skipped (scripts/setup-debian.sh
# installs them all); the script exits 77 when every case was skipped.
# Arguments name the cases to run (default: all).  Needs the shared library
# (found from $top_builddir, as `make check` exports it); exits 77 without.

# shellcheck disable=SC2317 # the case_* functions are called as "case_$name"
set -u

unset LD_PRELOAD
LC_ALL=C
export LC_ALL
TZ=UTC
export TZ

top=$(cd "${top_builddir:-.}" && pwd) || exit 1
src=$(cd "${srcdir:-.}" && pwd) || exit 1
lib="$top/lib/.libs/libglweave-malloc.so"

if [ ! -f "$lib" ]; then
    echo "dropin_programs: $lib not built (--disable-shared?): skipped"
    exit 77
fi
# A sanitizer runtime must come first in the process; it cannot come in as
# a dependency of a preloaded library.  gcc links the runtime as a NEEDED
# library; clang links it into executables, leaving the library's __asan_ or
# __tsan_ references undefined.
if { command -v readelf >/dev/null 2>&1 &&
    readelf -d "$lib" 2>/dev/null | grep -q 'NEEDED.*lib[at]san'; } ||
    { command -v nm >/dev/null 2>&1 &&
        nm -D --undefined-only "$lib" 2>/dev/null | grep -q ' __[at]san_'; }; then
    echo "dropin_programs: $lib is built with a sanitizer: skipped"
    exit 77
fi

# Debian's programs, even when PATH offers others first (a pyenv shim, say).
find_program() {
    for dir in /usr/bin /bin; do
        if [ -x "$dir/$1" ]; then
            echo "$dir/$1"
            return 0
        fi
    done
    command -v "$1" 2>/dev/null
}

if command -v timeout >/dev/null 2>&1; then
    limit="timeout -k 5 100"
else
    limit=
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/glweave-programs.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# Is the library really loaded into a preloaded process?
if ! LD_PRELOAD="$lib" grep -q libglweave-malloc /proc/self/maps 2>/dev/null; then
    echo "dropin_programs: LD_PRELOAD=$lib does not load the library"
    exit 1
fi

now() { date +%s; }

# --- cases ------------------------------------------------------------------
# Each case_NAME runs in an empty directory of its own and prints what it
# produced; prepare_NAME (optional) writes shared input into $work/input.

python_program() {
    cat <<'EOF'
import hashlib, json, random, re, sys, threading

random.seed(6)
digest = hashlib.sha256()

def churn(round_number):
    d = {i: str(i) * (i % 7) for i in range(250000)}
    lists = [[j] * (j % 5) for j in range(150000)]
    words = {str(k * 7919) for k in range(100000)}
    total = sum(len(v) for v in d.values()) + sum(map(len, lists)) + len(words)
    for k in list(d)[::3]:
        del d[k]
    d.update({-k: [k] for k in range(50000)})
    total += len(d)
    return total

for round_number in range(3):
    digest.update(str(churn(round_number)).encode())

# A string grown and a bytearray resized piece by piece (realloc).
text = ""
blob = bytearray()
for i in range(100000):
    text += chr(97 + i % 26)
    blob += bytes([i % 251]) * (i % 17)
    if i % 1000 == 999:
        del blob[: len(blob) // 3]
digest.update(text.encode())
digest.update(bytes(blob))

# Large objects that go straight to big blocks and back.
big = [bytes(random.getrandbits(8) for _ in range(64)) * (1 << (i % 15)) for i in range(200)]
digest.update(b"".join(big[::7]))
del big

doc = json.dumps({str(i): {"v": list(range(i % 50)), "s": "x" * (i % 300)} for i in range(20000)})
back = json.loads(doc)
digest.update(str(len(doc)).encode() + str(len(back)).encode())
digest.update(str(len(re.findall(r'"s": "x{10,20}"', doc))).encode())

# Threads that allocate and free while others do.
results = [0] * 4
def worker(n):
    acc = 0
    for r in range(20):
        chunk = [str(n * r * j) for j in range(20000)]
        acc += sum(len(c) for c in chunk)
        del chunk
    results[n] = acc
threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
digest.update(str(results).encode())

# C extension modules come in with dlopen.
loaded = []
for name in ("ssl", "decimal", "zlib", "sqlite3", "ctypes", "_bz2"):
    try:
        __import__(name)
        loaded.append(name)
    except ImportError:
        pass
print("modules:", " ".join(loaded))
print("digest:", digest.hexdigest())
EOF
}

case_python() {
    python_program >program.py &&
        $limit "$python3" program.py
}

prepare_sort() {
    # 300,000 lines of pseudo-random keys, words and numbers (Park-Miller).
    awk 'BEGIN {
        x = 6
        for (i = 0; i < 300000; i++) {
            x = (x * 16807) % 2147483647
            y = (x * 16807) % 2147483647
            printf "%08x %d word%d %s\n", x, y % 100000, x % 977, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, y % 20)
            x = y
        }
    }' >"$work/input/lines"
}

case_sort() {
    mkdir tmp &&
        $limit "$sort" -S 2M -T tmp "$work/input/lines" -o by-line &&
        $limit "$sort" --parallel=2 -S 64M -k2,2n -k1,1r "$work/input/lines" >by-number &&
        $limit "$sort" -u -k3,3 "$work/input/lines" >unique &&
        sha256sum by-line by-number unique && wc -l <unique
}

generate_c_program() {
    awk 'BEGIN {
        print "#include <stdio.h>"
        print "#include <stdlib.h>"
        print "#include <string.h>"
        n = 400
        for (i = 0; i < n; i++) {
            printf "static unsigned f%d(unsigned x) {\n", i
            printf "    unsigned t[%d];\n", 8 + i % 24
            printf "    for (unsigned j = 0; j < %d; j++) t[j] = x * %du + j * j;\n", 8 + i % 24, i * 2 + 1
            printf "    for (unsigned k = 0; k < %d && x > 7; k++) x = (x & 1) ? 3 * x + 1 : x / 2;\n", 50 + i % 50
            printf "    return x ^ t[%d] ^ (unsigned)%d;\n", i % 8, i
            print  "}"
        }
        print "static int cmp(const void *a, const void *b) { unsigned x = *(const unsigned *)a, y = *(const unsigned *)b; return (x > y) - (x < y); }"
        print "int main(void) {"
        printf "    unsigned *v = malloc(%d * sizeof *v);\n", n
        for (i = 0; i < n; i++)
            printf "    v[%d] = f%d(%du);\n", i, i, i * 7 + 3
        printf "    qsort(v, %d, sizeof *v, cmp);\n", n
        print  "    unsigned long sum = 0;"
        printf "    for (int i = 0; i < %d; i++) sum = sum * 31 + v[i];\n", n
        print  "    char *s = strdup(\"glweave\");"
        print  "    printf(\"%s %lu\\n\", s, sum);"
        print  "    free(s); free(v);"
        print  "    return 0;"
        print  "}"
    }'
}

case_gcc() {
    generate_c_program >program.c &&
        $limit "$gcc" -O2 -Wall -save-temps program.c -o program &&
        $limit ./program &&
        $limit "$gcc" -O2 -S -I"$src/lib" -I"$top" "$src/lib/large.c" -o large.s &&
        sha256sum program.s large.s
}

prepare_sqlite3() {
    awk 'BEGIN {
        print "PRAGMA journal_mode = WAL;"
        print "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, city INTEGER, score REAL);"
        print "CREATE TABLE cities (id INTEGER PRIMARY KEY, name TEXT);"
        for (c = 0; c < 50; c++)
            printf "INSERT INTO cities VALUES (%d, \"city-%d\");\n", c, c * 37
        print "BEGIN;"
        x = 11
        for (i = 0; i < 4000; i++) {
            x = (x * 16807) % 2147483647
            printf "INSERT INTO people (name, city, score) VALUES (\"%s-%d\", %d, %d.%02d);\n", substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, 1 + x % 9), i, x % 50, x % 1000, x % 100
        }
        print "COMMIT;"
        print "CREATE INDEX people_city ON people (city, score);"
        for (i = 0; i < 1500; i++) {
            printf "UPDATE people SET score = score + 1 WHERE id = %d;\n", (i * 7919) % 4000 + 1
            if (i % 3 == 0)
                printf "DELETE FROM people WHERE id = %d;\n", (i * 104729) % 4000 + 1
        }
        print "SELECT count(*), round(sum(score), 2) FROM people;"
        print "SELECT c.name, count(*), round(avg(p.score), 3), max(length(p.name)) FROM people p JOIN cities c ON c.id = p.city GROUP BY c.id ORDER BY 3 DESC, 1 LIMIT 20;"
        print "SELECT group_concat(name, \",\") FROM (SELECT name FROM people WHERE score > 990 ORDER BY name);"
        print "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT count(*), sum(i % 7) FROM n;"
        print "VACUUM;"
        print "PRAGMA integrity_check;"
    }' >"$work/input/script.sql"
}

case_sqlite3() {
    $limit "$sqlite3" test.db <"$work/input/script.sql" &&
        $limit "$sqlite3" test.db "SELECT count(*) FROM people WHERE name LIKE 'a%';"
}

case_git() {
    HOME=$PWD
    GIT_CONFIG_NOSYSTEM=1
    GIT_AUTHOR_NAME=glweave GIT_AUTHOR_EMAIL=glweave@example.org
    GIT_COMMITTER_NAME=glweave GIT_COMMITTER_EMAIL=glweave@example.org
    export HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
        GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
    $limit "$git" init -q -b main repo && cd repo &&
        "$git" config gc.auto 0 &&
        "$git" config pack.threads 2 || return 1
    for f in 0 1 2 3 4 5 6 7; do
        seq 1 $((f * 50 + 20)) | sed "s/^/file $f line /" >"file$f.txt"
    done
    "$git" add . || return 1
    i=0
    while [ "$i" -lt 150 ]; do
        f=$((i % 8))
        echo "change $i" >>"file$f.txt"
        [ $((i % 10)) -eq 0 ] && echo "new $i" >"extra$i.txt" && "$git" add "extra$i.txt"
        GIT_AUTHOR_DATE="@$((1700000000 + i * 60)) +0000" \
            GIT_COMMITTER_DATE="@$((1700000000 + i * 60)) +0000" \
            $limit "$git" commit -q -a -m "commit $i" || return 1
        i=$((i + 1))
    done
    $limit "$git" gc -q --aggressive &&
        $limit "$git" fsck --full --strict 2>&1 &&
        "$git" rev-list --count HEAD &&
        "$git" log --format='%H %s' | sha256sum &&
        "$git" diff --stat HEAD~100 HEAD | tail -n 1 &&
        "$git" count-objects -v | grep -E '^(count|in-pack|packs)'
}

prepare_xz() {
    # About 10 MiB: text that compresses well and noise that does not.
    cat "$work/input/lines" >"$work/input/big" &&
        head -c 1000000 /dev/urandom >>"$work/input/big"
}

case_xz() {
    $limit "$xz" -T2 --block-size=1MiB -3 -c "$work/input/big" >big.xz &&
        $limit "$xz" -T2 -d -c big.xz >big &&
        cmp "$work/input/big" big && echo "round trip ok" &&
        $limit "$xz" --robot --list big.xz | awk '$1 == "file" { print "blocks:", $3 }' &&
        sha256sum big.xz | cut -c1-64
}

# --- the runner -------------------------------------------------------------

python3=$(find_program python3)
sort=$(find_program sort)
gcc=$(find_program gcc)
sqlite3=$(find_program sqlite3)
git=$(find_program git)
xz=$(find_program xz)

needs() {
    case $1 in
    python) echo "$python3" ;;
    sort) echo "$sort" ;;
    gcc) echo "$gcc" ;;
    sqlite3) echo "$sqlite3" ;;
    git) echo "$git" ;;
    xz) echo "$xz" ;;
    esac
}

ran=0
failed=0
skipped=0
mkdir "$work/input"
prepared_sort=no

run_case() {
    name=$1
    program=$(needs "$name")
    if [ -z "$program" ]; then
        echo "SKIP: $name (program not installed)"
        skipped=$((skipped + 1))
        return
    fi
    if [ "$name" = xz ] || [ "$name" = sort ]; then
        if [ "$prepared_sort" = no ]; then
            prepare_sort || { echo "FAIL: $name (preparing input)"; failed=$((failed + 1)); return; }
            prepared_sort=yes
        fi
    fi
    case $name in
    sqlite3) prepare_sqlite3 ;;
    xz) prepare_xz ;;
    esac
    for malloc in glibc glweave; do
        dir="$work/$name.$malloc"
        mkdir "$dir"
        start=$(now)
        if [ $malloc = glweave ]; then
            (cd "$dir" && LD_PRELOAD="$lib" && export LD_PRELOAD && "case_$name") \
                >"$dir.out" 2>"$dir.err"
        else
            (cd "$dir" && "case_$name") >"$dir.out" 2>"$dir.err"
        fi
        echo $? >"$dir.status"
        echo $(($(now) - start)) >"$dir.seconds"
    done
    ran=$((ran + 1))
    g="$work/$name.glibc"
    w="$work/$name.glweave"
    problem=
    if [ "$(cat "$g.status")" != 0 ]; then
        problem="fails under glibc's malloc too (exit $(cat "$g.status"))"
    elif [ "$(cat "$w.status")" != 0 ]; then
        problem="exit status $(cat "$w.status") under glweave"
    elif grep -q 'glweave:' "$w.err"; then
        problem="glweave reported an error"
    elif ! cmp -s "$g.out" "$w.out"; then
        problem="output differs from glibc's"
    fi
    if [ -n "$problem" ]; then
        failed=$((failed + 1))
        echo "FAIL: $name: $problem ($program)"
        echo "  --- output under glibc, then under glweave (diff):"
        diff "$g.out" "$w.out" | head -n 20 | sed 's/^/  /'
        echo "  --- stderr under glweave (last lines):"
        tail -n 20 "$w.err" | sed 's/^/  /'
        [ "$(cat "$g.status")" != 0 ] && tail -n 20 "$g.err" | sed 's/^/  glibc: /'
    else
        echo "PASS: $name ($program; glibc $(cat "$g.seconds")s, glweave $(cat "$w.seconds")s)"
        sed 's/^/  /' "$w.out" | head -n 8
    fi
}

cases=${*:-python sort gcc sqlite3 git xz}
echo "dropin_programs: LD_PRELOAD=$lib"
for name in $cases; do
    case $name in
    python | sort | gcc | sqlite3 | git | xz) run_case "$name" ;;
    *)
        echo "dropin_programs: no case named $name"
        exit 2
        ;;
    esac
done

echo "dropin_programs: $ran ran, $failed failed, $skipped skipped"
if [ "$failed" -ne 0 ]; then
    exit 1
fi
if [ "$ran" -eq 0 ]; then
    exit 77
fi
exit 0
