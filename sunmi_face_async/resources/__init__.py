"""One class per API area; each method is one endpoint, typed in and typed out."""

from .faces import Faces
from .groups import Groups
from .hooks import Hooks

__all__ = ["Faces", "Groups", "Hooks"]
