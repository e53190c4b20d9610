"""``wgm materials``: the material library, its sources and ranges, and its indices."""

from __future__ import annotations

import json


def register(sub) -> None:
    mat = sub.add_parser("materials", help="list library materials or print their index",
                         description="List the material library (name, data range, source), or print "
                                     "n + ik of materials at given wavelengths, one JSON object a line.  "
                                     "A wavelength outside a material's data range is an error.")
    mat.add_argument("names", nargs="*", help="library names (default: list all)")
    mat.add_argument("--wavelength-nm", type=float, nargs="+", action="extend", default=[], metavar="W",
                     help="wavelengths in nm (several after one flag, or the flag repeated; default 520 540 560)")
    nc = mat.add_argument_group("cspbbr3-nc (nanocrystal film) parameters, as in a config table")
    nc.add_argument("--fill-fraction", type=float, metavar="F",
                    help="CsPbBr3 volume fraction in (0, 1] (required for cspbbr3-nc; films are typically 0.3-0.6)")
    nc.add_argument("--ligand-index", type=float, metavar="N", help="index of the ligand matrix (default 1.46)")
    nc.add_argument("--bulk", metavar="SET", help="bulk data set: brennan (default), ermolaev-o, ermolaev-e")
    nc.add_argument("--mixing", metavar="RULE", help="maxwell-garnett (default) or bruggeman")
    mat.set_defaults(run=cmd_materials)


def _nc_table(args) -> dict:
    """The ``cspbbr3-nc`` options as the keys of a config table."""
    return {key: value for key, value in (("fill_fraction", args.fill_fraction), ("ligand_index", args.ligand_index),
                                          ("bulk", args.bulk), ("mixing", args.mixing)) if value is not None}


def _material(name: str, args):
    """The named material, a ``cspbbr3-nc`` film built from the command's options."""
    from wgm.config import build_material
    from wgm.errors import ConfigError, UserError
    from wgm.model.materials import library_material

    if name.lower() != "cspbbr3-nc":
        return library_material(name, "materials")
    table = {"material": name} | _nc_table(args)
    try:
        return build_material(table, "cspbbr3-nc", None)
    except ConfigError as exc:  # name the command-line option, not a config key
        option = "--" + exc.key.rsplit(".", 1)[-1].replace("_", "-")
        if exc.value is None:
            raise UserError(f"materials cspbbr3-nc: {option} is required: the CsPbBr3 volume fraction "
                            "in (0, 1], e.g. --fill-fraction 0.45") from None
        raise UserError(f"materials cspbbr3-nc: {option} {exc.value}: {exc.allowed}") from None


def cmd_materials(args, out) -> int:
    import numpy as np

    from wgm.errors import UserError
    from wgm.model.materials import LIBRARY, library_material, library_source

    if not args.names:
        for name in LIBRARY:
            if name == "cspbbr3-nc":
                out.write(f"{name:20s} {'(film)':14s} CsPbBr3 nanocrystal film: give --fill-fraction "
                          "(and optionally --ligand-index, --bulk, --mixing)\n")
                continue
            lo, hi = library_material(name).wavelength_range_nm
            out.write(f"{name:20s} {f'{lo:g}-{hi:g} nm':14s} {library_source(name)}\n")
        return 0
    if _nc_table(args) and not any(n.lower() == "cspbbr3-nc" for n in args.names):
        raise UserError("--fill-fraction, --ligand-index, --bulk and --mixing are options of cspbbr3-nc")
    waves = np.array(args.wavelength_nm or [520.0, 540.0, 560.0])
    # every material and wavelength is checked before anything is printed
    rows = [(name, _material(name, args)) for name in args.names]
    try:
        values = [mat.index(waves) for _, mat in rows]  # UserError outside a material's data range
    except UserError as exc:
        raise UserError(f"--wavelength-nm: {exc}") from None
    for (name, mat), ns in zip(rows, values):
        extra = {k: v for k, v in mat.to_config().items() if k != "material"} if name.lower() == "cspbbr3-nc" else {}
        for w, n in zip(waves, ns):
            out.write(json.dumps({"material": name, **extra, "wavelength_nm": float(w),
                                  "n": float(n.real), "k": float(n.imag)}) + "\n")
    return 0
