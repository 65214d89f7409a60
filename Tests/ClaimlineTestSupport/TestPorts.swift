#if canImport(Glibc)
    import Glibc
#endif

/// Loopback ports for tests that need one nobody answers on.
public enum TestPorts {
    /// A loopback port that was free a moment ago and has nothing listening now: a connection
    /// to it is refused at once (the kernel answers RST).
    public static func closedLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PortError(what: "socket", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PortError(what: "bind", errno: errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw PortError(what: "getsockname", errno: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public struct PortError: Error {
        public var what: String
        public var errno: Int32
    }
}
