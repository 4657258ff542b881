"""An in-memory recorder of the OpenTelemetry spans this process makes (the SDK, from the
test extra), shared by the test modules that look at spans."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def span_recorder() -> InMemorySpanExporter:
    """A new exporter fed every span from now on (the process's provider is set only once:
    the first caller sets it, later ones add their processor to it)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
