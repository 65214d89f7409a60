"""`pip install ./clients/python` in a fresh venv, and the wheel `pip wheel` builds.

Slow (a venv, pip, maybe PyPI: ~10-60 s): marked `packaging`; `make test PYTEST_ARGS='-q -m "not packaging"'`
leaves it out. Without PyPI it installs with --no-build-isolation (the venv's own setuptools)
and takes protobuf from the outer environment; if that setuptools cannot build wheels (< 70.1
without the `wheel` package, as Python 3.11's bundled one) the tests are skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path
from typing import Dict, List

import google.protobuf
import pytest

from conftest import ADMIN_TOKEN, CLIENT_DIR, Server

pytestmark = pytest.mark.packaging

PIP_TIMEOUT_S = 300


def _pip(python: Path, args: List[str], env: Dict[str, str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        env=env,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with `pip install <clients/python>`; its python."""
    root = tmp_path_factory.mktemp("pkgvenv")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    env = dict(os.environ, PIP_DEFAULT_TIMEOUT="20", PIP_RETRIES="1", PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    online = _pip(python, ["install", str(CLIENT_DIR)], env)
    if online.returncode != 0:
        # No PyPI: build with the venv's own setuptools, no dependencies from an index, and
        # protobuf from the environment running the tests (a .pth file).
        # A setuptools that builds wheels by itself, if --find-links (PIP_FIND_LINKS) has one.
        _pip(python, ["install", "--no-index", "--upgrade", "setuptools>=70.1"], env)
        offline = _pip(python, ["install", "--no-build-isolation", "--no-index", "--no-deps", str(CLIENT_DIR)], env)
        if offline.returncode != 0 and "bdist_wheel" in offline.stderr:
            pytest.skip("PyPI unreachable, and this Python's setuptools (< 70.1, no `wheel` package) cannot build wheels")
        assert offline.returncode == 0, f"pip install failed online:\n{online.stderr}\nand offline:\n{offline.stderr}"
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        outer = Path(google.protobuf.__file__).resolve().parent.parent.parent
        (Path(site) / "outer-protobuf.pth").write_text(f"{outer}\n")
    return python


def test_pip_install_in_a_fresh_venv_and_one_call(installed: Path, server: Server, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        import claimline
        from claimline import AsyncClaimlineClient, ClaimlineClient
        from claimline.v1 import service_pb2 as svc
        assert claimline.__file__.startswith(sys.prefix), claimline.__file__
        with ClaimlineClient.connect({server.host!r}, {server.port}, {ADMIN_TOKEN!r}, "pytest-pkg") as c:
            c.get_stats(svc.GetStatsRequest(), timeout=5.0)
        async def main():
            async with await AsyncClaimlineClient.connect({server.host!r}, {server.port}, {ADMIN_TOKEN!r}, "pytest-pkg") as c:
                return await c.get_stats(svc.GetStatsRequest(), timeout=5.0)
        print("ok", type(asyncio.run(main())).__name__)
        """
    )
    # -I: no cwd, no PYTHONPATH, no user site: only what pip installed into the venv.
    result = subprocess.run([str(installed), "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok GetStatsResponse"


def test_pip_wheel_contains_the_generated_modules(installed: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PIP_DEFAULT_TIMEOUT="20", PIP_RETRIES="1")
    result = _pip(installed, ["wheel", "--no-deps", "-w", str(tmp_path), str(CLIENT_DIR)], env)
    if result.returncode != 0:  # no PyPI for the isolated build's setuptools
        result = _pip(installed, ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path), str(CLIENT_DIR)], env)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("claimline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("service", "types", "wire"):
        assert f"claimline/v1/{module}_pb2.py" in names, sorted(names)
    assert {"claimline/__init__.py", "claimline/aio.py", "claimline/client.py", "claimline/frames.py"} <= names
    assert "claimline/py.typed" in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Dist: protobuf" in text and "Requires-Python: >=3.11" in text
