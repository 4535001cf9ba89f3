"""The GIL effects model: which callables are CPU-bound Python work, and which wait or release the GIL."""

from gillint.effects.model import Effects, EffectsModel, Evidence
from gillint.effects.tables import Effect, Knowledge

__all__ = ["Effect", "Effects", "EffectsModel", "Evidence", "Knowledge"]
