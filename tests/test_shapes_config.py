"""Config of the toroid and the pedestal: round trip, and bad input refused with the key, the
value and what is allowed (exit 2 at the CLI); the exact solver refuses both shapes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wgm.config import config_to_dict, parse_config
from wgm.errors import ConfigError
from wgm.model.resonator import Disk, Pedestal, Toroid

TOROID = {"resonator": {"shape": "toroid", "major_radius_um": 3.0, "tube_radius_um": 0.75, "material": "silica",
                        "coating": [{"thickness_um": 0.05, "index": 2.0}]},
          "search": {"wavelength_nm": [1500.0, 1600.0]}}
PEDESTAL = {"resonator": {"shape": "disk", "radius_um": 2.0, "thickness_um": 0.4, "material": "silica",
                          "pedestal": {"radius_um": 1.0, "height_um": 1.0, "material": "silicon"},
                          "substrate": {"index": 1.45}},
            "search": {"wavelength_nm": [1150.0, 1250.0]}}


def _with(base, **resonator):
    raw = {"resonator": dict(base["resonator"]), "search": dict(base["search"])}
    for key, value in resonator.items():
        if value is None:
            raw["resonator"].pop(key, None)
        else:
            raw["resonator"][key] = value
    return raw


def test_toroid_and_pedestal_round_trip():
    for raw in (TOROID, PEDESTAL):
        cfg = parse_config(raw)
        assert parse_config(config_to_dict(cfg)) == cfg
    toroid = parse_config(TOROID).resonator
    assert isinstance(toroid.shape, Toroid) and toroid.shape.radius_um == pytest.approx(3.75)
    assert toroid.outer_radius_um == pytest.approx(3.8)
    ped = parse_config(PEDESTAL).resonator
    assert isinstance(ped.shape, Disk) and ped.pedestal == Pedestal(1.0, 1.0, ped.pedestal.material)
    assert set(ped.materials()) == {"resonator", "surroundings", "resonator.substrate", "resonator.pedestal"}


@pytest.mark.parametrize("raw, match", [
    (_with(TOROID, tube_radius_um=3.0), r"resonator.tube_radius_um = 3.0: must be < major_radius_um = 3"),
    (_with(TOROID, tube_radius_um=None), r"resonator.tube_radius_um = \(missing\): is required for shape 'toroid'"),
    (_with(TOROID, radius_um=3.75), r"resonator.radius_um = 3.75: not a key of shape 'toroid'"),
    (_with(TOROID, substrate={"index": 1.45}), r"resonator.substrate = .*a toroid has no substrate"),
    (_with(TOROID, coating=[{"thickness_um": 2.5, "index": 2.0}]), r"resonator.coating = .*must not reach the axis"),
    (_with(TOROID, pedestal={"radius_um": 1.0, "height_um": 1.0, "index": 3.5}),
     r"resonator.pedestal = 'under a toroid': a pedestal stands under a disk of finite thickness_um only"),
    (_with(TOROID, shape="sphere", radius_um=2.0, major_radius_um=None, tube_radius_um=None, coating=None,
           pedestal={"radius_um": 1.0, "height_um": 1.0, "index": 3.5}),
     r"resonator.pedestal = 'under a sphere'"),
    (_with(PEDESTAL, thickness_um="inf", substrate=None), r"resonator.pedestal = 'under a disk'.*finite thickness_um"),
    (_with(PEDESTAL, pedestal={"radius_um": 2.5, "height_um": 1.0, "index": 3.5}),
     r"resonator.pedestal.radius_um = 2.5: must be < the disk's outer radius 2"),
    (_with(PEDESTAL, pedestal={"radius_um": 1.0, "index": 3.5}), r"resonator.pedestal.height_um = \(missing\)"),
    (_with(PEDESTAL, pedestal={"radius_um": 1.0, "height_um": -1.0, "index": 3.5}),
     r"resonator.pedestal.height_um = -1.0"),
    (_with(PEDESTAL, pedestal={"radius_um": 1.0, "height_um": 1.0}), r"resonator.pedestal.index = \(missing\)"),
    (_with(PEDESTAL, pedestal={"radius_um": 1.0, "height_um": 1.0, "index": 3.5, "width_um": 1}),
     r"resonator.pedestal.width_um"),
    (_with(PEDESTAL, pedestal=1.0), r"resonator.pedestal = 1.0: must be a table"),
])
def test_bad_shapes_name_key_value_and_what_is_allowed(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(raw)


@pytest.mark.parametrize("name", ["toroid", "disk_pedestal"])
def test_exact_method_refuses_the_shape_in_one_line(name):
    """`wgm modes CFG --method exact` (and a method with exact) exits 2 with one line naming
    the shape and the engines that do it."""
    from pathlib import Path

    cfg = Path(__file__).resolve().parents[1] / "sims" / f"{name}.toml"
    phrase = "toroid" if name == "toroid" else "disk on a pedestal"
    for method in ("exact", "exact,fdtd"):
        out = subprocess.run([sys.executable, "-m", "wgm", "modes", str(cfg), "--method", method],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and phrase in lines[0] and "--method fem" in lines[0] and "fdtd" in lines[0]
