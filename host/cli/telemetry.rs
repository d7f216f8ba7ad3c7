//! Traces to an OpenTelemetry collector over OTLP/HTTP (protobuf), when
//! `--otlp-endpoint` asks: one span per request (`warrant::request`) and
//! one per decision within it (`warrant::decision`), batched and sent from
//! a thread of their own. Off by default.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Where spans go: `endpoint` is the collector's base URL
/// (`http://collector:4318`), to which `/v1/traces` is added, or the full
/// URL of its traces.
pub fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let endpoint = endpoint.trim_end_matches('/');
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(format!(
            "`--otlp-endpoint`: `{endpoint}` is not an http:// or https:// URL"
        ));
    }
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/v1/traces")
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .with_headers(Default::default())
        .build()
        .map_err(|e| format!("`--otlp-endpoint`: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("warrant")
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build())
}

/// The layer that turns `warrant`'s spans into OpenTelemetry spans.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use tracing_subscriber::Layer as _;
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("warrant"))
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("warrant::request", tracing::Level::INFO)
                .with_target("warrant::decision", tracing::Level::INFO),
        )
}
