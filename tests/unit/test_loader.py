"""The loader picks the compiled modules, never falls back silently, and is loud about twins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sniper
import sniper._fast

# the directory holding the `sniper` package, wherever it is (source tree or site-packages)
PACKAGE_ROOT = str(Path(sniper.__file__).resolve().parent.parent)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SNIPER_PURE_PYTHON"}
    environ["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_ROOT, *filter(None, [environ.get("PYTHONPATH")])]
    )
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        # `python -c` puts the working directory first on sys.path: run beside the package
        # under test so a source checkout cannot shadow the installed wheel.
        cwd=PACKAGE_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_compiled_modules_are_loaded():
    assert sniper._fast.IMPLEMENTATION == "compiled"
    for name in ("TargetMatcher", "TickerScanner", "OrderTemplate", "sign"):
        module = sys.modules[getattr(sniper._fast, name).__module__]
        assert module.__name__ in {
            "sniper._fast.matcher",
            "sniper._fast.scanner",
            "sniper._fast.signer",
        }
        assert module.__file__ is not None
        assert module.__file__.endswith(".so"), module.__file__


def test_exports():
    for name in sniper._fast.__all__:
        assert hasattr(sniper._fast, name)
    kinds = sniper._fast.FrameKind
    assert [(k.name, int(k)) for k in kinds] == [
        ("OTHER", 0),
        ("TICKER_HIT", 1),
        ("PONG", 2),
        ("EVENT", 3),
    ]


def test_pure_python_switch_is_loud():
    result = _python(
        """
        import sniper._fast as f
        print(f.IMPLEMENTATION, f.TickerScanner.__module__, f.OrderTemplate.__module__)
        """,
        SNIPER_PURE_PYTHON="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "pure-python",
        "sniper._fast.scanner_py",
        "sniper._fast.signer_py",
    ]
    assert "SNIPER_PURE_PYTHON=1" in result.stderr
    assert "pure-Python twins" in result.stderr
    assert "never do this with real money" in result.stderr


@pytest.mark.parametrize("value", ["0", "", "true", "yes"])
def test_only_exactly_1_selects_the_twins(value):
    result = _python("import sniper._fast as f; print(f.IMPLEMENTATION)", SNIPER_PURE_PYTHON=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "compiled"
    assert result.stderr == ""


def test_missing_extensions_refuse_to_load():
    result = _python(
        """
        import sys
        from importlib.abc import MetaPathFinder

        class HideCompiled(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name in ("sniper._fast.matcher", "sniper._fast.scanner", "sniper._fast.signer"):
                    raise ImportError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, HideCompiled())
        try:
            import sniper._fast
        except Exception as exc:
            from sniper.errors import ExtensionsMissing
            assert isinstance(exc, ExtensionsMissing), type(exc)
            print(exc)
        else:
            raise SystemExit("imported without the compiled modules")
        """
    )
    assert result.returncode == 0, result.stderr + result.stdout
    message = result.stdout
    assert "not built" in message
    assert "pip install ." in message
    assert "SNIPER_PURE_PYTHON=1" in message
