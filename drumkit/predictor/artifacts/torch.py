"""PyTorch: a whole pickled `nn.Module` or a TorchScript file (`.pth`, `.pt`), run in eval mode."""

from __future__ import annotations

import pickle
import sys
import zipfile
from pathlib import Path
from typing import Any

from drumkit.errors import ModelLoadError, PredictionError
from drumkit.predictor.artifacts import imported
from drumkit.predictor.targets import TargetType

NAME = "torch"
EXTRA = "torch"
EXTENSIONS = (".pth", ".pt")


def load(path: Path) -> Any:
    """Load a TorchScript archive or a pickled module; refuse weights alone (a state_dict)."""
    import torch

    if _is_torchscript(path):
        import warnings

        # TorchScript archives load only through torch.jit, which torch 2.9+ marks deprecated; the
        # warning asks the model's author to re-export, which a scoring run cannot do.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"`torch\.jit\.load` is deprecated", category=DeprecationWarning
            )
            model = torch.jit.load(str(path), map_location="cpu")
    else:
        model = _load_module(path)
    model.eval()
    return model


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _load_module(path: Path) -> Any:
    import torch

    # The safe loader first: if it succeeds the file holds only tensors and plain containers, not a model,
    # and arbitrary unpickling is never needed.
    try:
        weights = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        weights = None  # it holds classes beyond tensors: presumably a whole module, checked below
    else:
        what = "a state_dict (weights only)" if isinstance(weights, dict) else "weights only"
        raise ModelLoadError(_not_a_model(path, what))
    # A module class defined in a file beside the artifact must be importable, as with DRUM's code dir.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    model = torch.load(str(path), map_location="cpu", weights_only=False)
    if not isinstance(model, torch.nn.Module):
        raise ModelLoadError(_not_a_model(path, f"a {type(model).__name__}"))
    return model


def _not_a_model(path: Path, what: str) -> str:
    return (
        f"The artifact file {path.name} holds {what}, not a torch model. Save the whole module "
        "(torch.save(model, path)) or a TorchScript file (torch.jit.save(torch.jit.script(model), path)), "
        "or build the model in a custom.py load_model hook"
    )


def handles(model: Any) -> bool:
    """A torch `nn.Module` (TorchScript modules included)."""
    torch = imported("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def predict(model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
    """`model(float32 tensor)` without gradients; the output's columns carry no labels."""
    import numpy as np
    import torch

    if not (target_type.is_classification or target_type in (TargetType.REGRESSION, TargetType.ANOMALY)):
        raise PredictionError(f"Target type '{target_type}' is not supported by the torch predictor")
    inputs = torch.tensor(frame.to_numpy(dtype=np.float32))
    with torch.no_grad():
        output = model(inputs)
    if not isinstance(output, torch.Tensor):
        raise PredictionError(f"The torch model returned {type(output).__name__}, not a tensor")
    return output.detach().cpu().numpy(), None
