import ClaimlineWire

/// One claimlined instance the harness drives: `host:port` (``ServerAddress``, parsed and
/// printed as the clients do). A run may be given several (the instances of one deployment);
/// its connections are spread over them.
public typealias LoadTarget = ServerAddress
