import RESP
import Transport

/// A `RedisConnection` usable from any thread: commands hop to the connection's loop, and the
/// completion runs there (callers hop back to their own loop with the result).
public final class RedisClient: Sendable {
    public let loop: EventLoop
    private let bound: LoopBound<RedisConnection>

    /// Creates the connection on `loop` (call before the loop runs, or on it) and starts it.
    public init(
        url: RedisURL, loop: EventLoop, mode: RedisConnection.Mode = .commands, name: String, options: RedisConnection.Options = .init()
    ) {
        self.loop = loop
        self.bound = loop.runAndWait {
            LoopBound(RedisConnection(url: url, loop: loop, mode: mode, name: name, options: options), loop: loop)
        }
    }

    /// The connection itself, on its loop.
    public var connection: RedisConnection { self.bound.value }

    public func start() { self.bound.withValueOnLoop { $0.start() } }
    public func stop() { self.bound.withValueOnLoop { $0.stop() } }

    /// Sends a command from any thread; `completion` runs on the connection's loop.
    public func send(_ arguments: [String], _ completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void) {
        self.bound.withValueOnLoop { $0.send(arguments, completion) }
    }
}
