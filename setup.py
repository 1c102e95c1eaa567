"""Build of the native part: the strict JSON decoder :mod:`sluice.runtime._jsonscan`.

Everything else is in pyproject.toml; setuptools reads both.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sluice.runtime._jsonscan",
            ["src/sluice/runtime/_jsonscan.c"],
            extra_compile_args=["-O3", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra"],
        )
    ]
)
