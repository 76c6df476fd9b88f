"""Fault runs against the installed gradti kernel, for RELIABILITY.md's figures.

    .venv/bin/python Tests/fault/faults.py interrupts [--rounds N]   # random interrupts of every long command
    .venv/bin/python Tests/fault/faults.py kills [--rounds N]        # kill -9 at random moments of `save session`
    .venv/bin/python Tests/fault/faults.py memory [--cells N]        # RSS over N mixed cells

Each prints a table and exits non-zero when a promise is broken: an interrupt not answered within
the deadline, a session left inconsistent, a saved file that no longer loads, a temporary file left
behind after the next save, or RSS growing past the bound. Run with JUPYTER_PATH pointing at the
kernelspec (.venv/share/jupyter after `bash .ci/setup`). The embedded model is used throughout.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "data" / "emoji-benchmark" / "teapot"
DEADLINE = 5.0  # seconds from interrupt_request to the cell's reply


def start():
    km, kc = start_new_kernel(kernel_name="gradti", startup_timeout=60, cwd=tempfile.mkdtemp(prefix="gradti-fault-"))
    return km, kc


def run(kc, code: str, timeout: float = 600) -> dict:
    """Runs a cell to its end; returns the reply content and the text it printed."""
    msg_id = kc.execute(code)
    return wait(kc, msg_id, timeout)


def wait(kc, msg_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def drain_iopub(kc) -> str:
    text = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except Empty:
            return "".join(text)
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])


def expect_ok(kc, code: str, timeout: float = 600) -> str:
    drain_iopub(kc)
    content = run(kc, code, timeout)
    if content["status"] != "ok":
        raise SystemExit(f"`{code}` failed: {content.get('ename')}: {content.get('evalue')}")
    time.sleep(0.05)
    return drain_iopub(kc)


def prepare(kc) -> None:
    expect_ok(kc, "load")
    expect_ok(kc, f'concept teapot from "{IMAGES}" init=pot')
    expect_ok(kc, "step 2")
    expect_ok(kc, "profile t=0:1000:250 samples=1")


# Long commands and the largest delay before the interrupt (about their running time on a 2-core machine).
LONG_COMMANDS = [
    ("step 200", 3.0),
    ("step 50 every=1", 3.0),
    ("profile t=0:1000:10 samples=4", 3.0),
    ("generate \"a photo of <teapot>\" n=8 steps=50", 3.0),
    ("evaluate images=16 steps=50", 3.0),
    ("compare uniform adaptive steps=100 every=10", 3.0),
    (f'study teapot steps=20 every=5 strategies=uniform,t400 benchmark="{ROOT / "data" / "emoji-benchmark"}" results=outputs/fault-study', 3.0),
]


def steps_of(kc) -> int:
    text = expect_ok(kc, "info")
    match = re.search(r"steps: (\d+)", text)
    if not match:
        raise SystemExit(f"`info` printed no step count:\n{text}")
    return int(match.group(1))


def interrupts(rounds: int, seed: int, only: str | None = None) -> int:
    rng = random.Random(seed)
    km, kc = start()
    failures = 0
    rows = []
    try:
        prepare(kc)
        for code, longest in LONG_COMMANDS:
            if only and not code.startswith(only):
                continue
            latencies, interrupted, finished = [], 0, 0
            for _ in range(rounds):
                before = steps_of(kc)
                drain_iopub(kc)
                msg_id = kc.execute(code)
                time.sleep(rng.uniform(0, longest))
                sent = time.monotonic()
                km.interrupt_kernel()
                try:
                    content = wait(kc, msg_id, timeout=120)
                except Empty:
                    print(f"FAIL: `{code}` did not answer within 120 s of an interrupt")
                    return 1
                latency = time.monotonic() - sent
                if content["status"] == "ok":
                    finished += 1
                elif content.get("ename") == "Interrupted":
                    interrupted += 1
                    latencies.append(latency)
                    if latency > DEADLINE:
                        failures += 1
                        print(f"FAIL: `{code}` answered {latency:.2f} s after the interrupt")
                else:
                    failures += 1
                    print(f"FAIL: `{code}` ended with {content.get('ename')}: {content.get('evalue')}")
                # The session is consistent: steps only grow, and the next step runs.
                after = steps_of(kc)
                if after < before:
                    failures += 1
                    print(f"FAIL: `{code}` lost steps ({before} -> {after})")
                expect_ok(kc, "step 1")
            worst = max(latencies) if latencies else float("nan")
            median = statistics.median(latencies) if latencies else float("nan")
            rows.append((code, rounds, interrupted, finished, median, worst))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(f"\n| command | rounds | interrupted | finished first | median reply (s) | slowest reply (s) |")
    print("|---|---|---|---|---|---|")
    for code, n, i, f, median, worst in rows:
        print(f"| `{code}` | {n} | {i} | {f} | {median:.3f} | {worst:.3f} |")
    print(f"\ninterrupts: {failures} failure(s)")
    return 1 if failures else 0


def kills(rounds: int, seed: int) -> int:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="gradti-kill-"))
    target = folder / "session.safetensors"
    failures = killed_mid_save = 0
    km, kc = start()
    try:
        prepare(kc)
        # Kill moments spread over the time a save takes, measured here.
        started = time.monotonic()
        for _ in range(5):
            run(kc, f'save session "{target}"')
        save_seconds = (time.monotonic() - started) / 5
        temporaries_seen = 0
        for index in range(rounds):
            before = target.read_bytes()
            expect_ok(kc, "step 1")
            kc.execute(f'save session "{target}"')
            time.sleep(rng.uniform(0, 1.2 * save_seconds))
            os.kill(km.provisioner.pid, signal.SIGKILL)
            time.sleep(0.2)
            # Not reaped on purpose: a killed kernel stays a zombie until its parent waits for it.
            leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".gradti-tmp")]
            if target.read_bytes() == before:
                killed_mid_save += 1
            kc.stop_channels()
            km.cleanup_resources()
            km, kc = start()
            # The file under the real name is whole: the old one or the new one, and it loads.
            expect_ok(kc, "load")
            content = run(kc, f'load session "{target}"')
            if content["status"] != "ok":
                failures += 1
                print(f"FAIL round {index}: the saved session does not load: {content.get('evalue')}")
                prepare(kc)
            # The next save removes the temporaries of the killed process.
            expect_ok(kc, f'save session "{target}"')
            left = [p.name for p in folder.iterdir() if p.name.endswith(".gradti-tmp")]
            if left:
                failures += 1
                print(f"FAIL round {index}: temporaries left after the next save: {left}")
            temporaries_seen += bool(leftovers)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(f"\nkills: {rounds} kill -9 within the {save_seconds * 1000:.0f} ms of a `save session` cell: {killed_mid_save} before "
          f"the new file was in place, {temporaries_seen} leaving a temporary file (removed by the next save); "
          f"{failures} failure(s) (a file that did not load, or a temporary left after the next save)")
    return 1 if failures else 0


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def memory(cells: int) -> int:
    km, kc = start()
    pid = km.provisioner.pid
    mix = ["info", "strategy uniform", "step 1", "optimizer lr=0.005", "strategy adaptive", "print hello",
           "generate \"a photo of <teapot>\" n=1 steps=5", "plot loss", "evaluate", "strategy"]
    samples = []
    try:
        prepare(kc)
        for index in range(cells):
            expect_ok(kc, mix[index % len(mix)])
            if index % (cells // 10) == 0 or index == cells - 1:
                samples.append((index + 1, rss(pid)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print("\n| cells | RSS (MiB) |\n|---|---|")
    for n, value in samples:
        print(f"| {n} | {value / 2**20:.1f} |")
    grown = samples[-1][1] - samples[1][1]
    print(f"\nmemory: RSS grew by {grown / 2**20:.1f} MiB from cell {samples[1][0]} to cell {samples[-1][0]}")
    return 1 if grown > 32 * 2**20 else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["interrupts", "kills", "memory"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="interrupts: only the commands that start with this")
    args = parser.parse_args()
    if args.what == "interrupts":
        return interrupts(args.rounds, args.seed, args.only)
    if args.what == "kills":
        return kills(args.rounds, args.seed)
    return memory(args.cells)


if __name__ == "__main__":
    sys.exit(main())
