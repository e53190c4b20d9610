"""Packaging: the distribution's name, the import name and the command (defect 20 of issue 12)."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_distribution_is_not_pypis_wgm():
    """PyPI's "wgm" is an unrelated WireGuard tool: the distribution must have another name,
    while the import name and the command stay ``wgm``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "wgm-modes"
    assert project["scripts"] == {"wgm": "wgm.cli:main"}


def test_installed_distribution_provides_the_wgm_command():
    dist = metadata.distribution("wgm-modes")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"wgm": "wgm.cli:main"}
    top = (dist.read_text("top_level.txt") or "wgm").split()
    assert "wgm" in top
