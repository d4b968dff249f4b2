"""Device and precision selection shared by every model (``device: auto`` in the config)."""

from __future__ import annotations

import contextlib

import torch


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cpu``; ``cuda`` / ``cuda:N`` (error if absent)."""
    spec = (spec or "auto").lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{spec}' was requested but CUDA is not available on this machine; "
                           "set device: auto or device: cpu in the config")
    return torch.device(spec)


def use_amp(precision: str, device: torch.device) -> bool:
    """Mixed precision only on CUDA; ``amp`` on CPU silently means fp32."""
    if precision not in ("fp32", "amp"):
        raise ValueError(f"precision must be fp32 or amp, got '{precision}'")
    return precision == "amp" and device.type == "cuda"


def autocast(enabled: bool, device: torch.device):
    """An autocast context for ``device`` (float16 on CUDA) or a no-op."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.float16)


def grad_scaler(enabled: bool):
    """A GradScaler for fp16 training on CUDA; disabled (pass-through) otherwise."""
    return torch.amp.GradScaler("cuda", enabled=enabled)
