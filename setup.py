"""Build of the native parts: the strict JSON decoder :mod:`sluice.runtime._jsonscan` and
the string cutter :mod:`sluice.pipeline._strcut`.

Everything else is in pyproject.toml; setuptools reads both.
"""

from setuptools import Extension, setup

_FLAGS = ["-O3", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra"]

setup(
    ext_modules=[
        Extension(
            "sluice.runtime._jsonscan",
            ["src/sluice/runtime/_jsonscan.c"],
            extra_compile_args=_FLAGS,
        ),
        Extension(
            "sluice.pipeline._strcut", ["src/sluice/pipeline/_strcut.c"], extra_compile_args=_FLAGS
        ),
    ]
)
