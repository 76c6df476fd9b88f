"""Black-box tests of the gradti kernel over the Jupyter messaging protocol, using jupyter_client."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import signal
import time
from collections import defaultdict
from pathlib import Path
from queue import Empty
from typing import Any, Callable

import pytest
import zmq
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import DELIM

KERNEL_NAME = "gradti"
TIMEOUT = 15
LOGO = Path(__file__).resolve().parents[2] / "kernelspec" / "logo-32x32.png"
Msg = dict[str, Any]


# --- fixtures ---------------------------------------------------------------------------------


def _start():
    return start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=30)


def _stop(km, kc) -> None:
    kc.stop_channels()
    if km.has_kernel:
        km.shutdown_kernel(now=not km.is_alive())


@pytest.fixture
def kernel():
    """A fresh kernel, for tests that depend on its state (execution count, process, signals)."""
    km, kc = _start()
    try:
        yield km, kc
    finally:
        _stop(km, kc)


@pytest.fixture(scope="module")
def shared_kernel():
    """One kernel for the tests that only look at what a command outputs."""
    km, kc = _start()
    try:
        yield km, kc
    finally:
        _stop(km, kc)


# --- helpers ----------------------------------------------------------------------------------


def parent_id(msg: Msg) -> str | None:
    return msg["parent_header"].get("msg_id")


def replies_for(kc, msg_ids: list[str], channel: str = "shell", timeout: float = TIMEOUT) -> dict[str, Msg]:
    """The replies to `msg_ids`, skipping unrelated ones (such as wait_for_ready's extra kernel_info)."""
    get = kc.get_shell_msg if channel == "shell" else kc.get_control_msg
    found: dict[str, Msg] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(msg_ids):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            missing = [m for m in msg_ids if m not in found]
            raise AssertionError(f"no {channel} reply within {timeout}s to {missing}")
        try:
            msg = get(timeout=remaining)
        except Empty:
            continue
        if parent_id(msg) in msg_ids:
            found[parent_id(msg)] = msg
    return found


def reply_for(kc, msg_id: str, channel: str = "shell", timeout: float = TIMEOUT) -> Msg:
    return replies_for(kc, [msg_id], channel, timeout)[msg_id]


def receive_for(get: Callable[..., Msg], seconds: float) -> list[Msg]:
    """Everything that arrives on a channel during `seconds`."""
    received = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            received.append(get(timeout=remaining))
        except Empty:
            break
    return received


class Iopub:
    """Reads iopub and files every message under the request it answers."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.by_parent: dict[str, list[Msg]] = defaultdict(list)

    def wait_for(self, msg_id: str, predicate: Callable[[Msg], bool], timeout: float = TIMEOUT) -> Msg:
        for msg in self.by_parent[msg_id]:
            if predicate(msg):
                return msg
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [m["msg_type"] for m in self.by_parent[msg_id]]
                raise AssertionError(f"iopub: expected message for {msg_id} not seen in {timeout}s; saw {seen}")
            try:
                msg = self.kc.get_iopub_msg(timeout=remaining)
            except Empty:
                continue
            self.by_parent[parent_id(msg)].append(msg)
            if parent_id(msg) == msg_id and predicate(msg):
                return msg

    def until_idle(self, msg_id: str, timeout: float = TIMEOUT) -> list[Msg]:
        self.wait_for(msg_id, is_status("idle"), timeout)
        return self.by_parent[msg_id]


def is_type(msg_type: str) -> Callable[[Msg], bool]:
    return lambda msg: msg["msg_type"] == msg_type


def is_status(state: str) -> Callable[[Msg], bool]:
    return lambda msg: msg["msg_type"] == "status" and msg["content"]["execution_state"] == state


def outputs(msgs: list[Msg]) -> list[Msg]:
    """The messages of an execution that a notebook would show (not status or execute_input)."""
    return [m for m in msgs if m["msg_type"] not in ("status", "execute_input")]


def stream_text(msgs: list[Msg], name: str = "stdout") -> str:
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == name)


def execute(kc, code: str, timeout: float = TIMEOUT, **options: Any) -> tuple[Msg, list[Msg]]:
    """Runs one cell and returns its execute_reply and all its iopub messages, busy to idle."""
    iopub = Iopub(kc)
    msg_id = kc.execute(code, **options)
    reply = reply_for(kc, msg_id, timeout=timeout)
    return reply, iopub.until_idle(msg_id, timeout)


def execute_content(code: str) -> dict[str, Any]:
    return {"code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True}


def kernel_pid(km) -> int:
    process = getattr(km.provisioner, "process", None)
    return process.pid if process is not None else km.provisioner.pid


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def heartbeat_answers(km, timeout: float = 5) -> bool:
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(f"{km.transport}://{km.ip}:{km.hb_port}")
        sock.send(b"ping")
        return bool(sock.poll(int(timeout * 1000))) and sock.recv() == b"ping"
    finally:
        sock.close()


def assert_responsive(km, kc, after: str = "") -> None:
    context = f" after {after}" if after else ""
    assert heartbeat_answers(km), f"the heartbeat did not echo{context}"
    assert km.is_alive(), f"the kernel process died{context}"
    reply = reply_for(kc, kc.kernel_info())
    assert reply["content"]["status"] == "ok"


def flush_shell(kc) -> None:
    receive_for(kc.get_shell_msg, 0.2)


def error_text(content: Msg) -> str:
    return "\n".join([content.get("evalue", "")] + list(content.get("traceback", [])))


# --- kernel_info --------------------------------------------------------------------------------


def test_kernel_info_describes_gradti(shared_kernel):
    km, kc = shared_kernel
    reply = reply_for(kc, kc.kernel_info())
    content = reply["content"]
    assert content["status"] == "ok"
    assert content["protocol_version"] == "5.3"
    assert content["implementation"] == "gradti"
    info = content["language_info"]
    assert info["name"] == "gradti"
    assert info["file_extension"] == ".gradti"
    assert info["mimetype"] == "text/x-gradti"
    assert info["pygments_lexer"] == "bash"
    assert info["codemirror_mode"] == "shell"


def test_kernelspec_asks_for_message_interrupts(shared_kernel):
    km, _ = shared_kernel
    assert km.kernel_spec.language == "gradti"
    assert km.kernel_spec.interrupt_mode == "message"


# --- commands -----------------------------------------------------------------------------------


def test_print_writes_words_joined_by_spaces(shared_kernel):
    _, kc = shared_kernel
    reply, msgs = execute(kc, 'print one "two words" three\nprint "a\\tb\\\\c\\"d"')
    assert reply["content"]["status"] == "ok"
    assert stream_text(msgs) == 'one two words three\na\tb\\c"d\n'


def test_print_to_stderr(shared_kernel):
    _, kc = shared_kernel
    reply, msgs = execute(kc, 'print "oops" stream=stderr')
    assert reply["content"]["status"] == "ok"
    assert stream_text(msgs, "stderr") == "oops\n"
    assert stream_text(msgs, "stdout") == ""


def test_version_is_an_execute_result(shared_kernel):
    _, kc = shared_kernel
    reply, msgs = execute(kc, "version")
    results = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert len(results) == 1
    assert results[0]["content"]["data"]["text/plain"] == "gradti 0.1.0"
    assert results[0]["content"]["execution_count"] == reply["content"]["execution_count"]


def test_clear_sends_clear_output_without_wait(shared_kernel):
    _, kc = shared_kernel
    reply, msgs = execute(kc, "clear")
    assert reply["content"]["status"] == "ok"
    clears = [m for m in msgs if m["msg_type"] == "clear_output"]
    assert [m["content"]["wait"] for m in clears] == [False]


@pytest.mark.parametrize("code", ["help", "help print"])
def test_help_is_display_data_with_plain_and_markdown(shared_kernel, code):
    _, kc = shared_kernel
    reply, msgs = execute(kc, code)
    assert reply["content"]["status"] == "ok"
    displays = [m for m in msgs if m["msg_type"] == "display_data"]
    assert displays, f"no display_data for {code!r}"
    data = displays[0]["content"]["data"]
    assert "text/plain" in data and "text/markdown" in data
    assert "print" in data["text/plain"]


def test_question_mark_pages_the_help(shared_kernel):
    _, kc = shared_kernel
    reply, _ = execute(kc, "print?")
    content = reply["content"]
    assert content["status"] == "ok"
    [page] = content["payload"]
    assert page["source"] == "page"
    assert page["start"] == 0
    assert "print" in page["data"]["text/plain"]


def test_unknown_command_is_one_error(shared_kernel):
    _, kc = shared_kernel
    reply, msgs = execute(kc, "nosuch")
    content = reply["content"]
    assert content["status"] == "error"
    assert content["ename"] == "UnknownCommand"
    assert isinstance(content["evalue"], str)
    assert all(isinstance(line, str) for line in content["traceback"])
    assert isinstance(content["execution_count"], int)
    errors = [m for m in msgs if m["msg_type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["content"]["ename"] == "UnknownCommand"
    assert outputs(msgs) == errors


def test_unknown_command_suggests_a_near_name(shared_kernel):
    _, kc = shared_kernel
    reply, _ = execute(kc, "prnt hello")
    assert reply["content"]["ename"] == "UnknownCommand"
    assert "print" in error_text(reply["content"])


def test_show_png_is_display_data(shared_kernel):
    _, kc = shared_kernel
    reply, msgs = execute(kc, f'show "{LOGO}"')
    assert reply["content"]["status"] == "ok"
    [display] = [m for m in msgs if m["msg_type"] == "display_data"]
    data = display["content"]["data"]
    assert data["image/png"].replace("\n", "") == base64.b64encode(LOGO.read_bytes()).decode()
    assert LOGO.name in data["text/plain"]


def test_show_ten_files_shows_progress(shared_kernel, tmp_path):
    _, kc = shared_kernel
    paths = [tmp_path / f"image-{i}.png" for i in range(10)]
    for path in paths:
        shutil.copyfile(LOGO, path)
    reply, msgs = execute(kc, "show " + " ".join(f'"{p}"' for p in paths))
    assert reply["content"]["status"] == "ok"
    progress = [m for m in msgs if m["msg_type"] == "display_data" and m["content"].get("transient", {}).get("display_id")]
    assert len(progress) == 1
    assert stream_text(msgs).endswith("\n")
    # Several files are one grid, each with its name (in the image, and in the text fallback).
    [grid] = [m for m in msgs if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]]
    assert all(path.name in grid["content"]["data"]["text/plain"] for path in paths)
    width = grid["content"]["metadata"]["image/png"]["width"]
    assert 4 * 192 < width < 4 * 192 + 100, width  # 4 columns of 192-pixel cells
    reply, msgs = execute(kc, "show " + " ".join(f'"{p}"' for p in paths[:3]) + " grid=false")
    images = [m for m in msgs if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]]
    assert len(images) == 3
    for path, image in zip(paths, images):
        assert path.name in image["content"]["data"]["text/plain"]


@pytest.mark.parametrize(
    "name, body",
    [("missing.png", None), ("fake.png", b"not a png"), ("notes.txt", b"text")],
    ids=["missing", "not-png", "not-png-extension"],
)
def test_show_bad_file_is_an_error_naming_it(shared_kernel, tmp_path, name, body):
    _, kc = shared_kernel
    path = tmp_path / name
    if body is not None:
        path.write_bytes(body)
    reply, msgs = execute(kc, f'show "{path}"')
    assert reply["content"]["status"] == "error"
    assert name in error_text(reply["content"])
    assert [m["msg_type"] for m in outputs(msgs)] == ["error"]


# --- interrupt, abort, progress ---------------------------------------------------------------------


def test_interrupt_stops_a_long_sleep(kernel):
    km, kc = kernel
    before, _ = execute(kc, 'print "before"')
    count = before["content"]["execution_count"]
    iopub = Iopub(kc)
    msg_id = kc.execute("sleep 30")
    # The progress display shows the command is really sleeping, not just queued.
    iopub.wait_for(msg_id, is_type("display_data"))
    km.interrupt_kernel()

    reply = reply_for(kc, msg_id, timeout=5)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    assert reply["content"]["execution_count"] == count + 1
    errors = [m for m in iopub.until_idle(msg_id) if m["msg_type"] == "error"]
    assert [e["content"]["ename"] for e in errors] == ["Interrupted"]

    after, msgs = execute(kc, 'print "after"')
    assert after["content"]["status"] == "ok"
    assert after["content"]["execution_count"] == count + 2
    assert stream_text(msgs) == "after\n"


def test_failed_cell_aborts_queued_cells(kernel):
    _, kc = kernel
    iopub = Iopub(kc)
    failing = kc.execute("nosuch")
    queued = [kc.execute('print "second"'), kc.execute('print "third"')]
    replies = replies_for(kc, [failing, *queued])

    failed = replies[failing]["content"]
    assert failed["status"] == "error"
    assert failed["ename"] == "UnknownCommand"
    for msg_id in queued:
        content = replies[msg_id]["content"]
        assert content["status"] == "error"
        assert content["ename"] == "ExecutionAborted"
        assert isinstance(content["execution_count"], int)
        states = [(m["msg_type"], m["content"].get("execution_state")) for m in iopub.until_idle(msg_id)]
        assert states == [("status", "busy"), ("status", "idle")]

    # Only cells already queued are aborted, and aborted cells use up no execution count.
    after, msgs = execute(kc, 'print "after"')
    assert after["content"]["status"] == "ok"
    assert after["content"]["execution_count"] == failed["execution_count"] + 1
    assert stream_text(msgs) == "after\n"


def test_failed_cell_without_stop_on_error_runs_queued_cells(kernel):
    _, kc = kernel
    iopub = Iopub(kc)
    failing = kc.execute("nosuch", stop_on_error=False)
    queued = kc.execute('print "second"')
    replies = replies_for(kc, [failing, queued])
    assert replies[failing]["content"]["ename"] == "UnknownCommand"
    assert replies[queued]["content"]["status"] == "ok"
    assert stream_text(iopub.until_idle(queued)) == "second\n"


def test_sleep_shows_a_throttled_progress_display(kernel):
    _, kc = kernel
    seconds = 1.2
    reply, msgs = execute(kc, f"sleep {seconds}")
    assert reply["content"]["status"] == "ok"
    shown = outputs(msgs)

    [display] = [m for m in shown if m["msg_type"] == "display_data"]
    display_id = display["content"]["transient"]["display_id"]
    assert display_id
    assert {"text/html", "text/plain"} <= set(display["content"]["data"])

    updates = [m for m in shown if m["msg_type"] == "update_display_data"]
    assert updates, "no update_display_data"
    assert {u["content"]["transient"]["display_id"] for u in updates} == {display_id}
    # At most 4 updates a second, plus one for the final state.
    assert len(updates) <= int(4 * seconds) + 2, f"{len(updates)} updates in {seconds}s"

    summary = shown[-1]
    assert summary["msg_type"] == "stream" and summary["content"]["name"] == "stdout"
    assert summary["content"]["text"].endswith("\n") and summary["content"]["text"].count("\n") == 1


def test_long_progress_also_moves_as_one_stdout_line(kernel):
    # jupyter console ignores display updates: past 5 s, progress is also a stdout line redrawn with \r,
    # sparse (5 points or a minute apart), and the summary is written over it.
    _, kc = kernel
    reply, msgs = execute(kc, "sleep 6.5", timeout=30)
    assert reply["content"]["status"] == "ok"
    streams = [m["content"]["text"] for m in outputs(msgs) if m["msg_type"] == "stream"]
    assert len(streams) == 2, streams
    moving, summary = streams
    assert moving.startswith("\rsleep 6.5s [") and "ETA" in moving and "\n" not in moving
    assert summary.startswith("\rslept 6.") and summary.endswith("\n") and summary.count("\n") == 1


def test_kernel_info_on_control_is_answered_during_sleep(kernel):
    km, kc = kernel
    iopub = Iopub(kc)
    sleeping = kc.execute("sleep 5")
    iopub.wait_for(sleeping, is_type("execute_input"))

    request = kc.session.msg("kernel_info_request")
    kc.control_channel.send(request)
    reply = reply_for(kc, request["header"]["msg_id"], channel="control", timeout=1)
    assert reply["msg_type"] == "kernel_info_reply"
    assert reply["content"]["status"] == "ok"

    km.interrupt_kernel()
    reply_for(kc, sleeping, timeout=10)


# --- signals and shutdown -----------------------------------------------------------------------


def test_sigint_to_an_idle_kernel_is_harmless(kernel):
    km, kc = kernel
    os.kill(kernel_pid(km), signal.SIGINT)
    time.sleep(0.5)
    assert_responsive(km, kc)
    reply, msgs = execute(kc, 'print "still here"')
    assert reply["content"]["status"] == "ok"
    assert stream_text(msgs) == "still here\n"


def test_shutdown_request_on_control_ends_the_process(kernel):
    km, kc = kernel
    request = kc.session.msg("shutdown_request", content={"restart": False})
    kc.control_channel.send(request)
    reply = reply_for(kc, request["header"]["msg_id"], channel="control", timeout=5)
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is False
    assert km.provisioner.process.wait(timeout=10) == 0


# --- wire robustness ----------------------------------------------------------------------------


def forged_signature(frames: list[bytes], at: int) -> None:
    frames[at + 1] = hmac.new(b"not the key", b"".join(frames[at + 2 : at + 6]), hashlib.sha256).hexdigest().encode()


def flipped_signature(frames: list[bytes], at: int) -> None:
    signature = bytearray(frames[at + 1])
    signature[-1] = ord("0") if signature[-1] != ord("0") else ord("1")
    frames[at + 1] = bytes(signature)


def empty_signature(frames: list[bytes], at: int) -> None:
    frames[at + 1] = b""


def content_changed_after_signing(frames: list[bytes], at: int) -> None:
    frames[at + 5] = frames[at + 5].replace(b"forged", b"FORGED")


TAMPERINGS = [forged_signature, flipped_signature, empty_signature, content_changed_after_signing]


def send_tampered(kc, socket, msg_type: str, content: dict[str, Any], tamper) -> str:
    msg = kc.session.msg(msg_type, content=content)
    frames = kc.session.serialize(msg)
    tamper(frames, frames.index(DELIM))
    socket.send_multipart(frames)
    return msg["header"]["msg_id"]


def test_messages_with_bad_signatures_are_ignored(kernel):
    km, kc = kernel
    flush_shell(kc)
    forged = {
        send_tampered(kc, kc.shell_channel.socket, "execute_request", execute_content('print "forged"'), tamper)
        for tamper in TAMPERINGS
    }

    shell = receive_for(kc.get_shell_msg, 1.0)
    iopub = receive_for(kc.get_iopub_msg, 0.5)
    assert [m["msg_type"] for m in shell + iopub if parent_id(m) in forged] == []

    reply, msgs = execute(kc, 'print "genuine"')
    assert reply["content"]["status"] == "ok"
    # Count 1: none of the forged cells ran, not even silently.
    assert reply["content"]["execution_count"] == 1
    assert stream_text(msgs) == "genuine\n"


def test_shutdown_with_bad_signature_on_control_is_ignored(kernel):
    km, kc = kernel
    for tamper in (forged_signature, empty_signature):
        send_tampered(kc, kc.control_channel.socket, "shutdown_request", {"restart": False}, tamper)
    time.sleep(1.0)
    assert_responsive(km, kc)


def malformed_messages(session) -> dict[str, list[bytes]]:
    def signed(parts: list[bytes]) -> list[bytes]:
        return [DELIM, session.sign(parts), *parts]

    good = session.serialize(session.msg("kernel_info_request"))
    at = good.index(DELIM)
    header = session.pack(session.msg_header("kernel_info_request"))
    return {
        "garbage": [b"\x00\xff\xfe garbage \x80"],
        "empty frame": [b""],
        "no delimiter": good[:at] + good[at + 1 :],
        "delimiter only": [DELIM],
        "too few frames": good[: at + 3],
        "header not JSON": signed([b"{not json", b"{}", b"{}", b"{}"]),
        "header not UTF-8": signed([b"\xff\xfe\xfd", b"{}", b"{}", b"{}"]),
        "header without msg_type": signed([b'{"msg_id": "x"}', b"{}", b"{}", b"{}"]),
        "header is a list": signed([b"[1, 2]", b"{}", b"{}", b"{}"]),
        "parent_header not JSON": signed([header, b"{{", b"{}", b"{}"]),
        "metadata not JSON": signed([header, b"{}", b"\x00", b"{}"]),
    }


def pathological_messages(session) -> dict[str, list[bytes]]:
    """Signed, syntactically valid JSON that stresses a parser."""
    def signed(content: bytes) -> list[bytes]:
        parts = [session.pack(session.msg_header("kernel_info_request")), b"{}", b"{}", content]
        return [DELIM, session.sign(parts), *parts]

    return {
        "huge numbers": signed(b'{"n": 1e999999, "m": -' + b"9" * 5000 + b', "f": 1e-999999}'),
        "deep nesting": signed(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "lone surrogate escape": signed(b'{"s": "\\ud800"}'),
    }


def send_each_and_check(km, kc, channel: str, messages: dict[str, list[bytes]]) -> None:
    socket = getattr(kc, f"{channel}_channel").socket
    for name, frames in messages.items():
        socket.send_multipart(frames)
        assert_responsive(km, kc, after=f"{name!r} frames on {channel}")
    reply, msgs = execute(kc, 'print "ok"')
    assert stream_text(msgs) == "ok\n"


@pytest.mark.parametrize("channel", ["shell", "control"])
def test_malformed_frames_do_not_kill_the_kernel(kernel, channel):
    km, kc = kernel
    send_each_and_check(km, kc, channel, malformed_messages(kc.session))


@pytest.mark.parametrize("channel", ["shell", "control"])
def test_pathological_json_does_not_kill_the_kernel(kernel, channel):
    km, kc = kernel
    send_each_and_check(km, kc, channel, pathological_messages(kc.session))


@pytest.mark.parametrize("content", [b'{"code": "print \\"x\\"", ', b"[1, 2]", b"\xff\xfe"], ids=["truncated", "list", "not-utf8"])
def test_signed_message_with_bad_content_gets_an_error_reply(kernel, content):
    km, kc = kernel
    iopub = Iopub(kc)
    header = kc.session.msg_header("execute_request")
    parts = [kc.session.pack(header), b"{}", b"{}", content]
    kc.shell_channel.socket.send_multipart([DELIM, kc.session.sign(parts), *parts])

    reply = reply_for(kc, header["msg_id"])
    assert reply["msg_type"] == "execute_reply"
    assert reply["content"]["status"] == "error"
    assert [m["msg_type"] for m in outputs(iopub.until_idle(header["msg_id"]))] == []
    assert_responsive(km, kc)


@pytest.mark.parametrize("channel", ["shell", "control"])
def test_unknown_request_gets_an_error_reply(kernel, channel):
    km, kc = kernel
    request = kc.session.msg("foo_request", content={})
    getattr(kc, f"{channel}_channel").send(request)
    reply = reply_for(kc, request["header"]["msg_id"], channel=channel)
    assert reply["msg_type"] == "foo_reply"
    assert reply["content"]["status"] == "error"
    assert_responsive(km, kc)


# --- resources ----------------------------------------------------------------------------------


def run_batch(kc, code: str, n: int) -> list[Msg]:
    """Sends n executes without waiting, then checks every reply and output."""
    iopub = Iopub(kc)
    msg_ids = [kc.execute(code) for _ in range(n)]
    replies = replies_for(kc, msg_ids, timeout=60)
    assert {r["content"]["status"] for r in replies.values()} == {"ok"}
    for msg_id in msg_ids:
        assert stream_text(iopub.until_idle(msg_id)) == "x\n"
    return [replies[m] for m in msg_ids]


def test_memory_is_stable_over_a_thousand_executes(kernel):
    km, kc = kernel
    pid = kernel_pid(km)
    run_batch(kc, 'print "x"', 100)
    baseline = rss_bytes(pid)
    for _ in range(9):
        last = run_batch(kc, 'print "x"', 100)
    grown = rss_bytes(pid) - baseline
    assert last[-1]["content"]["execution_count"] == 1000
    assert grown <= 10 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB from execute 100 to 1000"


def test_an_oversized_frame_is_refused_by_libzmq(kernel):
    """A frame above the 64 MiB wire limit never reaches the kernel (ZMQ_MAXMSGSIZE): no reply."""
    km, kc = kernel
    msg_id = kc.execute('print "' + "x" * (65 * 1024 * 1024) + '"')
    assert msg_id not in [m["parent_header"].get("msg_id") for m in receive_for(kc.get_shell_msg, 3)]
    assert_responsive(km, kc, after="an oversized frame")


def test_an_oversized_message_of_smaller_frames_gets_an_error_reply(kernel):
    km, kc = kernel
    msg = kc.session.msg("execute_request", {"code": 'print "x"', "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    kc.session.send(kc.shell_channel.socket, msg, buffers=[b"x" * (40 << 20), b"y" * (40 << 20)])
    reply = reply_for(kc, msg["header"]["msg_id"], timeout=60)
    assert reply["content"]["status"] == "error"
    assert "limit" in reply["content"]["evalue"]
    assert_responsive(km, kc, after="an oversized message")


def test_the_kernel_exits_when_its_parent_dies(tmp_path):
    import subprocess

    from jupyter_client.connect import write_connection_file
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv
    connection_file, _ = write_connection_file(str(tmp_path / "connection.json"))
    parent = subprocess.Popen(["sleep", "60"])
    kernel = subprocess.Popen([arg.replace("{connection_file}", connection_file) for arg in argv],
                              env={**os.environ, "JPY_PARENT_PID": str(parent.pid)}, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        assert kernel.poll() is None, "the kernel exited while its parent was alive"
        parent.kill()
        parent.wait()
        assert kernel.wait(timeout=10) == 0
    finally:
        for process in (kernel, parent):
            if process.poll() is None:
                process.kill()
