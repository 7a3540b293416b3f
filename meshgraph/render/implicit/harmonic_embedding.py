"""NeRF's positional encoding and MIP-NeRF's integrated encoding (PyTorch3D's HarmonicEmbedding)."""

from __future__ import annotations

import math

import torch


class HarmonicEmbedding(torch.nn.Module):
    """x (..., dim) -> (..., dim * (2 * n_harmonic_functions + append_input)): for frequencies f_1..f_N
    (omega_0 * 2^i if logspace, else omega_0 * linspace(1, 2^(N-1), N)), the features are all sin(f_i x_d)
    (dim-major, frequency-minor), then all cos(f_i x_d), then x itself if append_input. With diag_cov (..., dim)
    each term is damped by exp(-f_i^2 diag_cov_d / 2) (the integrated encoding of a Gaussian with mean x).

    Same buffers as PyTorch3D (`_frequencies`, `_zero_half_pi`, non-persistent), so state_dicts match."""

    def __init__(
        self,
        n_harmonic_functions: int = 6,
        omega_0: float = 1.0,
        logspace: bool = True,
        append_input: bool = True,
    ) -> None:
        super().__init__()
        if logspace:
            frequencies = 2.0 ** torch.arange(n_harmonic_functions, dtype=torch.float32)
        else:
            frequencies = torch.linspace(1.0, 2.0 ** (n_harmonic_functions - 1), n_harmonic_functions,
                                         dtype=torch.float32)
        self.register_buffer("_frequencies", frequencies * omega_0, persistent=False)
        self.register_buffer("_zero_half_pi", torch.tensor([0.0, 0.5 * math.pi]), persistent=False)
        self.append_input = append_input

    def forward(self, x: torch.Tensor, diag_cov: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """x (..., dim), diag_cov (..., dim) or None -> (..., dim * (2 N + append_input))."""
        scaled = x[..., None] * self._frequencies                                  # (..., dim, N)
        # cos(t) = sin(t + pi / 2): one sin over the stacked (..., 2, dim, N) phases
        embed = torch.sin(scaled[..., None, :, :] + self._zero_half_pi[:, None, None])
        if diag_cov is not None:
            damp = torch.exp(-0.5 * diag_cov[..., None] * self._frequencies.square())  # (..., dim, N)
            embed = embed * damp[..., None, :, :]
        embed = embed.reshape(*x.shape[:-1], -1)
        return torch.cat([embed, x], dim=-1) if self.append_input else embed

    @staticmethod
    def get_output_dim_static(input_dims: int, n_harmonic_functions: int, append_input: bool) -> int:
        """The width of the output for inputs of width input_dims."""
        return input_dims * (2 * n_harmonic_functions + int(append_input))

    def get_output_dim(self, input_dims: int = 3) -> int:
        """The width of this embedding's output for inputs of width input_dims (3: points)."""
        return self.get_output_dim_static(input_dims, len(self._frequencies), self.append_input)


__all__ = ["HarmonicEmbedding"]
