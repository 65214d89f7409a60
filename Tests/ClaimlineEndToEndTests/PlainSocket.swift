import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking loopback TCP socket with bounded waits, for peers that misbehave on purpose:
/// one that sends and never reads, or that only holds a descriptor. Used by one thread at a time
/// (handed to it whole), hence the unchecked conformance.
final class PlainSocket: @unchecked Sendable {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`; `sendTimeoutMs` bounds each `send`.
    init(port: Int, sendTimeoutMs: Int = 100) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTP.HTTPError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: sendTimeoutMs / 1000, tv_usec: (sendTimeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var receive = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw HTTP.HTTPError("connect to \(port): \(errno)")
        }
        self.fd = fd
    }

    deinit { if self.open { close(self.fd) } }

    private var open = true

    /// Closes with `SO_LINGER` 0: the kernel sends RST and drops what was not sent.
    func reset() {
        guard self.open else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(self.fd)
        self.open = false
    }

    /// Sends what the socket takes within the send timeout; the bytes sent.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Int {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { break }
            sent += count
        }
        return sent
    }

    /// What arrives until it ends with `suffix`, the peer closes, or 5 s pass without a byte.
    func receive(until suffix: String) -> [UInt8] {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let end = Array(suffix.utf8)
        while !data.ends(with: end) {
            let count = recv(self.fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return data
    }

    /// At least `count` bytes, unless the peer closes or 5 s pass without a byte.
    func receive(atLeast count: Int) -> [UInt8] {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while data.count < count {
            let got = recv(self.fd, &chunk, chunk.count, 0)
            if got <= 0 { break }
            data.append(contentsOf: chunk[0..<got])
        }
        return data
    }

    /// Everything that arrives until the peer closes or 5 s pass without a byte.
    func receiveAll() -> [UInt8] {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(self.fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return data
    }

    /// The preface and a HELLO with `token`, as one write.
    static func hello(token: String) -> [UInt8] {
        var buffer = ByteBuffer()
        Preface().write(to: &buffer)
        try! buffer.writeFrame(type: .hello, method: 0, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            try Hello(clientName: "plain", token: token).encode(into: &out, arena: ProtoArena())
        }
        return Array(buffer.readableBytesView)
    }

    /// A REQUEST frame of `method` on `streamID` with `message`.
    static func request<M: ProtobufCMessage>(_ method: Method, streamID: UInt32, timeoutMs: UInt32 = 30_000, _ message: M) -> [UInt8] {
        var buffer = ByteBuffer()
        try! buffer.writeFrame(type: .request, method: method.rawValue, streamID: streamID) {
            (out: inout ByteBuffer) throws(CodecError) -> Int in
            out.writeInteger(timeoutMs) + (try message.encode(into: &out, arena: ProtoArena()))
        }
        return Array(buffer.readableBytesView)
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool {
        self.count >= suffix.count && Array(self[(self.count - suffix.count)...]) == suffix
    }
}
