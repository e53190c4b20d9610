"""Asymptotic formulas against Table S (their own columns) and against the exact solver."""

from __future__ import annotations

import pytest

from conftest import TABLE_S
from wgm.exact import asymptotic

# Table S prints the LLY and Schiller-9 values with 10 and 12 significant digits: a correct
# implementation of the same formulas reproduces them to that printing precision.
LLY_ABS_TOL = 2e-8
SCHILLER_ABS_TOL = 2e-10


@pytest.mark.parametrize("m, pol, l, q, re_x, im_x, Q, lly, sch", TABLE_S,
                         ids=[f"m{r[0]}-{r[1]}-l{r[2]}-q{r[3]}" for r in TABLE_S])
def test_formulas_reproduce_table_columns(m, pol, l, q, re_x, im_x, Q, lly, sch):
    assert float(asymptotic.lly(l + 0.5, q, m, pol)) == pytest.approx(lly, abs=LLY_ABS_TOL)
    assert float(asymptotic.schiller(l + 0.5, q, m, pol)) == pytest.approx(sch, abs=SCHILLER_ABS_TOL)


def test_lly_error_shrinks_as_in_notes():
    """Notes §1.4: LLY error in x for m = 1.45, q = 1, TE: 0.060 (l=20), 0.0104 (50), 0.0034 (100)."""
    rows = {r[2]: r for r in TABLE_S if r[0] == 1.45 and r[1] == "TE" and r[3] == 1}
    errs = [abs(float(asymptotic.lly(l + 0.5, 1, 1.45, "TE")) - rows[l][4]) for l in (20, 50, 100)]
    assert errs == pytest.approx([0.060, 0.0104, 0.0034], rel=0.03)


def test_nu_inverse_term_improves_lly():
    """The ν^-1 term (Schiller's d3) brings LLY closer to the exact roots for l ≥ 20."""
    for r in TABLE_S:
        m, pol, l, q, re_x = r[:5]
        if l >= 20 and q == 1:
            five = abs(float(asymptotic.lly(l + 0.5, q, m, pol)) - re_x)
            six = abs(float(asymptotic.lly(l + 0.5, q, m, pol, nu_inverse_term=True)) - re_x)
            assert six < five, r


def test_airy_zeros():
    assert asymptotic.airy_zero(1) == pytest.approx(2.338107410, abs=1e-9)
    assert asymptotic.airy_zero(3) == pytest.approx(5.520559828, abs=1e-9)


def test_fsr_estimate_bracket_matches_notes():
    """Notes §5.4: R = 5 µm, n = 1.46, TE1, l ≈ 79: the bracket is 1.0326."""
    naive = asymptotic.fsr_estimate(5.0, 540.0, 1.46, 1e12)
    assert asymptotic.fsr_estimate(5.0, 540.0, 1.46, 79.5) / naive == pytest.approx(1.0326, abs=2e-4)


def test_bad_polarization():
    with pytest.raises(ValueError, match="polarization"):
        asymptotic.lly(10.5, 1, 1.45, "Ez")
