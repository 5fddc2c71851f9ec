#!/bin/sh
# misuse.sh -- issue #7 from the outside: installs the built library into a
# temporary DESTDIR, builds each bad-input program of tests/misuse/ against
# that installation with pkg-config, runs it, and requires that it ends
# with glweave's one-line report (the call, the pointer, the reason that
# the program printed in its EXPECT line) and SIGABRT -- never SIGSEGV,
# never exit 0.  Run by `make check` (tests/misuse/Makefile.inc), which
# passes MISUSE_CC and MISUSE_MAKE; `sh tests/misuse.sh` from a build
# directory works too.  MISUSE_SKIP="name ..." leaves programs out (to
# look at the others while a known failure is being fixed).  Exit 77
# (skipped) for sanitizer builds, whose library needs the sanitizer's
# runtime in every program, and when pkg-config is missing.  Never writes outside its temporary directory.
#
# SPDX-License-Identifier: MIT

top_builddir=${top_builddir:-.}
srcdir=${srcdir:-$(dirname "$0")/..}
cc=${MISUSE_CC:-${CC:-cc}}
make=${MISUSE_MAKE:-make}
programs_dir=$srcdir/tests/misuse

if grep -q '^SANITIZER_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null; then
    echo "misuse: sanitizer build: skipped (tests/test_misuse covers it)"
    exit 77
fi
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "misuse: pkg-config not found: skipped"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/glweave-misuse.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# A make of its own: not a job of the make running the tests (its
# jobserver is not ours), and nothing is left to build, only to copy.
root=$tmp/root
if ! (cd "$top_builddir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        $make install DESTDIR="$root" >"$tmp/install.log" 2>&1); then
    echo "misuse: make install DESTDIR=$root failed:"
    cat "$tmp/install.log"
    exit 1
fi
pc=$(find "$root" -name glweave.pc | head -n 1)
if [ -z "$pc" ]; then
    echo "misuse: no glweave.pc under $root"
    exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")

# The .pc names the configured prefix; the sysroot puts the DESTDIR in
# front of its -I and -L.  --static adds liburcu-bp and -pthread, which a
# static-only installation (--disable-shared) needs.
if ! flags=$(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
        pkg-config --cflags --libs --static glweave); then
    echo "misuse: pkg-config --cflags --libs --static glweave failed"
    exit 1
fi
echo "misuse: installed in $root; cc flags: $flags"

ulimit -c 0 2>/dev/null
abrt=134 # 128 + SIGABRT (6), as the shell reports a death by signal
failed=0
passed=0

for source in "$programs_dir"/*.c; do
    name=$(basename "$source" .c)
    case " ${MISUSE_SKIP:-} " in
        *" $name "*) echo "SKIP: $name (MISUSE_SKIP)"; continue ;;
    esac
    exe=$tmp/$name
    # $flags is split on purpose: it is a list of options
    # shellcheck disable=SC2086
    if ! "$cc" -std=gnu11 -O1 -Wall -I"$programs_dir" "$source" -o "$exe" $flags \
            -Wl,-rpath,"$libdir" >"$tmp/$name.cc" 2>&1; then
        echo "FAIL: $name: does not build:"
        cat "$tmp/$name.cc"
        failed=$((failed + 1))
        continue
    fi
    LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
        timeout 30 "$exe" >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
    report=$(grep -m 1 '^glweave: ' "$tmp/$name.err")
    first=$(head -n 1 "$tmp/$name.err")
    read -r tag call ptr reason <"$tmp/$name.out"
    why=
    if [ "$tag" != EXPECT ]; then
        why="no EXPECT line (stdout: $(head -n 1 "$tmp/$name.out"))"
    elif [ "$status" -ne "$abrt" ]; then
        case $status in
            0) why="exited 0: the misuse went unnoticed" ;;
            124) why="hung (killed after 30 s)" ;;
            *) if [ "$status" -gt 128 ]; then
                   why="died of SIG$(kill -l $((status - 128))), not SIGABRT"
               else
                   why="exited $status"
               fi ;;
        esac
    elif [ -z "$report" ] || [ "$report" != "$first" ]; then
        why="stderr does not start with a glweave report"
    else
        case $report in
            "glweave: $call(): "*) ;;
            *) why="the report does not name $call()" ;;
        esac
        if [ -z "$why" ] && [ "$ptr" != - ]; then
            # the first hexadecimal number is the pointer
            shown=$(printf '%s\n' "$report" | grep -o -m 1 '0x[0-9a-f]*' | head -n 1)
            [ "$shown" = "$ptr" ] || why="the report shows ${shown:-no pointer}, not $ptr"
        fi
        case $report in
            *"$reason"*) ;;
            *) why=${why:-"the report does not say \"$reason\""} ;;
        esac
    fi
    if [ -n "$why" ]; then
        echo "FAIL: $name: $why"
        sed 's/^/    stderr: /' "$tmp/$name.err" | head -n 5
        failed=$((failed + 1))
    else
        echo "PASS: $name: $report"
        passed=$((passed + 1))
    fi
done

echo "misuse: $passed passed, $failed failed"
[ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]
