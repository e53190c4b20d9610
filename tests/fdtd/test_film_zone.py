"""The geometry Meep is given for lossy, gain and dispersive films (fast: objects and material
functions are built and evaluated, no time stepping)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import meep_or_skip

from wgm.fdtd import fill
from wgm.fdtd.plan import MediumParams, plan
from wgm.fdtd.settings import FdtdSettings
from wgm.model.lorentz import LorentzPole
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere

RES = 56.0
EXACT = 1e-12  # the zone returns fill.py's values: only rounding separates them


def _plan(res):
    return plan(res, Search((540.0, 570.0), 1, ("TE",)),
                FdtdSettings(m=(31,), resolution_px_per_um=RES, materials="band-centre", domain="full"))


def test_lossless_coating_keeps_meeps_own_objects():
    meep_or_skip()
    from wgm.fdtd import meep_model as mm

    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(1.8)),), ConstantIndex(1.0))
    objs, _ = mm.geometry(res, _plan(res))
    assert [o.radius for o in objs] == [2.05, 2.0] and not any(callable(o.material) for o in objs)


def test_lossy_film_pixels_get_fill_weighted_conductivity():
    """A 2 µm sphere with a 50 nm film of 1.8 + 0.01i: one material-function shell from 2 px
    inside the core to 2 px outside the film, the core plain in front of it; the function
    returns the film's own medium inside the film and, on a pixel half in the film at the
    equator, the conductivity of fill.py (film share ½), which Meep must be told about."""
    mp = meep_or_skip()
    from wgm.fdtd import meep_model as mm

    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(1.8, 0.01)),), ConstantIndex(1.0))
    pl = _plan(res)
    objs, background = mm.geometry(res, pl)
    px = 1 / RES
    zone, core = objs
    assert callable(zone.material) and zone.radius == pytest.approx(2.05 + 2 * px, rel=EXACT)
    assert core.radius == pytest.approx(2.0 - 2 * px, rel=EXACT) and not callable(core.material)
    film = [m for m in zone.material.extra_materials]
    assert len(film) == 1 and film[0].D_conductivity_diag.x == pytest.approx(pl.media[1].d_conductivity, rel=EXACT)
    assert zone.material(mp.Vector3(2.025, 0, 0)) is film[0]
    # a pixel centred on the outer boundary at the equator
    mixed = zone.material(mp.Vector3(2.05, 0, 0))
    f = fill.fractions([fill.Region(fill.Ball(2.05), 1, fill.Ball(2.0)), fill.Region(fill.Ball(2.0), 0)], 3, 2,
                       2.05, 0.0, px, px)
    assert f[1] == pytest.approx(0.5, abs=0.01)
    eps = [p.epsilon for p in pl.media]
    sig = fill.conductivity([p.d_conductivity for p in pl.media], eps, f, (1.0, 0.0))
    got = mixed.D_conductivity_diag
    assert (got.x, got.y, got.z) == pytest.approx(sig, rel=EXACT)
    assert mixed.epsilon_diag.y == pytest.approx(float(np.dot(f, eps)), rel=EXACT)


def test_lorentzian_and_gain_strengths_are_weighted_like_loss():
    """A 2-D disk whose film is ε∞ 3.2 + a Lorentzian, and the same film as a lasing run builds
    it (a two-level atom on top): the strengths at a boundary pixel are fill.py's."""
    mp = meep_or_skip()
    from wgm.fdtd import meep_model as mm

    res = Resonator(Disk(1.5, math.inf, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(1.8)),), ConstantIndex(1.0))
    pl = _plan(res)
    pole = LorentzPole(1 / 0.515, 0.03, 0.005)
    media = [mm.medium(p) for p in pl.media]
    media[1] = mm.medium(MediumParams(3.2, 0.0, (pole,)),
                         susceptibilities=[mm.two_level_atom(1e-4, 0.1, 1.8, 0.05, 0.01, (0.5, 0.5))])
    objs, _ = mm.geometry(res, pl, media=media)
    (zone,) = [o for o in objs if callable(o.material)]
    r = 1.55 - 0.3 / RES  # the film fills 0.8 of this pixel (1-D cell: the window is in r only)
    got = zone.material(mp.Vector3(r, 0, 0))
    f = fill.fractions([fill.Region(fill.Rect(0, 1.55, -math.inf, math.inf), 1, fill.Rect(0, 1.5, -math.inf, math.inf)),
                        fill.Region(fill.Rect(0, 1.5, -math.inf, math.inf), 0)], 3, 2, r, 0.0, 1 / RES, 0.0)
    assert f[1] == pytest.approx(0.8, rel=1e-2)
    eps = [p.epsilon for p in pl.media[:1]] + [3.2] + [p.epsilon for p in pl.media[2:3]]
    # across the boundary the weights use each medium's whole Re ε at the band centre (the
    # film's pole included), which sets the field's jump there
    full = [mm._re_eps(m, pl.f_centre) for m in media[:3]]
    assert full[1] > 3.2
    lorentz, atom = got.E_susceptibilities
    assert lorentz.frequency == pole.frequency and lorentz.gamma == pole.gamma
    s = lorentz.sigma_diag
    assert (s.x, s.y, s.z) == pytest.approx(fill.pole_strength([0, pole.sigma, 0], eps, f, (1.0, 0.0), full),
                                            rel=EXACT)
    a = atom.sigma_diag
    assert (a.x, a.y, a.z) == pytest.approx(fill.pole_strength([0, 1.0, 0], eps, f, (1.0, 0.0), full), rel=EXACT)
    assert atom.transitions is media[1].E_susceptibilities[1].transitions
