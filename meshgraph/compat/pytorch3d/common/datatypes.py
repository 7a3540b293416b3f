"""`pytorch3d.common.datatypes` mirror: the Device alias and its helpers."""

from __future__ import annotations

from typing import Union

import torch

from ....transforms.transform3d import _device

Device = Union[str, torch.device]


def make_device(device: Device) -> torch.device:
    """torch.device of `device` ("cuda" without an index: the current CUDA device)."""
    return _device(device)


def get_device(x, device: Device | None = None) -> torch.device:
    """`device` if given, else the device of tensor x, else the CPU."""
    return _device(device, x)
