import Glibc
import Transport

/// One process per data directory. Two servers on one directory would each restore the stock and
/// sell it again — an oversell — so the first takes an exclusive `flock` on `hometown.lock` in the
/// directory (holding it for its life; the kernel drops it when the process dies, even by -9) and
/// writes its PID there, and any other is refused, naming that PID.
public final class DataDirectoryLock: Sendable {
    public static let fileName = "hometown.lock"

    public struct Held: Error, CustomStringConvertible {
        public let directory: String
        public let holder: String
        public var description: String {
            "data directory '\(self.directory)' is in use by process \(self.holder) (\(DataDirectoryLock.fileName)): one process per data directory"
        }
    }

    public let directory: String
    private let descriptor: LockedValue<Int32>

    public init(directory: String) throws {
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Held(directory: directory, holder: "? (cannot open \(path): \(String(cString: strerror(errno))))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let pid = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).split(separator: "\n").first.map(String.init)
            throw Held(directory: directory, holder: pid ?? "?")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.directory = directory
        self.descriptor = LockedValue(fd)
    }

    /// Lets the directory go (a server that stopped; the process may start another on it).
    public func release() {
        self.descriptor.withLock { fd in
            guard fd >= 0 else { return }
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    deinit { self.release() }
}
