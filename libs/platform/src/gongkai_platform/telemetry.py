"""One OpenTelemetry setup for every service, and trace context in and out of carriers."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# The W3C trace context header: the HTTP request's, the events table's, the Kafka record's.
TRACEPARENT = "traceparent"


def setup_telemetry(
    service_name: str,
    otlp_endpoint: str | None,
    *,
    log_level: str = "INFO",
    extra_processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Traces go to OTLP when an endpoint is configured, nowhere otherwise. Once per process:
    a second call (tests building several apps) returns the provider already set.

    Spans are batched; `OTEL_BSP_SCHEDULE_DELAY` (milliseconds) sets how often they are sent."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    logging.basicConfig(
        level=log_level, format=f"%(asctime)s {service_name} %(levelname)s %(name)s: %(message)s"
    )
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint}/v1/traces"))
        )
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    trace.set_tracer_provider(provider)
    return provider


def context_from(carrier: Mapping[str, str]) -> context.Context:
    return propagate.extract(dict(carrier))


def carrier_of(span: trace.Span) -> dict[str, str]:
    """The trace context headers that make `span` the parent of whatever receives them."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier
