"""torch_spline_conv 1.2.2's CPU kernels (csrc/cpu/basis_cpu.cpp, weighting_cpu.cpp) transcribed loop for loop
into plain Python / torch, as the independent oracle of meshgraph's spline ops and of PyG's SplineConv (whose
pyg-lib ops are absent here). Defined for pseudo >= 0 (torch_spline_conv truncates towards zero: (int64_t)v)."""

from __future__ import annotations

import math

import torch


def _forward_piece(v: float, k: int, degree: int) -> float:
    if degree == 1:
        return 1.0 - v - k + 2.0 * v * k
    if degree == 2:
        return (0.5 * v * v - v + 0.5, -v * v + v + 0.5, 0.5 * v * v)[k]
    return ((1.0 - v) ** 3 / 6.0, (3.0 * v**3 - 6.0 * v * v + 4.0) / 6.0,
            (-3.0 * v**3 + 3.0 * v * v + 3.0 * v + 1.0) / 6.0, v**3 / 6.0)[k]


def spline_basis(pseudo: torch.Tensor, kernel_size, is_open_spline, degree: int):
    """(basis (E, S) float64, weight_index (E, S) int64), computed in float64 as plain Python floats."""
    p = pseudo.double().tolist()
    ks = [int(k) for k in kernel_size]
    op = [int(o) for o in is_open_spline]
    D = len(ks)
    S = (degree + 1) ** D
    basis, index = [], []
    for row in p:
        b_row, i_row = [], []
        for s in range(S):
            k, wi, off, b = s, 0, 1, 1.0
            for d in range(D):
                k_mod = k % (degree + 1)
                k //= degree + 1
                v = row[d] * (ks[d] - degree * op[d])
                wi += ((int(v) + k_mod) % ks[d]) * off
                off *= ks[d]
                v -= math.floor(v)
                b *= _forward_piece(v, k_mod, degree)
            b_row.append(b)
            i_row.append(wi)
        basis.append(b_row)
        index.append(i_row)
    E = len(p)
    return (torch.tensor(basis, dtype=torch.float64).reshape(E, S),
            torch.tensor(index, dtype=torch.int64).reshape(E, S))


def spline_weighting(x: torch.Tensor, weight: torch.Tensor, basis: torch.Tensor, weight_index: torch.Tensor):
    """out[e, o] = sum_s sum_i basis[e, s] * x[e, i] * weight[weight_index[e, s], i, o] (per edge)."""
    return torch.einsum("es,ei,esio->eo", basis, x, weight[weight_index])
