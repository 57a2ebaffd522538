import CLinux
import Glibc
import RESP
import Transport

/// One connection to Redis, run by one of our event loops (the same epoll loops as the
/// WebSockets; no thread of its own). Loop-confined: use `RedisClient` from other threads.
///
/// - Pipelines: a command is written as soon as it is sent; replies complete the waiting
///   commands in order (Redis answers in order on a connection).
/// - Bounded: at most `maxPending` commands wait for replies; more are refused (`overloaded`)
///   rather than queued without end.
/// - Timeouts: when the oldest command has waited `timeout`, the connection is dropped and every
///   waiting command fails as `lost` (it may have run: callers that write durable state treat
///   that as "unknown", never as "not done").
/// - Authenticates (AUTH), selects the database, and is ready only after a PING answers.
/// - Reconnects by itself with exponential backoff and jitter; while it is down, commands fail
///   at once as `notSent` (a buyer hears `unavailable` now, not after a queue drains later).
/// - Subscriber mode: the same connection speaks pub/sub; channels are re-subscribed after each
///   reconnect, and messages go to `onMessage`.
public final class RedisConnection: ConnectionHandler {
    public struct Options: Sendable {
        public var timeout: UInt64 = 2_000_000_000
        public var maxPending = 100_000
        public var backoffBase: UInt64 = 50_000_000
        public var backoffMax: UInt64 = 2_000_000_000
        public init() {}
    }

    public enum Mode: Sendable {
        case commands
        case subscriber
    }

    public typealias Completion = (Result<RESPValue, RedisError>) -> Void

    public let url: RedisURL
    public let loop: EventLoop
    public let options: Options
    public let mode: Mode
    public let name: String

    /// Called on the loop after every successful (re)connect.
    public var onReady: (() -> Void)?
    /// Called on the loop when a ready connection is lost.
    public var onDown: (() -> Void)?
    /// Subscriber mode: a message on a subscribed channel (channel, payload).
    public var onMessage: ((String, [UInt8]) -> Void)?

    private var connection: Connection?
    private var decoder = RESPDecoder()
    private var pending: [(sentAt: UInt64, completion: Completion)] = []
    private var pendingHead = 0
    public private(set) var isReady = false
    private var failedAttempts = 0
    private var stopped = false
    private var connectStartedAt: UInt64 = 0
    private var random = SystemRandomNumberGenerator()
    /// Subscriber mode: channels wanted, and callbacks waiting for a channel's confirmation.
    private var channels: Set<String> = []
    private var confirmations: [String: [() -> Void]] = [:]

    public init(url: RedisURL, loop: EventLoop, mode: Mode = .commands, name: String = "redis", options: Options = Options()) {
        self.url = url
        self.loop = loop
        self.mode = mode
        self.name = name
        self.options = options
    }

    public var pendingCount: Int { self.pending.count - self.pendingHead }

    // MARK: - Life

    /// Connects (and keeps reconnecting until `stop`). On the loop.
    public func start() {
        self.loop.assertInLoop()
        self.stopped = false
        self.connect()
    }

    public func stop() {
        self.loop.assertInLoop()
        self.stopped = true
        self.connection?.abort()
    }

    private func connect() {
        guard !self.stopped, self.connection == nil else { return }
        guard let fd = try? Socket.connect(host: self.url.address, port: self.url.port, nonBlocking: true) else {
            return self.scheduleReconnect()
        }
        self.connectStartedAt = self.loop.now
        self.decoder = RESPDecoder()
        let connection = self.loop.adopt(fd: fd) { _ in self }
        // Replies are read however much we have written: a large pipeline must not pause reading.
        connection.limits = OutboundLimits(lowWaterMark: 8 << 20, highWaterMark: 16 << 20, hardLimit: 64 << 20)
        self.connection = connection
        // The handshake: AUTH and SELECT if configured, then PING; ready when PING answers.
        for command in self.url.setupCommands {
            self.write(command) { [unowned self] result in
                if case .failure(let error) = result, case .reply(let message) = error {
                    Self.log("\(self.name): Redis refused '\(command[0])': \(message)")
                    self.connection?.abort()
                }
            }
        }
        self.write(["PING"]) { [unowned self] result in
            guard case .success = result else { return }
            self.failedAttempts = 0
            self.isReady = true
            if self.mode == .subscriber && !self.channels.isEmpty { self.write(["SUBSCRIBE"] + self.channels.sorted(), nil) }
            self.onReady?()
        }
    }

    private func scheduleReconnect() {
        guard !self.stopped else { return }
        // Exponential backoff with full jitter: nodes that lost Redis together do not come back
        // in step.
        let delay = Backoff.delay(
            attempt: min(self.failedAttempts, 16), base: self.options.backoffBase, max: self.options.backoffMax, using: &self.random)
        self.failedAttempts += 1
        self.loop.schedule(after: delay) { [weak self] in
            self?.connect()
        }
    }

    // MARK: - Commands

    /// Sends one command; `completion` runs on the loop with its reply. Never waits: while the
    /// connection is not ready the command fails as `notSent`.
    public func send(_ arguments: [String], _ completion: @escaping Completion) {
        self.loop.assertInLoop()
        guard self.isReady, self.connection != nil else { return completion(.failure(.notSent)) }
        guard self.pendingCount < self.options.maxPending else { return completion(.failure(.overloaded)) }
        self.write(arguments, completion)
    }

    private func write(_ arguments: [String], _ completion: Completion?) {
        guard let connection = self.connection else {
            completion?(.failure(.notSent))
            return
        }
        var bytes: [UInt8] = []
        RESPEncoder.appendCommand(arguments, to: &bytes)
        connection.enqueue(bytes, force: true)
        // Subscription commands are answered by pushes, not in the reply queue.
        if self.mode == .subscriber && (arguments[0] == "SUBSCRIBE" || arguments[0] == "UNSUBSCRIBE") { return }
        self.pending.append((self.loop.now, completion ?? { _ in }))
    }

    /// Subscriber mode: listens on `channel`; `confirmed` runs once Redis has confirmed it (from
    /// then on every message published to it reaches `onMessage`).
    public func subscribe(_ channel: String, confirmed: (() -> Void)? = nil) {
        self.loop.assertInLoop()
        precondition(self.mode == .subscriber, "subscribe on a command connection")
        if let confirmed { self.confirmations[channel, default: []].append(confirmed) }
        guard self.channels.insert(channel).inserted else {
            // Already subscribed: confirmed now unless a confirmation is still on its way.
            if self.isReady && self.confirmations[channel]?.count == 1 { self.confirm(channel) }
            return
        }
        if self.isReady { self.write(["SUBSCRIBE", channel], nil) }
    }

    public func unsubscribe(_ channel: String) {
        self.loop.assertInLoop()
        guard self.channels.remove(channel) != nil else { return }
        self.confirmations[channel] = nil
        if self.isReady { self.write(["UNSUBSCRIBE", channel], nil) }
    }

    private func confirm(_ channel: String) {
        guard let waiting = self.confirmations.removeValue(forKey: channel) else { return }
        for callback in waiting { callback() }
    }

    // MARK: - ConnectionHandler

    public func connectionReceived(_ connection: Connection, bytes: UnsafeMutableRawBufferPointer) {
        self.decoder.feed(UnsafeRawBufferPointer(bytes))
        do {
            while let value = try self.decoder.next() { self.dispatch(value) }
        } catch {
            Self.log("\(self.name): bad reply from Redis (\(error.message)); reconnecting")
            connection.abort()
        }
    }

    private func dispatch(_ value: RESPValue) {
        if self.mode == .subscriber, let parts = value.array, let kind = parts.first?.string {
            switch kind {
            case "message":
                if parts.count == 3, let channel = parts[1].string, case .bulkString(let payload?) = parts[2] {
                    self.onMessage?(channel, payload)
                }
                return
            case "subscribe":
                if parts.count >= 2, let channel = parts[1].string { self.confirm(channel) }
                return
            case "unsubscribe":
                return
            default:
                break  // ["pong", ""]: a reply in the queue
            }
        }
        guard self.pendingHead < self.pending.count else {
            Self.log("\(self.name): a reply nobody asked for; reconnecting")
            self.connection?.abort()
            return
        }
        let completion = self.pending[self.pendingHead].completion
        self.pendingHead += 1
        if self.pendingHead == self.pending.count {
            self.pending.removeAll(keepingCapacity: true)
            self.pendingHead = 0
        } else if self.pendingHead > 4096 && self.pendingHead * 2 > self.pending.count {
            self.pending.removeFirst(self.pendingHead)
            self.pendingHead = 0
        }
        if case .error(let message) = value {
            completion(.failure(.reply(message)))
        } else {
            completion(.success(value))
        }
    }

    public func connectionOverflowed(_ connection: Connection) {
        Self.log("\(self.name): more than 64 MiB of commands unwritten; reconnecting")
        connection.abort()
    }

    /// About once a second: a command (or the connect) that waited too long drops the connection;
    /// a quiet connection is pinged, so a Redis that stopped answering is noticed within
    /// `timeout` even when nothing else is sent.
    public func connectionTick(_ connection: Connection, now: UInt64) {
        if self.pendingHead < self.pending.count {
            if now &- self.pending[self.pendingHead].sentAt > self.options.timeout {
                Self.log("\(self.name): Redis did not answer within \(self.options.timeout / 1_000_000) ms; reconnecting")
                connection.abort()
            }
        } else if self.isReady {
            self.write(["PING"], nil)
        }
    }

    public func connectionClosed(_ connection: Connection) {
        guard self.connection === connection else { return }
        self.connection = nil
        let wasReady = self.isReady
        self.isReady = false
        let waiting = self.pending[self.pendingHead...].map(\.completion)
        self.pending = []
        self.pendingHead = 0
        // Subscriptions are re-made (and re-confirmed) after the reconnect.
        for callback in waiting { callback(.failure(.lost)) }
        if wasReady {
            Self.log("\(self.name): connection to \(self.url) lost")
            self.onDown?()
        }
        self.scheduleReconnect()
    }

    static func log(_ message: String) {
        var line = "level=warn msg=\"" + String(message.map { $0 == "\"" ? "'" : $0 }) + "\"\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
