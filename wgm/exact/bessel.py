"""Overflow-free cylinder and Riccati–Bessel functions of large order and complex argument.

The exact solver never needs a Bessel function itself, only

* its logarithmic derivative ``D_k(z) = f_k'(z) / f_k(z)``, and
* its logarithm ``L_k(z) = log f_k(z)`` (complex; only differences and ``exp`` of
  differences are used, so the branch does not matter),

for orders ``k`` up to a few thousand and arguments ``z`` near the turning point
``z ≈ k``, where ``J_k`` underflows and ``Y_k`` overflows double precision.  Both are
built from order-ratios ``R_k = f_{k-1} / f_k`` obtained by three-term recurrences run
in the stable direction:

* regular functions (``ψ_k = z j_k`` for spheres, ``J_k`` for cylinders): downward
  (Miller) recurrence started well above ``max(k, |z|)``;
* irregular (``χ_k = -z y_k``, ``Y_k``), outgoing (``ξ_k = z h_k^(1)``, ``H_k^(1)``) and
  incoming (``z h_k^(2)``, ``H_k^(2)``) functions: upward recurrence from closed forms at
  order 0.

Because the ratios are carried as complex numbers with separate real and imaginary
parts, the tiny imaginary parts that set the Q of a whispering-gallery mode keep
their *relative* precision, which is what lets double precision resolve Q far beyond
``1e13`` for a homogeneous resonator.

Conventions: ``f_{k+1} = c_k f_k - f_{k-1}`` with ``c_k = 2 (k + offset) / z``;
``offset = 1/2`` for Riccati–Bessel functions (spheres, ``ν = l + 1/2``) and ``0`` for
cylinder functions (2-D disks and rings).  In both cases ``f_k' = f_{k-1} - (k/z) f_k``
so ``D_k = R_k - k/z``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["SPHERE", "CYLINDER", "KINDS", "evaluate", "regular", "irregular", "outgoing", "incoming"]

SPHERE = 0.5
"""Order offset of Riccati–Bessel functions (sphere: ``ν = l + 1/2``)."""
CYLINDER = 0.0
"""Order offset of cylinder functions (2-D limit: ``ν = m``)."""

_BIG_IMAG = 300.0  # |Im z| above which sin/cos are evaluated in factored (overflow-free) form


def _log_sin(z: np.ndarray) -> np.ndarray:
    """log(sin z), keeping the relative precision of tiny imaginary parts near the real axis."""
    out = np.empty_like(z)
    small = np.abs(z.imag) < _BIG_IMAG
    out[small] = np.log(np.sin(z[small]))
    zb = z[~small]
    up = zb.imag > 0  # sin z = e^{-iz} (e^{2iz} - 1) / (2i)
    out_b = np.where(
        up,
        -1j * zb + np.log((np.exp(2j * np.where(up, zb, 0)) - 1.0) / 2j),
        1j * zb + np.log((1.0 - np.exp(-2j * np.where(up, 0, zb))) / 2j),
    )
    out[~small] = out_b
    return out


def _log_cos(z: np.ndarray) -> np.ndarray:
    """log(cos z), overflow-free for large |Im z|."""
    out = np.empty_like(z)
    small = np.abs(z.imag) < _BIG_IMAG
    out[small] = np.log(np.cos(z[small]))
    zb = z[~small]
    up = zb.imag > 0  # cos z = e^{-iz} (e^{2iz} + 1) / 2
    out_b = np.where(
        up,
        -1j * zb + np.log((np.exp(2j * np.where(up, zb, 0)) + 1.0) / 2),
        1j * zb + np.log((1.0 + np.exp(-2j * np.where(up, 0, zb))) / 2),
    )
    out[~small] = out_b
    return out


def _clog(z: np.ndarray) -> np.ndarray:
    """Complex logarithm as ``log|z| + i arg z``: the recurrences' dominant cost, and this is
    several times faster than ``np.log`` on complex arrays.  It agrees with ``np.log`` to an
    ulp of ``max(1, |log z|)`` (the real part loses the *relative* precision of ``log|z|``
    near ``|z| = 1``, which no caller uses: the logs are summed and differenced)."""
    out = np.empty(z.shape, dtype=complex)
    np.log(np.abs(z), out=out.real)
    np.arctan2(z.imag, z.real, out=out.imag)
    return out


KINDS = ("regular", "irregular", "outgoing", "incoming")
"""ψ/J (regular), χ/Y (irregular), ξ/H⁽¹⁾ (outgoing), z h⁽²⁾/H⁽²⁾ (incoming)."""


class _Recorder:
    """Collects the order-ratio (all points) and the log-amplitude (the first ``n_log``
    points) at the requested orders while a recurrence runs.

    ``orders`` is either one order per point (shape ``(P,)``; results have shape ``(P,)``)
    or, with ``table``, a contiguous range (results have shape ``(len(orders), P)``).

    The recurrences carry ``log f_k`` as ``base ± log(block)`` (a running sum of logs and
    a partial product of ratios; ``combine`` is ``np.add`` or ``np.subtract``).  Complex
    logs are the dominant cost, so they are taken only where needed: for one order per
    point, only at the points recorded at that order; for a table, all at once in
    :meth:`finish`.
    """

    def __init__(self, P: int, n_log: int, orders: np.ndarray, table: bool, combine):
        self.table, self.n_log, self.combine = table, n_log, combine
        if table:
            self.k_lo = int(orders[0])
            if not np.array_equal(orders, np.arange(self.k_lo, self.k_lo + len(orders))):
                raise ValueError("table orders must be a contiguous increasing range")
            shape, shape_log = (len(orders), P), (len(orders), n_log)
            self.block = np.empty(shape_log, dtype=complex)
        else:
            if orders.shape != (P,):
                raise ValueError(f"orders shape {orders.shape} differs from z shape {(P,)}")
            shape, shape_log = (P,), (n_log,)
            uniq, inverse = np.unique(orders, return_inverse=True)
            self.groups = {}
            for i, u in enumerate(uniq):
                idx = np.nonzero(inverse == i)[0]
                self.groups[int(u)] = (idx, idx[idx < n_log])
        self.ratio = np.full(shape, np.nan + 0j)
        self.log = np.full(shape_log, np.nan + 0j)
        self.k_min, self.k_max = int(np.min(orders)), int(np.max(orders))

    def wants(self, k: int) -> bool:
        if self.table:
            return self.k_min <= k <= self.k_max
        return k in self.groups

    def record(self, k: int, ratio: np.ndarray, base: np.ndarray, block: np.ndarray) -> None:
        if self.table:
            row = k - self.k_lo
            self.ratio[row] = ratio
            self.log[row] = base
            self.block[row] = block
        else:
            idx, idx_log = self.groups[k]
            self.ratio[idx] = ratio[idx]
            self.log[idx_log] = self.combine(base[idx_log], _clog(block[idx_log]))

    def finish(self) -> np.ndarray:
        """The log-amplitudes at the recorded orders."""
        if self.table:
            self.combine(self.log, _clog(self.block), out=self.log)
            del self.block
        return self.log


def _log_f0(kind: str, z: np.ndarray, offset: float) -> np.ndarray:
    """log f_0(z) from closed forms (sphere) or scaled scipy functions (cylinder)."""
    if offset == SPHERE:
        return {"regular": _log_sin, "irregular": _log_cos,
                "outgoing": lambda z: 1j * z - 0.5j * np.pi,
                "incoming": lambda z: -1j * z + 0.5j * np.pi}[kind](z)
    return {"regular": lambda z: np.log(special.jve(0, z)) + np.abs(z.imag),
            "irregular": lambda z: np.log(special.yve(0, z)) + np.abs(z.imag),
            "outgoing": lambda z: np.log(special.hankel1e(0, z)) + 1j * z,
            "incoming": lambda z: np.log(special.hankel2e(0, z)) - 1j * z}[kind](z)


def _ratio0(kind: str, z: np.ndarray, offset: float) -> np.ndarray:
    """f_{-1}(z) / f_0(z) for the upward recurrences."""
    if offset == SPHERE:
        return {"irregular": lambda z: -np.tan(z),
                "outgoing": lambda z: np.full_like(z, 1j),
                "incoming": lambda z: np.full_like(z, -1j)}[kind](z)
    return {"irregular": lambda z: -special.yve(1, z) / special.yve(0, z),
            "outgoing": lambda z: -special.hankel1e(1, z) / special.hankel1e(0, z),
            "incoming": lambda z: -special.hankel2e(1, z) / special.hankel2e(0, z)}[kind](z)


def evaluate(requests, orders, offset: float, *, table: bool = False):
    """Log-derivatives (and, where asked, logarithms) of several kinds of functions at once.

    All regular requests share one downward recurrence and all others one upward
    recurrence: the cost is per order, almost independent of the number of points.

    Parameters
    ----------
    requests : list of (kind, z, want_log)
        ``kind`` in :data:`KINDS`; ``z`` complex arrays, all of the same shape ``(P,)``;
        ``want_log`` whether ``log f_k(z)`` is needed (it costs a complex log per order).
    orders : int array
        One order per point (shape ``(P,)``), or a contiguous range with ``table``.
    offset : float
        :data:`SPHERE` or :data:`CYLINDER`.
    table : bool
        Results for every order of the range at every point, shape ``(len(orders), P)``.

    Returns
    -------
    list of (D, L)
        In the order of ``requests``; ``L`` is ``None`` where not asked for.
    """
    orders = np.asarray(orders)
    if orders.size and (not np.issubdtype(orders.dtype, np.integer) or np.any(orders < 0)):
        raise ValueError("orders must be non-negative integers")
    orders = orders.astype(int)
    results = [None] * len(requests)
    for downward in (True, False):
        sel = [i for i, r in enumerate(requests) if (r[0] == "regular") == downward]
        if not sel:
            continue
        for i in sel:
            if requests[i][0] not in KINDS:
                raise ValueError(f"unknown kind {requests[i][0]!r}; allowed: {KINDS}")
        # log-wanted segments first, so the log work runs on one contiguous slice
        sel.sort(key=lambda i: not requests[i][2])
        zs = [np.asarray(requests[i][1], dtype=complex) for i in sel]
        P = zs[0].shape[0]
        n_log = P * sum(1 for i in sel if requests[i][2])
        z = np.concatenate(zs)
        ords = orders if table else np.tile(orders, len(sel))
        if downward:
            D, L = _downward(z, ords, offset, table, n_log)
        else:
            r0 = np.concatenate([_ratio0(requests[i][0], zz, offset) for i, zz in zip(sel, zs)])
            lf0 = (np.concatenate([_log_f0(requests[i][0], zz, offset) for i, zz in list(zip(sel, zs))[: n_log // P]])
                   if n_log else np.zeros(0, complex))
            D, L = _upward(z, ords, offset, table, r0, lf0, n_log)
        for j, i in enumerate(sel):
            Dj = D[..., j * P:(j + 1) * P]
            Lj = L[..., j * P:(j + 1) * P] if requests[i][2] else None
            results[i] = (Dj, Lj)
    return results


_BLOCK = 8  # orders per complex log: the ratios are multiplied in blocks, then one log is taken


def _downward(z, orders, offset, table, n_log):
    rec = _Recorder(len(z), n_log, orders, table, np.add)
    az = np.abs(z)
    # Start far enough above both the order and |z| that the dominant (irregular)
    # contamination has decayed below double precision.
    k_top = int(np.ceil(max(rec.k_max, float(az.max(initial=0.0)))
                        + 10.0 * float(az.max(initial=1.0)) ** (1 / 3) + 30))
    with np.errstate(all="ignore"):
        inv_z = 1.0 / z
        s = 2.0 * (k_top + offset) * inv_z  # s_k = f_{k-1}/f_k ≈ c_k at the top
        inv_s = np.empty_like(s)
        acc = np.zeros(n_log, dtype=complex)  # Σ_{j>k} log s_j = acc + log(block)
        block = np.ones(n_log, dtype=complex)
        n_block = 0
        for k in range(k_top - 1, -1, -1):
            # s = c_k - 1/s, in place (the recorder copies what it keeps)
            np.divide(1.0, s, out=inv_s)
            np.multiply(2.0 * (k + offset), inv_z, out=s)
            s -= inv_s
            if rec.wants(k):
                rec.record(k, s, acc, block)
            if k >= 1 and n_log:
                block *= s[:n_log]
                n_block += 1
                if n_block == _BLOCK:
                    acc += _clog(block)
                    block[:] = 1.0
                    n_block = 0
        acc += _clog(block)
        D = rec.ratio - _k_column(orders, table) * inv_z
        L = rec.finish()
        if n_log:
            log_f0 = _log_f0("regular", z[:n_log], offset)
            L = log_f0 - (acc - L)  # log f_k = log f_0 − Σ_{j=1..k} log s_j
    return D, _pad(L, D.shape)


def _upward(z, orders, offset, table, r0, log_f0, n_log):
    rec = _Recorder(len(z), n_log, orders, table, np.subtract)
    with np.errstate(all="ignore"):
        inv_z = 1.0 / z
        r = np.array(r0, dtype=complex)
        logf = log_f0.copy()  # log f_k = logf − log(block)
        block = np.ones(n_log, dtype=complex)
        n_block = 0
        if rec.wants(0):
            rec.record(0, r, logf, block)
        for k in range(0, rec.k_max):
            # r_{k+1} = f_k / f_{k+1} = 1 / (c_k - r_k), in place
            np.subtract(2.0 * (k + offset) * inv_z, r, out=r)
            np.divide(1.0, r, out=r)
            if n_log:
                block *= r[:n_log]
                n_block += 1
            if rec.wants(k + 1):
                rec.record(k + 1, r, logf, block)
            if n_block == _BLOCK:
                logf -= _clog(block)
                block[:] = 1.0
                n_block = 0
        D = rec.ratio - _k_column(orders, table) * inv_z
    return D, _pad(rec.finish(), D.shape)


def _k_column(orders, table):
    return orders.astype(float)[:, None] if table else orders.astype(float)


def _pad(L, shape):
    """Widen the log array (first n_log points) to the full point axis with NaN."""
    if L.shape == shape:
        return L
    out = np.full(shape, np.nan + 0j)
    out[..., : L.shape[-1]] = L
    return out


def _single(kind):
    def fn(z, orders, offset: float, *, table: bool = False):
        z = np.asarray(z, dtype=complex)
        shape = z.shape
        zf = z.ravel()
        o = np.asarray(orders)
        if not table:
            o = np.broadcast_to(o, shape).ravel()
        (D, L), = evaluate([(kind, zf, True)], o, offset, table=table)
        out_shape = (D.shape[0],) + shape if table else shape
        return D.reshape(out_shape), L.reshape(out_shape)

    fn.__name__ = kind
    fn.__doc__ = f"""Log-derivative ``D`` and logarithm ``L`` of the {kind} function of order ``k``.

    ``regular``: ψ_k = z j_k (offset 1/2) or J_k (offset 0); ``irregular``: χ_k = −z y_k or Y_k;
    ``outgoing``: ξ_k = z h_k⁽¹⁾ or H_k⁽¹⁾; ``incoming``: z h_k⁽²⁾ or H_k⁽²⁾.

    Parameters
    ----------
    z : complex array
    orders : int array
        One order per point (broadcast to ``z``), or a contiguous range with ``table``.
    offset : float
        :data:`SPHERE` or :data:`CYLINDER`.
    table : bool
        Every order of the range at every point: shape ``(len(orders),) + z.shape``.
    """
    return fn


regular = _single("regular")
irregular = _single("irregular")
outgoing = _single("outgoing")
incoming = _single("incoming")
