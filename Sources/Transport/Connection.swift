import CLinux
import Glibc

/// One accepted TCP connection, owned by one event loop: its socket, its bounded outbound queue
/// and its place in the loop's flush and close lists.
///
/// Loop-confined: every method must be called on `loop`'s thread (use `loop.execute` from others).
public final class Connection {
    public enum State: Equatable {
        case open
        /// Writing what is queued, then half-closing; input is discarded meanwhile.
        case closingAfterFlush(deadline: UInt64)
        /// Our FIN is sent; reading and discarding until the peer's FIN or the deadline, so the
        /// kernel never answers unread data with a reset that could destroy our close frame.
        case draining(deadline: UInt64)
        case closed
    }

    public let fd: Int32
    /// Distinguishes this connection from an earlier one that had the same fd (stale epoll events).
    let generation: UInt32
    public unowned let loop: EventLoop
    public var handler: (any ConnectionHandler)?
    public var limits: OutboundLimits
    /// The peer's address (IPv4 as IPv4-mapped IPv6), for per-address limits and logs.
    public let peer: PeerAddress
    public internal(set) var state: State = .open
    /// Loop time of the last bytes received; handlers use it for idle timeouts.
    public internal(set) var lastReadAt: UInt64

    var queue = OutboundQueue()
    var inFlushList = false
    var inCloseList = false
    var registeredEvents: UInt32 = 0
    /// Added to epoll (interest may be empty while paused, so `registeredEvents` cannot tell).
    var isRegistered = false
    /// Reading is paused while the queue is above the high-water mark.
    var readPaused = false
    /// TLS over memory BIOs, when the listener serves `wss://`.
    var tls: TLSSession?
    /// Reading stopped for good (a draining server takes no more requests).
    var readingStopped = false

    init(fd: Int32, generation: UInt32, loop: EventLoop, peer: PeerAddress, limits: OutboundLimits, now: UInt64) {
        self.fd = fd
        self.generation = generation
        self.loop = loop
        self.peer = peer
        self.limits = limits
        self.lastReadAt = now
    }

    public var isOpen: Bool { self.state == .open }
    /// An in-memory connection made by `EventLoop.embedConnection` (tests): it has no socket.
    public var isEmbedded: Bool { self.fd < 0 }
    /// A peer that connected to us (through a listener), as opposed to a connection this process
    /// opened itself (a Redis link, a client): a drain stops and closes only these.
    public internal(set) var isAccepted = false
    /// True when this connection speaks TLS.
    public var isTLS: Bool { self.tls != nil }
    public var queuedBytes: Int { self.queue.queuedBytes }

    /// Queues `bytes` for writing at the end of this loop iteration.
    ///
    /// - Parameters:
    ///   - droppable: the message may be skipped when the peer is behind (above the high-water mark).
    ///   - force: bypass the hard limit; for the one close frame that ends an overflowed connection.
    /// - Returns: false if the bytes were not queued (dropped, overflowed, or not open).
    @discardableResult
    @inline(__always)
    public func enqueue(_ bytes: SharedBytes, droppable: Bool = false, force: Bool = false) -> Bool {
        self.loop.assertInLoop()
        guard self.state == .open || force else { return false }
        let queued = self.queue.queuedBytes
        if queued > self.limits.highWaterMark {
            // Dropped; the caller counts drops per fan-out (hometown_slow_consumer_drops_total).
            if droppable { return false }
            if queued + bytes.count > self.limits.hardLimit && !force {
                self.handler?.connectionOverflowed(self)
                return false
            }
        }
        if let tls = self.tls {
            // Ciphertext differs per connection: TLS is where encode-once ends.
            let ciphertext = tls.encrypt(bytes.bytes)
            if !ciphertext.isEmpty { self.queue.append(SharedBytes(ciphertext)) }
        } else {
            self.queue.append(bytes)
        }
        if !self.inFlushList {
            self.inFlushList = true
            self.loop.pendingFlush.append(self)
        }
        if self.queue.queuedBytes > self.limits.highWaterMark && !self.readPaused {
            self.readPaused = true
            self.loop.updateInterest(self)
        }
        return true
    }

    /// Queues a copy of `bytes` (for one-off replies).
    @discardableResult
    public func enqueue(_ bytes: [UInt8], force: Bool = false) -> Bool {
        self.enqueue(SharedBytes(bytes), force: force)
    }

    /// Writes what is queued now rather than at the end of the loop iteration. For a client whose
    /// next message is paced by what it just read (a benchmark's publisher): without it, the write
    /// would wait until every other connection's reads of this iteration are handled.
    public func flushNow() {
        self.loop.assertInLoop()
        self.loop.flushNow(self)
    }

    /// Drops every queued message not yet started (a partially written one stays).
    public func discardQueued() {
        self.loop.assertInLoop()
        _ = self.queue.dropUnstarted()
    }

    /// Writes what is queued, then half-closes and waits (at most `timeout` ns in all) for the peer
    /// to close. Input arriving meanwhile is discarded.
    public func closeAfterFlush(timeout: UInt64 = 5_000_000_000) {
        self.loop.assertInLoop()
        guard self.state == .open else { return }
        if let tls = self.tls {
            let alert = tls.shutdown()
            if !alert.isEmpty { self.queue.append(SharedBytes(alert)) }
        }
        self.state = .closingAfterFlush(deadline: self.loop.now &+ timeout)
        if !self.inFlushList {
            self.inFlushList = true
            self.loop.pendingFlush.append(self)
        }
        // Keep reading (and discarding) so a peer that keeps sending cannot fill our receive
        // buffer and make the final close a reset.
        self.readPaused = false
        self.loop.updateInterest(self)
    }

    /// Takes no more input from this peer (output still flows). Used by a draining server.
    public func stopReading() {
        self.loop.assertInLoop()
        self.readingStopped = true
        self.loop.updateInterest(self)
    }

    /// Closes now, dropping anything queued. The handler hears of it at the end of the iteration.
    public func abort() {
        self.loop.assertInLoop()
        self.loop.scheduleClose(self)
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
