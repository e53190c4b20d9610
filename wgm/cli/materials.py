"""``wgm materials``: the material library and its indices."""

from __future__ import annotations

import json
import sys
from pathlib import Path

def register(sub) -> None:
    mat = sub.add_parser("materials", help="list library materials or print their index",
                         description="List the material library, or print n + ik of materials at given wavelengths.")
    mat.add_argument("names", nargs="*", help="library names (default: list all)")
    mat.add_argument("--wavelength-nm", type=float, action="append", default=[], metavar="W",
                     help="wavelength in nm (repeatable; default 520 540 560)")
    mat.set_defaults(run=cmd_materials)


def cmd_materials(args, out) -> int:
    from wgm.model.materials import LIBRARY, library_material

    if not args.names:
        for name in LIBRARY:
            if name == "cspbbr3-nc":
                out.write(f"{name:20s} CsPbBr3 nanocrystal film (needs fill_fraction; "
                                 "ligand_index, bulk, mixing optional)\n")
                continue
            mat = library_material(name)
            lo, hi = mat.wavelength_range_nm
            out.write(f"{name:20s} {lo:g}-{hi:g} nm\n")
        return 0
    waves = args.wavelength_nm or [520.0, 540.0, 560.0]
    for name in args.names:
        mat = library_material(name, "materials")
        for w in waves:
            n = mat.n_at(w)
            out.write(json.dumps({"material": name, "wavelength_nm": w, "n": n.real, "k": n.imag}) + "\n")
    return 0
