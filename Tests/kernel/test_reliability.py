"""The kernel against a hostile peer and a careless start: each case failed before issue 25."""
from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel

KERNEL_NAME = "gradti"


def kernel_argv(connection_file: str) -> list[str]:
    argv = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv
    return [arg.replace("{connection_file}", connection_file) for arg in argv]


def start(connection: dict, tmp_path) -> subprocess.Popen:
    path = tmp_path / "connection.json"
    path.write_text(json.dumps(connection))
    return subprocess.Popen(kernel_argv(str(path)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def valid_connection(tmp_path) -> dict:
    path, _ = write_connection_file(str(tmp_path / "base.json"))
    with open(path) as f:
        return json.load(f)


def ends_with_error(process: subprocess.Popen, timeout: float = 10) -> str:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the kernel neither started nor exited")
    assert process.returncode != 0
    return err


def test_ports_in_use_end_the_kernel_with_a_message(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        connection = valid_connection(tmp_path)
        connection["shell_port"] = holder.getsockname()[1]
        err = ends_with_error(start(connection, tmp_path))
        assert "shell" in err and str(connection["shell_port"]) in err
    finally:
        holder.close()


@pytest.mark.parametrize("ip", ["999.1.2.3", "not an address", ""])
def test_an_invalid_ip_ends_the_kernel_with_a_message(tmp_path, ip):
    connection = valid_connection(tmp_path)
    connection["ip"] = ip
    err = ends_with_error(start(connection, tmp_path))
    assert "ip" in err or "bind" in err


@pytest.mark.parametrize("key", [12345, None, ["a"], {"k": "v"}])
def test_only_a_string_is_a_key(tmp_path, key):
    connection = valid_connection(tmp_path)
    connection["key"] = key
    err = ends_with_error(start(connection, tmp_path))
    assert "key must be a string" in err


def test_an_empty_key_warns_on_stderr(tmp_path):
    connection = valid_connection(tmp_path)
    connection["key"] = ""
    process = start(connection, tmp_path)
    try:
        time.sleep(1.5)
        assert process.poll() is None, "the kernel did not start with an empty key"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "not signed" in err


def test_a_replayed_message_runs_once():
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=30)
    try:
        msg = kc.session.msg("execute_request", {"code": 'print "once"', "silent": False, "store_history": True,
                                                 "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        frames = kc.session.serialize(msg)
        for _ in range(3):
            kc.shell_channel.socket.send_multipart(frames)
        replies = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                replies.append(kc.get_shell_msg(timeout=0.5))
            except Exception:
                if replies:
                    break
        assert [r["content"]["execution_count"] for r in replies] == [1]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("field,value", [("silent", "yes"), ("store_history", "no"), ("stop_on_error", 1)])
def test_wrongly_typed_fields_are_bad_requests(field, value):
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=30)
    try:
        content = {"code": 'print "x"', "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True, field: value}
        msg = kc.session.msg("execute_request", content)
        kc.shell_channel.send(msg)
        reply = kc.get_shell_msg(timeout=10)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "BadRequest"
        assert field in reply["content"]["evalue"]
        assert reply["content"]["execution_count"] == 0
        kc.execute('print "y"')
        assert kc.get_shell_msg(timeout=10)["content"]["execution_count"] == 1
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
