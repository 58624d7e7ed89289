/** The OTLP/gRPC port (opentelemetry-proto). Its own module so that naming it does not load @grpc/grpc-js. */
export const DEFAULT_GRPC_PORT = 4317;
