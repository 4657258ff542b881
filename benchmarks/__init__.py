"""Reproducible performance measurements of sunmi-face-async: ``python -m benchmarks``.

Scenarios: the client's own cost per request (``client_overhead``), requests per second
against a loopback server (``throughput``, server in ``server``), large-group export
(``export``) and memory while enrolling (``memory``). ``targets`` holds the issue's
thresholds, ``report`` and ``chart`` render RESULTS.md and the PNG.
"""
