"""Shared setup for the black-box kernel tests: they talk to the installed `gradti` kernelspec."""
from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

KERNEL_NAME = "gradti"

SETUP_HINT = (
    "The `gradti` kernelspec is not installed where Jupyter looks for it.\n"
    "Run `bash .ci/setup` from the repository root, or after a build install it into the venv:\n"
    "    .build/debug/gradti install-kernel --prefix .venv\n"
    "and run pytest with .venv's python and JUPYTER_PATH=$PWD/.venv/share/jupyter, as .ci/test does."
)


@pytest.fixture(scope="session", autouse=True)
def gradti_kernelspec():
    """Fails every test with a setup hint, instead of a timeout, when the kernel is missing."""
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        spec = None
    if spec is None:
        pytest.fail(SETUP_HINT, pytrace=False)
    executable = Path(spec.argv[0])
    if executable.is_absolute() and not executable.exists():
        pytest.fail(f"The `gradti` kernelspec points at {executable}, which does not exist.\n{SETUP_HINT}",
                    pytrace=False)
    return spec
