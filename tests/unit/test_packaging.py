"""What `pip install .` must deliver; under CI the suite must be testing that wheel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sniper

PKG = Path(sniper.__file__).resolve().parent
REPO = Path(__file__).resolve().parents[2]
COMPILED = ["_fast/matcher", "_fast/scanner", "_fast/signer", "live/hotpath"]


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI tests the installed wheel")
def test_ci_tests_the_installed_wheel() -> None:
    # (the venv may live inside the checkout, as .ci/run makes it: compare with the tree itself)
    assert PKG != REPO / "sniper", f"imported from the source tree {PKG}"
    assert "site-packages" in PKG.parts


@pytest.mark.parametrize("module", COMPILED)
def test_extension_is_compiled_with_stub_and_pxd(module: str) -> None:
    folder, name = (PKG / module).parent, Path(module).name
    assert list(folder.glob(f"{name}.cpython-*.so")), f"{module} is not a compiled extension"
    assert (folder / f"{name}.pyi").is_file()
    assert (folder / f"{name}.pxd").is_file()


def test_typed_markers() -> None:
    assert (PKG / "py.typed").is_file() and (PKG / "_fast" / "py.typed").is_file()


def test_suite_refuses_real_hosts() -> None:
    import socket

    with pytest.raises(OSError, match="non-loopback"):
        socket.getaddrinfo("api.bitget.com", 443)
    with socket.socket() as s, pytest.raises(OSError, match="non-loopback"):
        s.connect(("198.51.100.7", 443))
