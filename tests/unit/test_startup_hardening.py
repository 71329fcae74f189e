"""Start-up hardening through the real command line (subprocesses): a bad ``.env`` or CA file is a
clean exit 2 naming the file (never a traceback, never "unexpected error"), an ``.env`` open to
other users is warned about, and the commands that hold credentials run without core dumps."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from sniper.config import load_config
from sniper.errors import ConfigError, StartupError
from sniper.live.rest import client_ssl_context

CREDENTIALS = {
    "BITGET_API_KEY": "bg_KEYhardeningDISTINCT01",
    "BITGET_SECRET_KEY": "SECREThardeningDISTINCT0000002",
    "BITGET_PASSPHRASE": "PASShardeningDISTINCT03",
}
BASE = {**CREDENTIALS, "TARGET_TOKEN": "PAWSUSDT", "COIN_AMOUNT": "1"}
NOBODY = 65534


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env_lines(values: dict[str, str]) -> bytes:
    return "".join(f"{k}={v}\n" for k, v in values.items()).encode()


def _unreachable_exchange() -> dict[str, str]:
    """Loopback URLs where nothing listens: a run that gets past its configuration fails fast
    (exit 2) without ever leaving the machine."""
    port = _closed_port()
    return {
        "BITGET_REST_URL": f"http://127.0.0.1:{port}",
        "BITGET_WS_URL": f"ws://127.0.0.1:{port}/",
    }


def sniper_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m sniper ARGS`` with no credential in its environment (the test's files only)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BITGET_") and k not in ("TARGET_TOKEN", "COIN_AMOUNT", "OPEN_TIME")
    }
    return subprocess.run(
        [sys.executable, "-m", "sniper", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_clean_exit_2(proc: subprocess.CompletedProcess[str], *names: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text and "unexpected error" not in text, text
    for name in names:
        assert name in text, text
    for secret in CREDENTIALS.values():
        assert secret not in text


@contextmanager
def unreadable(path: Path) -> Iterator[None]:
    """``path`` (in a ``world_dir``) cannot be read by this process for the duration: mode 000,
    and when running as root (who reads anything) the effective uid is nobody's meanwhile."""
    path.chmod(0o000)
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory every user may enter (pytest's tmp_path is private to its owner), so a file
    in it can be made unreadable while its path stays reachable."""
    path = Path(tempfile.mkdtemp(prefix="sniper-hardening-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---- a .env that is not UTF-8 ------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "check"])
def test_non_utf8_env_file_exit_2_naming_the_file(tmp_path: Path, command: str) -> None:
    env_file = tmp_path / "latin1.env"
    env_file.write_bytes(_env_lines(BASE) + b"# caf\xe9\n")
    env_file.chmod(0o600)
    proc = sniper_cli([command, "--env-file", str(env_file)], tmp_path)
    assert_clean_exit_2(proc, str(env_file), "UTF-8")


def test_non_utf8_dotenv_in_working_directory_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"COIN_AMOUNT=\xff\xfe\n")
    assert_clean_exit_2(sniper_cli(["run"], tmp_path), ".env", "UTF-8")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_env_file_is_a_config_error_naming_the_file(world_dir: Path) -> None:
    env_file = world_dir / "locked.env"
    env_file.write_bytes(_env_lines(BASE))
    with unreadable(env_file), pytest.raises(ConfigError) as info:
        load_config(env_file=env_file, environ={})
    assert info.value.exit_code == 2
    assert str(env_file) in str(info.value) and "readable" in str(info.value)


# ---- BITGET_CA_FILE ----------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "check"])
def test_garbage_ca_file_exit_2_naming_the_file(tmp_path: Path, command: str) -> None:
    ca = tmp_path / "garbage.pem"
    ca.write_bytes(b"\x00\x01 this is not a certificate \xff")
    env_file = tmp_path / "x.env"
    env_file.write_bytes(_env_lines({**BASE, "BITGET_CA_FILE": str(ca)}))
    env_file.chmod(0o600)
    proc = sniper_cli([command, "--env-file", str(env_file)], tmp_path)
    assert_clean_exit_2(proc, "BITGET_CA_FILE", str(ca), "PEM")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_ca_file_is_a_config_error_naming_the_file(world_dir: Path) -> None:
    ca = world_dir / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    environ = {**BASE, "BITGET_CA_FILE": str(ca)}
    empty = _empty(world_dir)
    with unreadable(ca), pytest.raises(ConfigError) as info:
        load_config(env_file=empty, environ=environ)
    assert info.value.exit_code == 2 and info.value.variable == "BITGET_CA_FILE"
    assert str(ca) in str(info.value) and "PEM" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"garbage"], ids=["empty", "garbage"])
def test_client_ssl_context_names_a_bad_ca_file(tmp_path: Path, content: bytes) -> None:
    """A Config built without the loader (or a file spoiled after start) still gives a clean
    StartupError naming the file, not an ssl.SSLError."""
    good = tmp_path / "good.pem"
    trustme.CA().cert_pem.write_to_path(str(good))
    config = load_config(env_file=_empty(tmp_path), environ={**BASE, "BITGET_CA_FILE": str(good)})
    client_ssl_context(config)  # the good one loads
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(StartupError) as info:
        client_ssl_context(replace(config, ca_file=str(bad)))
    assert info.value.exit_code == 2
    assert "BITGET_CA_FILE" in str(info.value) and str(bad) in str(info.value)
    assert "PEM" in str(info.value)


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty.env"
    p.write_text("")
    return p


# ---- start-up warnings, as the user sees them --------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_run_warns_about_an_env_file_open_to_others(tmp_path: Path) -> None:
    env_file = tmp_path / "shared.env"
    env_file.write_bytes(_env_lines({**BASE, **_unreachable_exchange()}))
    env_file.chmod(0o644)
    proc = sniper_cli(["run", "--env-file", str(env_file)], tmp_path)
    assert proc.returncode == 2, proc.stderr  # nothing listens: it stops after the warning
    assert f"chmod 600 {env_file}" in proc.stderr and "WARNING" in proc.stderr
    assert "unencrypted" not in proc.stderr  # loopback http/ws: no warning
    for secret in CREDENTIALS.values():
        assert secret not in proc.stdout + proc.stderr

    env_file.chmod(0o600)
    proc = sniper_cli(["run", "--env-file", str(env_file)], tmp_path)
    assert proc.returncode == 2 and "WARNING" not in proc.stderr, proc.stderr


# ---- core dumps --------------------------------------------------------------------------------
_CORE_PROBE = """
import resource, sys
from sniper.cli import disable_core_dumps, main
soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
# start from core dumps allowed (as far as the hard limit lets us), so the test can fail
resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
assert resource.getrlimit(resource.RLIMIT_CORE) != (0, 0), "cannot test: hard limit is 0"
if sys.argv[1] == "function":
    assert disable_core_dumps() is True
else:
    code = main(sys.argv[1:])
    print("exit", code, file=sys.stderr)
print(resource.getrlimit(resource.RLIMIT_CORE))
"""


def _core_probe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CORE_PROBE, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_CORE is POSIX")
def test_disable_core_dumps_sets_soft_and_hard_to_zero(tmp_path: Path) -> None:
    proc = _core_probe(tmp_path, "function")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(0, 0)"


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_CORE is POSIX")
@pytest.mark.parametrize("command", ["run", "check"])
def test_commands_holding_credentials_run_without_core_dumps(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "missing.env"  # fails at config load: the limit is set before it
    proc = _core_probe(tmp_path, command, "--env-file", str(missing))
    assert "exit 2" in proc.stderr, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "(0, 0)"
