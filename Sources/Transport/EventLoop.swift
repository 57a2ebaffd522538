import CLinux
import Glibc
import Synchronization

/// One thread, one epoll instance, and every connection it accepted: the Redis `ae.c` shape.
///
/// An iteration waits for events, reads and hands bytes to handlers (which only queue output),
/// then flushes every connection that queued something with one `writev` each ("one tick, one
/// flush"), then reaps connections that were closed during the iteration. Other threads reach a
/// loop only through `execute`, which queues a task and wakes the loop through an eventfd.
public final class EventLoop {
    public let index: Int
    /// Loop time in ns (CLOCK_MONOTONIC), refreshed after every wait; cheap to read in handlers.
    public internal(set) var now: UInt64
    /// Called on this loop for each accepted connection; returns its handler, or nil to refuse it.
    public var acceptHandler: ((Connection) -> (any ConnectionHandler)?)?
    /// Limits given to newly accepted connections (handlers may change them per route).
    public var defaultLimits = OutboundLimits.default
    /// When set, every accepted connection speaks TLS (`wss://`) through this context.
    public var tlsContext: TLSContext?
    /// Decrypted bytes land here before the handler sees them (TLS connections only).
    lazy var plaintextBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    /// Counters for metrics: written by this loop, read by any thread (relaxed atomics).
    public let counters = LoopCounters()
    /// Open connections of this loop; any thread.
    public var connectionCount: Int { self.counters.connections.load(ordering: .relaxed) }

    let epfd: Int32
    let wakeFD: Int32
    private let timerFD: Int32
    var listeners: [Int32] = []
    /// Per listener, the handler factory for its connections (nil: `acceptHandler`) and whether
    /// it speaks TLS when the loop has a TLS context (an admin listener on loopback does not).
    var listenerHandlers: [((Connection) -> (any ConnectionHandler)?)?] = []
    var listenerTLS: [Bool] = []
    var listenersPaused = false
    var connections: [Connection?] = []
    var nextGeneration: UInt32 = 1
    var pendingFlush: [Connection] = []
    private var closeList: [Connection] = []
    /// In-memory connections (tests): no socket, output collected in `embeddedOutput`.
    var embedded: [Connection] = []
    /// Keyed by the embedded connection's (negative, never reused) descriptor number, so output
    /// stays readable after the connection is gone and never mixes with a later one's.
    var embeddedOutput: [Int32: [UInt8]] = [:]
    var embeddedBlocked: Set<Int32> = []
    var embeddedNextFD: Int32 = -1

    private let inboxLock = Lock()
    private var inbox: [@Sendable () -> Void] = []
    private var wakePending = false

    private var timers = TimerHeap()
    private var tickHandlers: [(UInt64) -> Void] = []
    private let tickInterval: UInt64
    private var lastSweep: UInt64 = 0
    private var stopping = false
    /// The thread running `run()` (0 before it starts and after it ends): what `inLoop` compares
    /// with. Written by that thread, read by any, so atomic.
    let runningThread = Atomic<UInt>(0)
    /// 0 before `start()`, 1 from `start()` until `run()` returns, 2 after: confinement is checked
    /// only in state 1 (before and after, one thread owns everything). Set by `start()` itself,
    /// not by the new thread, so there is no moment when the loop is started but unchecked.
    private let lifecycle = Atomic<Int>(0)
    /// The thread `start()` created, for `join()`; touched only by the thread that owns the group.
    /// Counted down when `run` has returned on the loop's thread: what `join` waits for. (The
    /// thread is detached: no pthread_join, whose handle must never be joined twice or late —
    /// a stale handle once hung a test run's `stop` in a join on a thread long gone.)
    private let finished = CountdownLatch(1)
    private let started = Atomic<Bool>(false)

    let readBuffer: UnsafeMutableRawBufferPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private static let maxIovecs = 256
    private let events: UnsafeMutablePointer<hometown_epoll_event>
    private static let maxEvents = 512

    private static let wakeTag: UInt64 = 1 << 63 | 1
    private static let timerTag: UInt64 = 1 << 63 | 2
    static let listenerTag: UInt64 = 1 << 63 | 1 << 62

    /// - Parameters:
    ///   - readBufferSize: the one read buffer every connection of this loop shares. 64 KiB reads
    ///     a full TCP window per call; connections hold no read buffer of their own.
    ///   - tickInterval: timer resolution in ns (100 ms); connection timeouts are swept once a second.
    public init(index: Int = 0, readBufferSize: Int = 64 * 1024, tickInterval: UInt64 = 100_000_000) throws {
        self.index = index
        self.tickInterval = tickInterval
        self.now = MonotonicClock.now()
        self.epfd = hometown_epoll_create()
        guard self.epfd >= 0 else { throw TransportError("epoll_create1") }
        self.wakeFD = hometown_eventfd()
        guard self.wakeFD >= 0 else { throw TransportError("eventfd") }
        self.timerFD = hometown_timerfd()
        guard self.timerFD >= 0 else { throw TransportError("timerfd_create") }
        guard hometown_timerfd_set_interval(self.timerFD, Int64(tickInterval)) == 0 else {
            throw TransportError("timerfd_settime")
        }
        self.readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBufferSize, alignment: 16)
        self.iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: Self.maxIovecs)
        self.events = UnsafeMutablePointer<hometown_epoll_event>.allocate(capacity: Self.maxEvents)
        guard hometown_epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.wakeFD, HOMETOWN_EPOLLIN, Self.wakeTag) == 0,
            hometown_epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.timerFD, HOMETOWN_EPOLLIN, Self.timerTag) == 0
        else { throw TransportError("epoll_ctl") }
    }

    deinit {
        Glibc.close(self.epfd)
        Glibc.close(self.wakeFD)
        Glibc.close(self.timerFD)
        for fd in self.listeners { Glibc.close(fd) }
        self.readBuffer.deallocate()
        self.iovecs.deallocate()
        self.events.deallocate()
    }

    // MARK: - Threads

    /// Starts the loop on a thread of its own.
    public func start() {
        precondition(!self.started.exchange(true, ordering: .sequentiallyConsistent), "event loop \(self.index) started twice")
        self.lifecycle.store(1, ordering: .sequentiallyConsistent)
        Threads.start(detached: true) {
            self.run()
            self.finished.countDown()
        }
    }

    /// Waits until the loop's thread has finished running it (after `stop`). Any thread, any
    /// number of times; returns at once for a loop that was never started.
    public func join() {
        guard self.started.load(ordering: .sequentiallyConsistent) else { return }
        self.finished.wait()
    }

    /// Asks the loop to close its listeners and connections and return from `run`. Thread-safe.
    public func stop() {
        self.execute { self.stopping = true }
    }

    /// True when called on this loop's thread.
    public var inLoop: Bool {
        let thread = self.runningThread.load(ordering: .relaxed)
        return thread != 0 && pthread_equal(thread, pthread_self()) != 0
    }

    /// True from `start()` until `run()` returns: only the loop's thread may touch its state then.
    public var isRunning: Bool { self.lifecycle.load(ordering: .sequentiallyConsistent) == 1 }

    /// Traps (in debug builds) when called off this loop's thread while the loop runs: every entry
    /// point to loop-owned state calls it, so confinement is checked rather than promised. Before
    /// the loop runs (setup) and after it ended (teardown) one thread owns everything, so any
    /// thread may call.
    @inline(__always)
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(!self.isRunning || self.inLoop, "called off event loop \(self.index)'s thread", file: file, line: line)
    }

    /// Runs `task` on this loop's thread at its next iteration. Thread-safe; the only way in from
    /// outside. One lock per call, and one eventfd write per batch (not per task).
    ///
    /// `task` is `@Sendable`: it runs on another thread than the one that made it. Loop-owned
    /// values it carries go inside a `LoopBound`, which checks on use that it is back on its loop.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let mustWake = self.inboxLock.withLock { () -> Bool in
            self.inbox.append(task)
            if self.wakePending { return false }
            self.wakePending = true
            return true
        }
        if mustWake {
            var one: UInt64 = 1
            _ = Glibc.write(self.wakeFD, &one, 8)
        }
    }

    /// Runs `body` on this loop and returns its result: for a thread that is not a loop (a test, a
    /// tool's main thread) to read loop-owned state.
    public func runAndWait<Result>(_ body: @escaping @Sendable () -> Result) -> Result {
        // On the loop, or when no thread runs it (before `start`, after the end, embedded): the
        // caller owns the loop's state, and nobody would run a queued task.
        if self.inLoop || !self.isRunning { return body() }
        let slot = ResultSlot<Result>()
        let latch = CountdownLatch(1)
        self.execute {
            slot.value = body()
            latch.countDown()
        }
        latch.wait()
        return slot.value!
    }

    /// Runs `task` on this loop after `delay` ns (at tick resolution). Loop thread only.
    public func schedule(after delay: UInt64, _ task: @escaping () -> Void) {
        self.assertInLoop()
        self.timers.push(deadline: self.now &+ delay, task)
    }

    /// Calls `handler(now)` on every tick. Loop thread only.
    public func onTick(_ handler: @escaping (UInt64) -> Void) {
        self.assertInLoop()
        self.tickHandlers.append(handler)
    }

    // MARK: - Listening

    /// Adds a listening socket (from `Socket.listen`); this loop accepts from it. Loop thread, or
    /// before `start`.
    ///
    /// - Parameters:
    ///   - makeHandler: the handler for this listener's connections (nil: `acceptHandler`).
    ///   - tls: whether its connections use the loop's TLS context (when it has one).
    public func addListener(_ fd: Int32, tls: Bool = true, makeHandler: ((Connection) -> (any ConnectionHandler)?)? = nil) throws {
        self.assertInLoop()
        let tag = Self.listenerTag | UInt64(self.listeners.count)
        guard hometown_epoll_ctl(self.epfd, EPOLL_CTL_ADD, fd, HOMETOWN_EPOLLIN, tag) == 0 else {
            throw TransportError("epoll_ctl(listener)")
        }
        self.listeners.append(fd)
        self.listenerHandlers.append(makeHandler)
        self.listenerTLS.append(tls)
    }

    /// Stops accepting (graceful drain): listeners are closed, existing connections stay.
    public func closeListeners() {
        self.assertInLoop()
        for fd in self.listeners {
            _ = hometown_epoll_ctl(self.epfd, EPOLL_CTL_DEL, fd, 0, 0)
            Glibc.close(fd)
        }
        self.listeners = []
        self.listenerHandlers = []
        self.listenerTLS = []
    }

    // MARK: - The loop

    /// Runs until `stop`. Called by `start` on the loop's own thread.
    public func run() {
        self.runningThread.store(pthread_self(), ordering: .sequentiallyConsistent)
        if self.lifecycle.load(ordering: .sequentiallyConsistent) == 0 { self.lifecycle.store(1, ordering: .sequentiallyConsistent) }
        defer {
            self.lifecycle.store(2, ordering: .sequentiallyConsistent)
            self.runningThread.store(0, ordering: .sequentiallyConsistent)
        }
        while !self.stopping {
            let count = hometown_epoll_wait(self.epfd, self.events, Int32(Self.maxEvents), -1)
            self.now = MonotonicClock.now()
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("\(TransportError("epoll_wait"))")
            }
            for index in 0..<Int(count) {
                let flags = hometown_epoll_event_flags(self.events, Int32(index))
                let tag = hometown_epoll_event_data(self.events, Int32(index))
                self.dispatch(tag: tag, flags: flags)
            }
            self.endOfIteration()
        }
        self.shutdown()
    }

    private func dispatch(tag: UInt64, flags: UInt32) {
        if tag & (1 << 63) != 0 {
            if tag == Self.wakeTag {
                self.runInbox()
            } else if tag == Self.timerTag {
                self.tick()
            } else if tag & Self.listenerTag == Self.listenerTag {
                self.acceptConnections(listenerIndex: Int(tag & 0xFFFF))
            }
            return
        }
        let fd = Int(tag & 0xFFFF_FFFF)
        let generation = UInt32(tag >> 32)
        guard fd < self.connections.count, let connection = self.connections[fd],
            connection.generation == generation
        else { return }  // A stale event for a connection closed earlier in this iteration.
        if flags & (HOMETOWN_EPOLLIN | HOMETOWN_EPOLLHUP | HOMETOWN_EPOLLERR | HOMETOWN_EPOLLRDHUP) != 0 {
            self.readable(connection, flags: flags)
        }
        if flags & HOMETOWN_EPOLLOUT != 0 {
            self.flush(connection)
        }
    }

    /// Flushes everything queued during this iteration, then reaps closed connections. Reaping
    /// can queue more output (handlers telling others), so flush once more after it.
    func endOfIteration() {
        var rounds = 0
        repeat {
            self.flushPending()
            self.reap()
            rounds += 1
        } while (!self.pendingFlush.isEmpty || !self.closeList.isEmpty) && rounds < 4
    }

    func runInbox() {
        var value: UInt64 = 0
        _ = Glibc.read(self.wakeFD, &value, 8)
        let tasks = self.inboxLock.withLock { () -> [@Sendable () -> Void] in
            let tasks = self.inbox
            self.inbox = []
            self.wakePending = false
            return tasks
        }
        for task in tasks { task() }
    }

    private func tick() {
        var expirations: UInt64 = 0
        _ = Glibc.read(self.timerFD, &expirations, 8)
        while let task = self.timers.popDue(now: self.now) { task() }
        for handler in self.tickHandlers { handler(self.now) }
        // Belt and braces: tasks never wait longer than one tick, even if a wake-up went missing
        // (a stray close() elsewhere in the process hitting our eventfd's number, say).
        self.runInboxWithoutWaiting()
        if self.now &- self.lastSweep >= 1_000_000_000 {
            self.lastSweep = self.now
            self.sweep()
        }
    }

    /// Once a second: deadlines of closing connections, and each handler's own timeouts.
    private func sweep() {
        // Two plain walks: no array of every connection built once a second.
        for case let connection? in self.connections { self.sweep(connection) }
        for connection in self.embedded { self.sweep(connection) }
    }

    private func sweep(_ connection: Connection) {
        switch connection.state {
        case .open:
            connection.handler?.connectionTick(connection, now: self.now)
        case .closingAfterFlush(let deadline), .draining(let deadline):
            if self.now >= deadline { self.scheduleClose(connection) }
        case .closed:
            break
        }
    }

    // MARK: - Reading

    private func readable(_ connection: Connection, flags: UInt32) {
        // Up to four buffers per wake-up: enough for a burst, fair to the other connections.
        for _ in 0..<4 {
            if connection.readPaused && connection.state == .open {
                // Reading is paused for backpressure; only a hang-up or error needs action.
                if flags & (HOMETOWN_EPOLLHUP | HOMETOWN_EPOLLERR) != 0 { self.scheduleClose(connection) }
                return
            }
            let count = Glibc.read(connection.fd, self.readBuffer.baseAddress, self.readBuffer.count)
            if count > 0 {
                self.counters.addBytesIn(count)
                connection.lastReadAt = self.now
                if connection.state == .open, let handler = connection.handler {
                    let bytes = UnsafeMutableRawBufferPointer(rebasing: self.readBuffer[0..<count])
                    if let tls = connection.tls {
                        self.receiveTLS(connection, tls, handler, UnsafeRawBufferPointer(bytes))
                    } else {
                        handler.connectionReceived(connection, bytes: bytes)
                    }
                }
                if count < self.readBuffer.count { return }
            } else if count == 0 {
                // The peer's FIN. Whatever we still had to say cannot be answered any more.
                self.scheduleClose(connection)
                return
            } else {
                if errno == EINTR { continue }
                if errno != EAGAIN { self.scheduleClose(connection) }
                return
            }
        }
    }

    // MARK: - Writing

    private func flushPending() {
        guard !self.pendingFlush.isEmpty else { return }
        let list = self.pendingFlush
        self.pendingFlush.removeAll(keepingCapacity: true)
        for connection in list {
            connection.inFlushList = false
            self.flush(connection)
        }
    }

    func flushNow(_ connection: Connection) {
        guard connection.state == .open, !connection.queue.isEmpty else { return }
        self.flush(connection)
    }

    private func flush(_ connection: Connection) {
        switch connection.state {
        case .closed, .draining: return
        case .open, .closingAfterFlush: break
        }
        while !connection.queue.isEmpty {
            let count = connection.queue.fill(self.iovecs, max: Self.maxIovecs)
            if connection.isEmbedded {
                if self.writeEmbedded(connection, self.iovecs, count) { continue }
                break
            }
            var total = 0
            for index in 0..<count { total += self.iovecs[index].iov_len }
            let written = Glibc.writev(connection.fd, self.iovecs, Int32(count))
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                self.scheduleClose(connection)
                return
            }
            self.counters.addBytesOut(written)
            connection.queue.consume(written)
            if written < total { break }  // The socket is full; EPOLLOUT will tell us when it is not.
        }
        if connection.queue.isEmpty {
            if case .closingAfterFlush(let deadline) = connection.state {
                // Our part is said: send FIN and wait for the peer's (RFC 6455 §7.1.1: the server
                // closes the TCP connection first).
                if !connection.isEmbedded { Glibc.shutdown(connection.fd, Int32(SHUT_WR)) }
                connection.state = .draining(deadline: deadline)
            }
            if connection.readPaused { connection.readPaused = false }
        } else if connection.readPaused && connection.queue.queuedBytes < connection.limits.lowWaterMark {
            connection.readPaused = false
        }
        self.updateInterest(connection)
    }

    /// Registers for readability unless reading is paused, and for writability while output waits.
    func updateInterest(_ connection: Connection) {
        guard connection.state != .closed, !connection.isEmbedded else { return }
        var events: UInt32 = 0
        if (!connection.readPaused || connection.state != .open) && !connection.readingStopped {
            events |= HOMETOWN_EPOLLIN | HOMETOWN_EPOLLRDHUP
        }
        if !connection.queue.isEmpty && !connection.inFlushList { events |= HOMETOWN_EPOLLOUT }
        if case .draining = connection.state { events = HOMETOWN_EPOLLIN | HOMETOWN_EPOLLRDHUP }
        guard events != connection.registeredEvents || !connection.isRegistered else { return }
        let tag = UInt64(connection.generation) << 32 | UInt64(UInt32(bitPattern: connection.fd))
        let op = connection.isRegistered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD
        if hometown_epoll_ctl(self.epfd, op, connection.fd, events, tag) == 0 {
            connection.registeredEvents = events
            connection.isRegistered = true
        }
    }

    // MARK: - Closing

    func scheduleClose(_ connection: Connection) {
        guard !connection.inCloseList, connection.state != .closed else { return }
        connection.inCloseList = true
        self.closeList.append(connection)
    }

    /// The end-of-iteration reaper: closes sockets and tells handlers, never inside a fan-out.
    private func reap() {
        while !self.closeList.isEmpty {
            let list = self.closeList
            self.closeList.removeAll(keepingCapacity: true)
            for connection in list {
                connection.inCloseList = false
                guard connection.state != .closed else { continue }
                connection.state = .closed
                if connection.isEmbedded {
                    self.embedded.removeAll { $0 === connection }
                } else {
                    _ = hometown_epoll_ctl(self.epfd, EPOLL_CTL_DEL, connection.fd, 0, 0)
                    Glibc.close(connection.fd)
                }
                if connection.fd >= 0, Int(connection.fd) < self.connections.count,
                    self.connections[Int(connection.fd)] === connection
                {
                    self.connections[Int(connection.fd)] = nil
                }
                self.counters.connections.wrappingSubtract(1, ordering: .relaxed)
                connection.queue = OutboundQueue()
                let handler = connection.handler
                connection.handler = nil
                handler?.connectionClosed(connection)
            }
        }
    }

    private func shutdown() {
        self.closeListeners()
        for case let connection? in self.connections { self.scheduleClose(connection) }
        self.reap()
        self.runInboxWithoutWaiting()
    }

    func runInboxWithoutWaiting() {
        let tasks = self.inboxLock.withLock { () -> [@Sendable () -> Void] in
            let tasks = self.inbox
            self.inbox = []
            return tasks
        }
        for task in tasks { task() }
    }

    /// All open connections of this loop (loop thread only).
    public func forEachConnection(_ body: (Connection) -> Void) {
        self.assertInLoop()
        for case let connection? in self.connections where connection.state != .closed { body(connection) }
        for connection in self.embedded where connection.state != .closed { body(connection) }
    }
}

/// Safe to share because everything a loop owns is reached either through the thread-safe entry
/// points (`execute`, `stop`, `inLoop`, `index`, `counters`) or from the loop's own thread, which
/// `assertInLoop()` checks in debug builds at each loop-only entry.
extension EventLoop: @unchecked Sendable {}

/// A result handed from a loop to a waiting thread: written on the loop before the latch counts
/// down, read after the wait, so the latch orders the two accesses.
private final class ResultSlot<Value>: @unchecked Sendable {
    var value: Value?
}

/// Per-loop counters for metrics: bumped by the loop, read by any thread. Relaxed atomics: each
/// is an independent tally, and the bumps happen per syscall or per connection, not per message.
public final class LoopCounters: Sendable {
    public let connections = Atomic<Int>(0)
    public let accepted = Atomic<Int>(0)
    public let bytesIn = Atomic<Int>(0)
    public let bytesOut = Atomic<Int>(0)
    public let acceptBackoffs = Atomic<Int>(0)
    public let tlsHandshakeFailures = Atomic<Int>(0)
    init() {}

    /// Per read and per `writev`, from the owning loop only: one writer, so a relaxed load and
    /// store (plain moves) instead of a locked read-modify-write on the hot path.
    @inline(__always)
    func addBytesIn(_ count: Int) { self.bytesIn.store(self.bytesIn.load(ordering: .relaxed) &+ count, ordering: .relaxed) }

    @inline(__always)
    func addBytesOut(_ count: Int) { self.bytesOut.store(self.bytesOut.load(ordering: .relaxed) &+ count, ordering: .relaxed) }
}
