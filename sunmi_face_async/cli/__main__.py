"""``python -m sunmi_face_async.cli``: the same as the ``sunmi-face`` console script."""

from . import main

main()
