"""Build recipe for the compiled hot path: the extension list and compiler directives only.

Everything else (metadata, dependencies, entry points) lives in pyproject.toml.
Every ``.pyx`` under ``sniper/`` becomes one extension module of the same dotted name.
"""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent

COMPILER_DIRECTIVES = {
    "language_level": 3,
    "embedsignature": True,
    # Exchange frames are untrusted: bounds checks stay on by default and are switched off
    # per function, only on audited functions that check lengths up front.
    "boundscheck": True,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}

EXTENSIONS = [
    Extension(
        ".".join(pyx.relative_to(HERE).with_suffix("").parts),
        [str(pyx.relative_to(HERE))],
        extra_compile_args=["-O3"],
    )
    for pyx in sorted((HERE / "sniper").rglob("*.pyx"))
]

setup(ext_modules=cythonize(EXTENSIONS, compiler_directives=COMPILER_DIRECTIVES))
