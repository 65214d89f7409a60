/// The admin listener's settings: where it listens (HTTP/1.1, for operators and their tools,
/// never the service port) and where the metrics text comes from. The executable passes the
/// Prometheus registry's output; the library only records through swift-metrics.
public struct AdminEndpoint: Sendable {
    public var host: String
    public var port: Int
    /// The registry's metrics in the Prometheus text format (process metrics are added here).
    public var metrics: @Sendable () -> [UInt8]

    public init(host: String, port: Int, metrics: @escaping @Sendable () -> [UInt8]) {
        self.host = host
        self.port = port
        self.metrics = metrics
    }
}
