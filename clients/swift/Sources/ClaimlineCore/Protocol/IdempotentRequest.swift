/// A write's request: it carries the key the client made once for this logical call and
/// sends unchanged on every retry (PROTOCOL.md 9.4). Conformances are generated for the
/// request of every write method of the `service` block.
public protocol IdempotentRequest {
    var idempotencyKey: String { get set }
}
