import CLinux
import Glibc
import RESP
import Transport

/// A plain blocking Redis connection for threads that may wait: the order export, the
/// `hometown orders` command, startup checks and tests. Not for event loops.
public final class BlockingRedisClient {
    private let fd: Int32
    private var decoder = RESPDecoder()

    /// Connects, authenticates and selects the database; throws `RedisError.notSent` when Redis
    /// cannot be reached within `timeout` seconds.
    public init(url: RedisURL, timeout: Double = 2) throws {
        guard let fd = try? Socket.connect(host: url.address, port: url.port, nonBlocking: false, timeout: timeout) else {
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
