"""``wgm materials``: several wavelengths after one flag, the nanocrystal film, the range
check (defects 11, 17) and the listing with sources (defect 15)."""

from __future__ import annotations

import json

import pytest

from wgm.cli.main import main
from wgm.model.materials import library_material, nanocrystal_film


def rows(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_several_wavelengths_after_one_flag(capsys):
    """``--wavelength-nm 515 530`` used to be refused (the flag had to be repeated)."""
    assert main(["materials", "silica", "--wavelength-nm", "515", "530"]) == 0
    got = rows(capsys)
    assert [r["wavelength_nm"] for r in got] == [515.0, 530.0]
    assert got[1]["n"] == library_material("silica").n_at(530.0).real
    # the repeated flag still works, and adds up
    assert main(["materials", "silica", "--wavelength-nm", "515", "--wavelength-nm", "530", "545"]) == 0
    assert [r["wavelength_nm"] for r in rows(capsys)] == [515.0, 530.0, 545.0]


def test_nanocrystal_film_is_printed_with_its_parameters(capsys):
    """``cspbbr3-nc`` could not be printed at all; now with --fill-fraction (and the others)."""
    assert main(["materials", "cspbbr3-nc", "--fill-fraction", "0.45", "--wavelength-nm", "530"]) == 0
    (row,) = rows(capsys)
    film = nanocrystal_film(0.45)
    assert row["n"] == film.n_at(530.0).real and row["k"] == film.n_at(530.0).imag
    assert row["fill_fraction"] == 0.45 and row["ligand_index"] == 1.46 and row["bulk"] == "brennan"
    assert main(["materials", "cspbbr3-nc", "--fill-fraction", "0.3", "--bulk", "ermolaev-o",
                 "--mixing", "bruggeman", "--ligand-index", "1.5", "--wavelength-nm", "600"]) == 0
    (row,) = rows(capsys)
    assert row["n"] == nanocrystal_film(0.3, 1.5, "ermolaev-o", "bruggeman").n_at(600.0).real


@pytest.mark.parametrize("argv, message", [
    (["cspbbr3-nc"], "--fill-fraction is required"),
    (["cspbbr3-nc", "--fill-fraction", "1.5"], "--fill-fraction 1.5: must be in (0, 1]"),
    (["cspbbr3-nc", "--fill-fraction", "0.4", "--bulk", "x"], "--bulk x: allowed"),
    (["silica", "--fill-fraction", "0.4"], "options of cspbbr3-nc"),
    # defect 11: outside the data it used to extrapolate without a word
    (["silica", "--wavelength-nm", "530", "8000"],
     "--wavelength-nm: material 'silica': wavelength 8000 nm is outside its data range 210–6700 nm"),
    (["cspbbr3-ermolaev-o", "--wavelength-nm", "450"], "'cspbbr3-ermolaev-o': wavelength 450 nm"),
])
def test_mistakes_exit_2_with_one_line(capsys, argv, message):
    assert main(["materials", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed before the check
    assert message in captured.err and captured.err.count("\n") == 1


def test_listing_names_ranges_and_sources(capsys):
    assert main(["materials"]) == 0
    listing = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for name, range_, source in (("silicon", "250-1450 nm", "Green"), ("sapphire", "200-5000 nm", "Malitson"),
                                 ("water", "182-1129 nm", "Daimon"), ("polystyrene", "436.8-1052 nm", "Sultanova"),
                                 ("pmma", "436.8-1052 nm", "Sultanova"), ("silica", "210-6700 nm", "Malitson")):
        assert range_ in listing[name] and source in listing[name]
    assert "--fill-fraction" in listing["cspbbr3-nc"]
