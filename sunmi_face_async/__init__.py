"""sunmi-face-async."""
