import ClaimlineWire

/// One claimlined instance a client may talk to: `host:port` (``ServerAddress``, shared with
/// the load harness). Several instances share one database, so a client is given a list of them
/// and moves between them when one fails (``ClaimlineClientConfiguration/addresses``).
public typealias ClaimlineAddress = ServerAddress
