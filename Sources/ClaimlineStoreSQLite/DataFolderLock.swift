import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One process per data folder: an exclusive `flock` on `claimlined.lock` in it, held for the
/// process's life (the kernel releases it when the process ends, however it ends).
///
/// Two writers on one SQLite file would each believe they number claims alone: the second
/// would take numbers the first already gave, and the first would then fail-stop on a UNIQUE
/// constraint. So the second process must not start at all; the first is never touched.
public final class DataFolderLock {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock, or throws ``Busy`` naming the process that holds it.
    public init(folder: String) throws {
        self.path = URL(fileURLWithPath: folder).appendingPathComponent("claimlined.lock").path
        let fd = open(self.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(path: self.path, why: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let why = errno
            let holder = Self.readHolder(fd)
            close(fd)
            if why == EWOULDBLOCK { throw Busy(path: self.path, holder: holder) }
            throw Failure(path: self.path, why: String(cString: strerror(why)))
        }
        self.descriptor = fd
        // Who holds it, for the message a second process prints (advice only: the lock is the flock).
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        close(self.descriptor)
    }

    private static func readHolder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count - 1, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Another process holds the folder.
    public struct Busy: Error, CustomStringConvertible {
        public var path: String
        public var holder: Int32?
        public var description: String {
            "the data folder is in use by another claimlined (\(self.holder.map { "pid \($0)" } ?? "pid unknown"), lock \(self.path)); "
                + "one process per data folder: stop it first or use another --data-dir"
        }
    }

    /// The lock file could not be opened or locked (permissions, a read-only folder).
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var why: String
        public var description: String { "cannot lock \(self.path): \(self.why)" }
    }
}
