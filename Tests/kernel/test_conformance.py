"""Protocol conformance of the gradti kernel, via jupyter_kernel_test's generic checks."""
from __future__ import annotations

import unittest
from pathlib import Path

# Imported as a module: a bare `KernelTests` name here would make pytest also collect the
# base class, which runs against the python3 kernel.
import jupyter_kernel_test

LOGO = Path(__file__).resolve().parents[2] / "kernelspec" / "logo-32x32.png"


class GradtiKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "gradti"

    # kernel_info
    language_name = "gradti"
    file_extension = ".gradti"

    # execute: streams
    code_hello_world = 'print "hello, world"'
    code_stderr = 'print "oops" stream=stderr'

    # complete_request: the matches must equal these sets exactly.
    completion_samples = [
        {"text": "pri", "matches": {"print"}},
        {"text": "help pri", "matches": {"print"}},
        {"text": 'print "x" str', "matches": {"stream="}},
    ]

    # is_complete_request
    complete_code_samples = [
        'print "abc"',
        "version",
        "# only a comment",
        'print "two" "words"\nversion',
    ]
    incomplete_code_samples = [
        'print "abc',
        'print "first line\nsecond line',
    ]
    invalid_code_samples = [
        'print "a\\q"',
        "=oops",
    ]

    # `COMMAND?` answers with a page payload.
    code_page_something = "print?"

    # Exactly one `error` message on iopub.
    code_generate_error = "nosuch"

    # execute_result; the history tests re-run these codes.
    code_execute_result = [
        {"code": "version", "result": "gradti 0.1.0", "mime": "text/plain"},
    ]

    # display_data
    code_display_data = [
        {"code": f'show "{LOGO}"', "mime": "image/png"},
        {"code": "help", "mime": "text/markdown"},
        {"code": "help print", "mime": "text/plain"},
    ]

    # history_request; the pattern is a glob and must match exactly one of the codes above.
    code_history_pattern = "ver*"
    supported_history_operations = ("tail", "range", "search")

    # inspect_request
    code_inspect_sample = "print"

    # clear_output
    code_clear_output = "clear"

    def test_display_data_logo_exists(self) -> None:
        # The show sample above is only meaningful if the file it names is a real PNG.
        self.assertTrue(LOGO.is_file(), f"missing test image {LOGO}")
        self.assertEqual(LOGO.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")


class GradtiIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "gradti"
    # iopub_welcome comes with protocol 5.4's XPUB iopub socket; gradti speaks 5.3 over PUB.
    support_iopub_welcome = False


if __name__ == "__main__":
    unittest.main()
