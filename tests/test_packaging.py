"""What each platform installs: the per-platform torch pins in pyproject.toml, read through their markers."""

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = {  # marker environments of the machines the README names
    "x86_64 Linux": {"platform_machine": "x86_64", "platform_system": "Linux", "sys_platform": "linux"},
    "aarch64 Linux": {"platform_machine": "aarch64", "platform_system": "Linux", "sys_platform": "linux"},
    "Apple silicon": {"platform_machine": "arm64", "platform_system": "Darwin", "sys_platform": "darwin"},
}
EXPECTED = {"x86_64 Linux": "2.14.1", "aarch64 Linux": "2.9.1", "Apple silicon": "2.9.1"}


def pins_for(env: dict) -> dict[str, str]:
    """Name -> pinned version of every dependency pyproject.toml installs on a machine with marker `env`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = {"python_version": "3.11", "extra": ""} | env
    pins = {}
    for req in map(Requirement, project["dependencies"]):
        if req.marker is None or req.marker.evaluate(env):
            assert req.name not in pins, f"{req.name} is pinned twice for {env['platform_machine']}"
            (spec,) = req.specifier
            assert spec.operator == "==", f"{req} is not pinned"
            pins[req.name] = spec.version
    return pins


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_gets_one_torch_and_the_torchvision_built_for_it(platform):
    pins = pins_for(PLATFORMS[platform])
    assert pins["torch"] == EXPECTED[platform]
    major, minor, patch = map(int, pins["torch"].split("."))
    # torchvision 0.(m + 15).p is the release built against torch 2.m.p (0.29.1 for 2.14.1, 0.24.1 for 2.9.1)
    assert major == 2 and pins["torchvision"] == f"0.{minor + 15}.{patch}"


def test_the_readme_and_conda_file_say_what_pyproject_installs():
    readme = (ROOT / "README.md").read_text()
    for platform in ("x86_64 Linux", "aarch64 Linux"):
        pins = pins_for(PLATFORMS[platform])
        assert f"torch=={pins['torch']}" in readme and f"torchvision=={pins['torchvision']}" in readme
    # conda installs the project itself through pip, so the markers choose the pair there too
    pip_lines = re.findall(r"^\s*-\s+(.+)$", (ROOT / "environment.yml").read_text(), re.MULTILINE)
    assert "-e .[dev,book]" in pip_lines and not any(line.startswith(("torch", "pytorch")) for line in pip_lines)
