#!/usr/bin/env bash
# Builds gradti's libFuzzer harnesses and runs each for SECONDS on its corpus.
#
#   Tests/fuzz/run.sh [options] SECONDS [HARNESS...]     (SECONDS 0: build only)
#
#   --merge       afterwards, merge what the run found (inputs with new coverage) into the
#                 committed corpus Tests/fuzz/corpus/HARNESS
#   --jobs N      harnesses fuzzed at once (default: the number of cores)
#   --no-build    use the binaries already built
#   --list        print the harness names and exit
#   Any argument after `--` goes to every libFuzzer run (e.g. -- -only_ascii=1).
#
# Harnesses: Tests/fuzz/harnesses/NAME.swift. Everything is built in .build-fuzz/ (FUZZ_BUILD to
# change it): SwiftPM builds the library targets with coverage and AddressSanitizer, each harness
# is linked with libFuzzer by swiftc (Tests/fuzz/README.md says why). New corpus entries go to
# .build-fuzz/fuzz/corpus/HARNESS, never to the committed corpus unless --merge; crashing inputs
# to .build-fuzz/fuzz/artifacts/HARNESS/. Tests/fuzz/crashes/HARNESS/ is replayed on every run.
#
# Exits non-zero if any harness crashed (including leaks, timeouts of FUZZ_TIMEOUT seconds per
# input, default 10, and memory above FUZZ_RSS_MB, default 2048), failed to start, or executed no
# input or was not instrumented.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FUZZ=$ROOT/Tests/fuzz
OUT=${FUZZ_BUILD:-$ROOT/.build-fuzz}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
WORK=$OUT/fuzz
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}

all_harnesses() { for f in "$FUZZ"/harnesses/*.swift; do n=$(basename "$f" .swift); [ "$n" = FuzzSupport ] || echo "$n"; done; }

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

MERGE=0 BUILD=1 JOBS=$(nproc 2>/dev/null || echo 2) SECS= HARNESSES=() EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --merge) MERGE=1 ;;
        --no-build) BUILD=0 ;;
        --jobs) shift; JOBS=${1:?--jobs needs a number} ;;
        --jobs=*) JOBS=${1#--jobs=} ;;
        --list) all_harnesses; exit 0 ;;
        -h|--help) usage 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        -*) echo "run.sh: unknown option $1" >&2; usage ;;
        *) if [ -z "$SECS" ]; then SECS=$1; else HARNESSES+=("$1"); fi ;;
    esac
    shift
done
[[ $SECS =~ ^[0-9]+$ ]] || { echo "run.sh: SECONDS must be a whole number" >&2; usage; }
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --jobs needs a positive number" >&2; exit 2; }
[ ${#HARNESSES[@]} -gt 0 ] || mapfile -t HARNESSES < <(all_harnesses)
for h in "${HARNESSES[@]}"; do
    [ -f "$FUZZ/harnesses/$h.swift" ] || { echo "run.sh: no harness $h (have: $(all_harnesses | tr '\n' ' '))" >&2; exit 2; }
done

# The library target each harness imports, and the objects that target needs at link time.
top_target() {
    case $1 in
        wire) echo Jupyter ;;
        cells) echo Kernel ;;
        safetensors) echo Numerics ;;
        png|photo) echo Graphics ;;
        tokenizer|config) echo Diffusion ;;
        embedding|session) echo Inversion ;;
        *) grep -q '^import Kernel' "$FUZZ/harnesses/$1.swift" && echo Kernel && return
           for t in Jupyter Inversion Diffusion Graphics Numerics; do
               grep -q "^import $t" "$FUZZ/harnesses/$1.swift" && echo $t && return
           done
           echo Numerics ;;
    esac
}
CRYPTO="Crypto CryptoBoringWrapper CCryptoBoringSSL CCryptoBoringSSLShims"
closure() {
    case $1 in
        Numerics) echo "Numerics CKernels" ;;
        Graphics) echo "Graphics Numerics CKernels" ;;
        Diffusion) echo "Diffusion Graphics Numerics CKernels" ;;
        Inversion) echo "Inversion Diffusion Graphics Numerics CKernels" ;;
        Jupyter) echo "Jupyter $CRYPTO" ;;
        Kernel) echo "Kernel Jupyter Inversion Diffusion Graphics Numerics CKernels $CRYPTO" ;;
    esac
}

# One -sanitize= flag: given twice, swiftc keeps only the last (so SwiftPM's `--sanitize fuzzer
# --sanitize address` instruments Swift code for coverage only, and two -Xswiftc flags for ASan only).
SPM_FLAGS=(-c release --scratch-path "$OUT" -Xswiftc -sanitize=fuzzer,address)
B=$OUT/release
mkdir -p "$WORK/bin" "$WORK/obj" "$WORK/corpus" "$WORK/artifacts" "$WORK/logs" "$WORK/cwd"

if [ $BUILD = 1 ]; then
    command -v swift >/dev/null || { echo "run.sh: swift is not on PATH" >&2; exit 2; }
    start=$(date +%s)
    targets=()
    for h in "${HARNESSES[@]}"; do targets+=("$(top_target "$h")"); done
    mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort -u)
    # Kernel depends on every other target, so building it builds them all.
    for t in "${targets[@]}"; do [ "$t" = Kernel ] && targets=(Kernel) && break; done
    for t in "${targets[@]}"; do
        echo "== swift build --target $t (coverage + AddressSanitizer, in ${OUT#"$ROOT"/})"
        swift build "${SPM_FLAGS[@]}" --target "$t" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|warning: |^ +[0-9]* \||^ +\||^ *\^|note: |^$' | tail -n 20
        [ "${PIPESTATUS[0]}" = 0 ] || { echo "run.sh: swift build --target $t failed" >&2; exit 2; }
    done
    B=$(swift build "${SPM_FLAGS[@]}" --show-bin-path)
    # Each Swift module a harness tests must carry coverage counters and ASan checks (a wrong flag
    # gives a binary that runs and "fuzzes" blind).
    declare -A checked=()
    for h in "${HARNESSES[@]}"; do
        for t in $(closure "$(top_target "$h")"); do
            case $t in Numerics|Graphics|Diffusion|Inversion|Jupyter|Kernel) ;; *) continue ;; esac
            [ -z "${checked[$t]:-}" ] || continue
            checked[$t]=1
            if [ -z "$(grep -la __sancov_cntrs "$B/$t.build"/*.o | head -1)" ] \
                || [ -z "$(grep -la __asan_report "$B/$t.build"/*.o | head -1)" ]; then
                echo "run.sh: $t's objects have no coverage counters or no AddressSanitizer checks: the build flags are wrong" >&2
                exit 2
            fi
        done
    done

    # The PNG codec is C: SwiftPM compiles C targets without coverage here (so swift-crypto's
    # BoringSSL is not instrumented, which would double its build time), so it is compiled again
    # with coverage and AddressSanitizer and linked instead of SwiftPM's object.
    png_obj=$WORK/obj/png_codec.o
    if [ ! -f "$png_obj" ] || [ "$ROOT/Sources/CPNGCodec/png_codec.c" -nt "$png_obj" ] \
        || [ "$ROOT/Sources/CPNGCodec/include/png_codec.h" -nt "$png_obj" ]; then
        # shellcheck disable=SC2046
        clang -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address $(pkg-config --cflags libpng) \
            -I "$ROOT/Sources/CPNGCodec/include" -c "$ROOT/Sources/CPNGCodec/png_codec.c" -o "$png_obj" \
            || { echo "run.sh: compiling png_codec.c failed" >&2; exit 2; }
    fi

    # Each harness: its source and FuzzSupport.swift, compiled and linked with libFuzzer's main.
    # shellcheck disable=SC2046
    MODULE_FLAGS=(-I "$B/Modules"
        -Xcc "-fmodule-map-file=$ROOT/Sources/COpenBLAS/module.modulemap"
        -Xcc "-fmodule-map-file=$ROOT/Sources/CLibPNG/module.modulemap"
        -Xcc "-fmodule-map-file=$ROOT/Sources/CZeroMQ/module.modulemap"
        -Xcc "-fmodule-map-file=$ROOT/Sources/CTurboJPEG/module.modulemap"
        -Xcc "-fmodule-map-file=$ROOT/Sources/CWebP/module.modulemap"
        -Xcc "-fmodule-map-file=$ROOT/Sources/CZip/module.modulemap"
        -Xcc "-fmodule-map-file=$B/CPNGCodec.build/module.modulemap" -Xcc -I -Xcc "$ROOT/Sources/CPNGCodec/include"
        -Xcc "-fmodule-map-file=$B/CKernels.build/module.modulemap" -Xcc -I -Xcc "$ROOT/Sources/CKernels/include"
        $(pkg-config --cflags-only-I libzmq openblas libpng libturbojpeg libwebp libzip | sed 's/-I/-Xcc -I/g'))
    read -r -a LIBS <<< "$(pkg-config --libs libzmq openblas libpng libturbojpeg libwebp libzip)"
    # A target's objects: for Swift targets those of its current sources (SwiftPM leaves the
    # objects of deleted or renamed files behind), for C targets all.
    objects_of() {
        if [ -f "$B/$1.build/output-file-map.json" ]; then
            sed -n 's/^ *"object" *: *"\(.*\.swift\.o\)".*/\1/p' "$B/$1.build/output-file-map.json"
        else
            find "$B/$1.build" -name '*.o' | sort
        fi
    }
    link_one() {
        local h=$1 bin=$WORK/bin/$1 objs=() t
        for t in $(closure "$(top_target "$h")"); do
            while IFS= read -r o; do objs+=("$o"); done < <(objects_of "$t")
            # Graphics calls the PNG codec: the instrumented object, not SwiftPM's.
            if [ "$t" = Graphics ]; then objs+=("$png_obj"); fi
        done
        if [ -f "$bin" ] && [ -z "$(find "${objs[@]}" "$FUZZ/harnesses/$h.swift" "$FUZZ/harnesses/FuzzSupport.swift" "$0" -newer "$bin" 2>/dev/null | head -1)" ]; then
            return 0
        fi
        swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name "fuzz_$h" \
            "$FUZZ/harnesses/$h.swift" "$FUZZ/harnesses/FuzzSupport.swift" "${MODULE_FLAGS[@]}" \
            "${objs[@]}" "${LIBS[@]}" -use-ld=lld -o "$bin.tmp" > "$WORK/logs/$h.link.log" 2>&1 \
            && mv "$bin.tmp" "$bin" && return 0
        grep -v 'warning: ' "$WORK/logs/$h.link.log" | head -n 30 >&2
        echo "run.sh: linking harness $h failed (log: $WORK/logs/$h.link.log)" >&2
        return 1
    }
    echo "== linking ${#HARNESSES[@]} harnesses with libFuzzer"
    pids=() failed=0
    for h in "${HARNESSES[@]}"; do
        link_one "$h" & pids+=($!)
        if [ ${#pids[@]} -ge "$JOBS" ]; then wait "${pids[0]}" || failed=1; pids=("${pids[@]:1}"); fi
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    [ $failed = 0 ] || exit 2
    echo "== built in $(( $(date +%s) - start )) s"
fi

for h in "${HARNESSES[@]}"; do
    [ -x "$WORK/bin/$h" ] || { echo "run.sh: $WORK/bin/$h is not built (run without --no-build)" >&2; exit 2; }
done
[ "$SECS" = 0 ] && exit 0

# LeakSanitizer checks each input that allocated more than it freed, but not at exit: at exit it
# reports the harnesses' long-lived objects, because Swift keeps some references in the spare bits
# of enum payloads (Data's storage, for one), where LeakSanitizer does not see a pointer.
ASAN_DEFAULTS=detect_leaks=1:leak_check_at_exit=0:symbolize=1

# One harness's run: libFuzzer on the working corpus (written), the committed seeds and the
# committed crashes (read only).
fuzz_one() {
    local h=$1 log=$WORK/logs/$1.log art=$WORK/artifacts/$1 dirs=() flags=()
    mkdir -p "$WORK/corpus/$h" "$art" "$WORK/cwd/$h"
    dirs=("$WORK/corpus/$h")
    [ -d "$FUZZ/corpus/$h" ] && dirs+=("$FUZZ/corpus/$h")
    [ -f "$FUZZ/dictionaries/$h.dict" ] && flags+=("-dict=$FUZZ/dictionaries/$h.dict")
    # The Swift runtime's backtracer would take over the crash signals (and hangs after libFuzzer
    # exits), so it is off; libFuzzer and AddressSanitizer print the stack.
    run_harness() {
        ( cd "$WORK/cwd/$h" && SWIFT_BACKTRACE=enable=no GRADTI_ROOT=$ROOT \
            ASAN_OPTIONS=${ASAN_OPTIONS:-$ASAN_DEFAULTS} \
            timeout -k 10 $((SECS + 300)) "$WORK/bin/$h" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" "$@" )
    }
    # Known crashes (Tests/fuzz/crashes/HARNESS) are replayed one by one: one that still crashes
    # fails the run, but does not stop the fuzzing below.
    : > "$WORK/logs/$h.replay"
    if [ -d "$FUZZ/crashes/$h" ]; then
        for f in "$FUZZ/crashes/$h"/*; do
            [ -f "$f" ] || continue
            run_harness "$f" > "$WORK/logs/$h.replay.$(basename "$f").log" 2>&1 || echo "$f" >> "$WORK/logs/$h.replay"
        done
    fi
    run_harness -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$art/" "${flags[@]}" "${EXTRA[@]}" "${dirs[@]}" \
        > "$log" 2>&1
    echo $? > "$WORK/logs/$h.rc"
}

echo "== fuzzing ${#HARNESSES[@]} harnesses for $SECS s each, $JOBS at a time"
for h in "${HARNESSES[@]}"; do
    rm -f "$WORK/logs/$h.rc"
    # The previous run's artifacts are kept as *.old; only this run's count.
    find "$WORK/artifacts/$h" -type f -name '*.old' -delete 2>/dev/null
    find "$WORK/artifacts/$h" -type f ! -name '*.old' -exec mv {} {}.old \; 2>/dev/null
done
pids=()
for h in "${HARNESSES[@]}"; do
    fuzz_one "$h" & pids+=($!)
    if [ ${#pids[@]} -ge "$JOBS" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done

# Scratch files of harness processes that died (a crash skips their atexit clean-up).
for f in /dev/shm/gradti-fuzz-* "${TMPDIR:-/tmp}"/gradti-fuzz-*; do
    [ -f "$f" ] || continue
    pid=${f##*-}; pid=${pid%%.*}
    [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null && rm -f "$f"
done

# The verdicts, from libFuzzer's own statistics.
demangle() { if command -v swift-demangle >/dev/null; then swift-demangle --simplified; else cat; fi; }
status=0 passed_count=0 failed_count=0
printf '\n%-12s %10s %8s %13s %8s %14s  %s\n' harness execs exec/s "cov start→end" ft "corpus (+new)" result
for h in "${HARNESSES[@]}"; do
    log=$WORK/logs/$h.log rc=$(cat "$WORK/logs/$h.rc" 2>/dev/null || echo "?")
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    [ -n "$execs" ] || execs=$(grep -o '^Done [0-9]* runs' "$log" | grep -o '[0-9]*' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    new=$(grep -o 'stat::new_units_added: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    counters=$(grep -o 'Loaded [0-9]* modules *([0-9]* inline 8-bit counters)' "$log" | grep -o '([0-9]*' | tr -d '(' | head -1)
    inited=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" | grep -o '^#[0-9]*' | tr -d '#')
    cov0=$(grep -m1 -E '(INITED|pulse|NEW|REDUCE).*cov: [0-9]+' "$log" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1)
    cov1=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
    corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
    artifacts=$(find "$WORK/artifacts/$h" -type f ! -name '*.old' 2>/dev/null | sort)
    replayed=$(find "$FUZZ/crashes/$h" -type f 2>/dev/null | wc -l) still=$(wc -l < "$WORK/logs/$h.replay" 2>/dev/null || echo 0)
    result=ok
    [ "$replayed" -gt 0 ] && result="ok, $replayed known crash(es) fixed"
    if [ -n "$artifacts" ] || grep -qE '^==[0-9]+==ERROR|^SUMMARY: (libFuzzer|AddressSanitizer|LeakSanitizer)|fuzz property failed' "$log"; then
        result="CRASH"
    elif [ "$rc" != 0 ]; then
        result="FAILED (exit $rc)"
    elif [ -z "$execs" ] || [ "$execs" = 0 ]; then
        result="EXECUTED NOTHING"
    elif [ -z "$inited" ] || [ "$execs" -le "$inited" ]; then
        result="FUZZED NOTHING (only the ${inited:-?} corpus inputs ran)"
    elif [ -z "$counters" ] || [ "$counters" -lt 100 ] || [ -z "$cov1" ]; then
        result="NOT INSTRUMENTED (${counters:-no} coverage counters)"
    fi
    if [ "$still" -gt 0 ]; then
        if [ "$result" = ok ] || [ "${result#ok,}" != "$result" ]; then result="KNOWN CRASH"; else result="$result + KNOWN CRASH"; fi
        result="$result ($still of $replayed in Tests/fuzz/crashes/$h still crash)"
    fi
    printf '%-12s %10s %8s %13s %8s %14s  %s\n' "$h" "${execs:-0}" "${rate:--}" "${cov0:-?}→${cov1:-?}" "${ft:--}" \
        "${corp:--} (+${new:-0})" "$result"
    if [ "${result#ok}" = "$result" ]; then failed_count=$((failed_count + 1)); else passed_count=$((passed_count + 1)); fi
    if [ "${result#ok}" = "$result" ]; then
        status=1
        {
            echo "---- $h: $result (log: $log)"
            while IFS= read -r f; do
                echo "still crashes: $f (log: $WORK/logs/$h.replay.$(basename "$f").log)"
                rlog=$WORK/logs/$h.replay.$(basename "$f").log
                grep -E 'fuzz property failed|^==[0-9]+==ERROR|Fatal error|SUMMARY:' "$rlog" | head -n 3
                grep -E '^ +#[0-9]+ .*/(Sources|harnesses)/' "$rlog" | head -n 3 | demangle
            done < "$WORK/logs/$h.replay"
            grep -E 'fuzz property failed|^==[0-9]+==ERROR|Fatal error|[Pp]recondition failed|SUMMARY:|ALARM|out-of-memory|Test unit written' "$log" | head -n 8
            grep -E '^ +#[0-9]+ ' "$log" | grep -vE 'libclang_rt|compiler-rt|libc\.so|_start|fuzzer::' | head -n 14 | demangle
            for a in $artifacts; do echo "input: $a"; echo "reproduce: $WORK/bin/$h $a"; done
        } >&2
    fi
done

if [ $MERGE = 1 ] && [ $status = 0 ]; then
    echo "== merging new coverage into Tests/fuzz/corpus"
    for h in "${HARNESSES[@]}"; do
        before=$(ls "$FUZZ/corpus/$h" 2>/dev/null | wc -l)
        mkdir -p "$FUZZ/corpus/$h"
        ( cd "$WORK/cwd/$h" && SWIFT_BACKTRACE=enable=no GRADTI_ROOT=$ROOT ASAN_OPTIONS=${ASAN_OPTIONS:-$ASAN_DEFAULTS} "$WORK/bin/$h" -merge=1 \
            -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" "$FUZZ/corpus/$h" "$WORK/corpus/$h" ) > "$WORK/logs/$h.merge.log" 2>&1 \
            || { echo "run.sh: merging $h failed (log: $WORK/logs/$h.merge.log)" >&2; status=1; }
        echo "$h: $before → $(ls "$FUZZ/corpus/$h" | wc -l) seeds, $(du -sk "$FUZZ/corpus/$h" | cut -f1) KiB"
    done
elif [ $MERGE = 1 ]; then
    echo "run.sh: not merging: a harness failed" >&2
fi
# The closing line CI reads: harnesses that ran clean, and those that did not.
echo "fuzz: $passed_count passed, $failed_count failed"
exit $status
