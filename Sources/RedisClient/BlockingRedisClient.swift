import CLinux
import Glibc
import RESP

/// A plain blocking Redis connection for threads that may wait: the order export, the
/// `hometown orders` command, startup checks and tests. Not for event loops.
public final class BlockingRedisClient {
    private let fd: Int32
    private var decoder = RESPDecoder()

    /// Connects, authenticates and selects the database; throws `RedisError.notSent` when Redis
    /// cannot be reached within `timeout` seconds.
    public init(url: RedisURL, timeout: Double = 2) throws {
        let fd = hometown_socket_stream_blocking(AF_INET)
        guard fd >= 0 else { throw RedisError.notSent }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = url.port.bigEndian
        inet_pton(AF_INET, url.address, &remote.sin_addr)
        let result = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw RedisError.notSent
        }
        self.fd = fd
        for command in url.setupCommands { _ = try self.command(command) }
    }

    deinit { Glibc.close(self.fd) }

    /// Sends one command and waits for its reply. An error reply throws `RedisError.reply`.
    @discardableResult
    public func command(_ arguments: [String]) throws -> RESPValue {
        let value = try self.pipeline([arguments])[0]
        if case .error(let message) = value { throw RedisError.reply(message) }
        return value
    }

    /// Sends several commands in one write and returns their replies (error replies included).
    public func pipeline(_ commands: [[String]]) throws -> [RESPValue] {
        var bytes: [UInt8] = []
        for command in commands { RESPEncoder.appendCommand(command, to: &bytes) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(self.fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw RedisError.lost }
            offset += written
        }
        var replies: [RESPValue] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while replies.count < commands.count {
            do {
                while replies.count < commands.count, let value = try self.decoder.next() { replies.append(value) }
            } catch {
                throw RedisError.lost
            }
            if replies.count == commands.count { break }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(self.fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw RedisError.lost }
            buffer.withUnsafeBytes { self.decoder.feed(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
        return replies
    }
}
