import ClaimlineWire

/// PROTOCOL.md 8.1's settings (``FailoverSettings`` in ClaimlineWire, shared with the CLI and
/// the load harness), by the client's name, so that an application that imports only
/// ClaimlineClient can make one for ``ClaimlineClientConfiguration/failover``.
public typealias ClaimlineFailoverSettings = FailoverSettings
