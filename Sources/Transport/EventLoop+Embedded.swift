import Glibc

/// Driving a loop by hand, with in-memory connections: the way to test a connection handler
/// (the whole WebSocket session, the rooms behind it) deterministically, without sockets or loop
/// threads — the role SwiftNIO's `EmbeddedChannel` plays.
///
/// The loop is never `start`ed. The test's thread acts as the loop's thread during each call
/// below (so `assertInLoop` holds and loop-bound work runs inline, as on the real loop); between
/// calls nothing runs. Work other threads hand to the loop (`execute`, for example a journal's
/// completion) waits in the inbox until `runPendingTasks` or `runUntil`.
extension EventLoop {
    /// A connection with no socket, handled by `makeHandler` (the loop's `acceptHandler` if nil).
    public func embedConnection(
        peer: PeerAddress = PeerAddress(ipv4: 0x7F00_0001), makeHandler: ((Connection) -> (any ConnectionHandler)?)? = nil
    ) -> Connection {
        self.asLoopThread {
            let connection = Connection(
                fd: self.embeddedNextFD, generation: 0, loop: self, peer: peer, limits: self.defaultLimits,
                now: self.now)
            self.embeddedNextFD -= 1
            // An in-memory stand-in for a peer that connected to us.
            connection.isAccepted = true
            self.embedded.append(connection)
            self.counters.connections.wrappingAdd(1, ordering: .relaxed)
            self.counters.accepted.wrappingAdd(1, ordering: .relaxed)
            if let factory = makeHandler ?? self.acceptHandler {
                connection.handler = factory(connection)
                if connection.handler == nil { self.scheduleClose(connection) }
            }
            self.endOfIteration()
            return connection
        }
    }

    /// Delivers `bytes` to the connection's handler as one read, then ends the iteration (flush,
    /// reap), as the loop does after a real read.
    public func receive(_ bytes: [UInt8], on connection: Connection) {
        self.asLoopThread {
            precondition(connection.isEmbedded, "receive(_:on:) is for embedded connections")
            precondition(bytes.count <= self.readBuffer.count, "one read is at most the loop's read buffer")
            guard connection.state == .open, let handler = connection.handler else { return }
            connection.lastReadAt = self.now
            let buffer = UnsafeMutableRawBufferPointer(rebasing: self.readBuffer[0..<bytes.count])
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            handler.connectionReceived(connection, bytes: buffer)
            self.endOfIteration()
        }
    }

    /// The peer closed (FIN): the connection is reaped and its handler told.
    public func peerClosed(_ connection: Connection) {
        self.asLoopThread {
            self.scheduleClose(connection)
            self.endOfIteration()
        }
    }

    /// Runs every task waiting in the inbox (and the ones they queue), then ends the iteration.
    public func runPendingTasks() {
        self.asLoopThread {
            self.runInbox()
            self.endOfIteration()
        }
    }

    /// Runs inbox tasks as they arrive from other threads until `condition` holds (checked after
    /// each batch) or `timeout` seconds pass; blocks on the loop's wake-up eventfd in between, so
    /// it waits for work rather than sleeping. Returns whether the condition held.
    @discardableResult
    public func runUntil(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() &+ UInt64(timeout * 1e9)
        while true {
            self.runPendingTasks()
            if condition() { return true }
            let now = MonotonicClock.now()
            if now >= deadline { return false }
            var descriptor = pollfd(fd: self.wakeFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
        }
    }

    /// Stops (false) or resumes (true) the embedded connection's writes, as a peer that stops
    /// reading would: its output queue then grows, and the outbound limits apply.
    public func setWritable(_ writable: Bool, _ connection: Connection) {
        self.asLoopThread {
            if writable {
                self.embeddedBlocked.remove(connection.fd)
                if !connection.inFlushList {
                    connection.inFlushList = true
                    self.pendingFlush.append(connection)
                }
                self.endOfIteration()
            } else {
                self.embeddedBlocked.insert(connection.fd)
            }
        }
    }

    /// Everything the connection wrote since the last call.
    public func takeOutput(of connection: Connection) -> [UInt8] {
        self.asLoopThread {
            self.embeddedOutput.removeValue(forKey: connection.fd) ?? []
        }
    }

    /// The embedded connection's flush: the queued bytes go to its output buffer.
    /// Returns false when the connection is not writable (nothing was written).
    func writeEmbedded(_ connection: Connection, _ iovecs: UnsafeMutablePointer<iovec>, _ count: Int) -> Bool {
        if self.embeddedBlocked.contains(connection.fd) { return false }
        var written = 0
        var output = self.embeddedOutput[connection.fd, default: []]
        for index in 0..<count {
            let vector = iovecs[index]
            output.append(contentsOf: UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len))
            written += vector.iov_len
        }
        self.embeddedOutput[connection.fd] = output
        self.counters.addBytesOut(written)
        connection.queue.consume(written)
        return true
    }

    /// Runs `body` with the calling thread standing in as this loop's thread. The loop must not be
    /// running on a thread of its own.
    private func asLoopThread<Result>(_ body: () -> Result) -> Result {
        let previous = self.runningThread.load(ordering: .relaxed)
        precondition(previous == 0 || previous == pthread_self(), "an embedded loop must not also run on its own thread")
        self.runningThread.store(pthread_self(), ordering: .relaxed)
        defer { self.runningThread.store(previous, ordering: .relaxed) }
        self.now = MonotonicClock.now()
        return body()
    }
}
