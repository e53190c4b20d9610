"""Make ``coated_microsphere_pl.csv``: a measured-style emission spectrum of a CsPbBr3-coated
silica microsphere, for trying ``wgm fit`` and ``wgm compare``.

It is synthetic, so that the answer is known: the modes of the exact solver for a sphere of
radius 2.07 µm with a 58 nm nanocrystal film (``coated_microsphere.toml`` otherwise), each
drawn as a Lorentzian whose width is the mode's own linewidth broadened by a spectrometer of
resolving power 4000, with random heights (radial order 2 weaker), on a broad emission
background, with 1 % noise; modes with Q below 300 are not drawn (too broad to be seen),
and one spurious spike (a cosmic ray) is added.

    .venv/bin/python sims/measured/make_example_spectrum.py        (rewrites the CSV)
    .venv/bin/wgm fit sims/measured/coated_microsphere_pl.csv sims/coated_microsphere.toml \\
        --free resonator.radius_um,resonator.coating.0.thickness_um --out results/fit
"""

from pathlib import Path

import numpy as np

from wgm.config import load_config
from wgm.exact.solver import solve
from wgm.records import atomic_write

HERE = Path(__file__).resolve().parent
TRUTH = {"resonator.radius_um": 2.07, "resonator.coating.0.thickness_um": 0.058}
BAND_NM = (540.0, 600.0)
STEP_NM = 0.02
RESOLVING_POWER = 4000.0
NOISE = 0.01


def main() -> None:
    cfg = load_config(HERE.parent / "coated_microsphere.toml",
                      [f"{k}={v}" for k, v in TRUTH.items()]
                      + [f"search.wavelength_nm=[{BAND_NM[0]}, {BAND_NM[1]}]", "search.max_radial_order=2"])
    modes = [m for m in solve(cfg.resonator, cfg.search).modes if m.Q > 300]
    rng = np.random.default_rng(2016)
    lam = np.arange(BAND_NM[0], BAND_NM[1] + STEP_NM / 2, STEP_NM)
    y = 0.3 * np.exp(-0.5 * ((lam - 560.0) / 25.0) ** 2)  # broad emission background
    for m in modes:
        fwhm = m.wavelength_nm / m.Q + m.wavelength_nm / RESOLVING_POWER
        height = rng.uniform(0.5, 1.0) * (1.0 if m.radial_order == 1 else 0.5)
        y += height / (1 + ((lam - m.wavelength_nm) / (fwhm / 2)) ** 2)
    y[int(0.37 * len(lam))] += 0.8  # a cosmic-ray spike: one sample
    y += rng.normal(0.0, NOISE, len(lam))
    lines = ["# Synthetic, measured-style emission spectrum of a CsPbBr3-nanocrystal-coated silica microsphere",
             "# made by make_example_spectrum.py: true " + ", ".join(f"{k} = {v}" for k, v in TRUTH.items()),
             "# modes drawn: " + " ".join(f"{m.polarization}{m.radial_order}:{m.l}" for m in modes),
             "wavelength_nm,counts"]
    lines += [f"{a:.3f},{b:.5f}" for a, b in zip(lam, 1000 * y)]
    atomic_write(HERE / "coated_microsphere_pl.csv", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
