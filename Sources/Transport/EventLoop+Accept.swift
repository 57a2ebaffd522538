import CLinux
import Glibc

/// Accepting connections (with a back-off when the process is out of descriptors), adopting
/// sockets, and the TLS receive path.
extension EventLoop {
    // MARK: - Accepting

    func acceptConnections(listenerIndex: Int) {
        guard listenerIndex < self.listeners.count else { return }
        let listener = self.listeners[listenerIndex]
        // Bounded per wake-up so a connection storm cannot starve existing connections.
        for _ in 0..<256 {
            var address = sockaddr_in6()
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { hometown_accept4(listener, $0, &length) }
            }
            if fd < 0 {
                switch errno {
                case EAGAIN, EINTR, ECONNABORTED: return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: level-triggered epoll would report the listener again at
                    // once and spin a core. Step back for a moment instead.
                    self.pauseListeners()
                    return
                default:
                    return
                }
            }
            _ = hometown_set_int_option(fd, Int32(IPPROTO_TCP), HOMETOWN_TCP_NODELAY, 1)
            let tls = listenerIndex < self.listenerTLS.count && !self.listenerTLS[listenerIndex] ? nil : self.tlsContext
            let handler = listenerIndex < self.listenerHandlers.count ? self.listenerHandlers[listenerIndex] : nil
            self.adopt(fd: fd, peer: PeerAddress(address) ?? .none, tls: tls, makeHandler: handler).isAccepted = true
        }
    }

    func pauseListeners() {
        guard !self.listenersPaused else { return }
        self.listenersPaused = true
        self.counters.acceptBackoffs.wrappingAdd(1, ordering: .relaxed)
        for fd in self.listeners { _ = hometown_epoll_ctl(self.epfd, EPOLL_CTL_MOD, fd, 0, 0) }
        self.schedule(after: 100_000_000) { [unowned self] in
            self.listenersPaused = false
            for (index, fd) in self.listeners.enumerated() {
                _ = hometown_epoll_ctl(self.epfd, EPOLL_CTL_MOD, fd, HOMETOWN_EPOLLIN, Self.listenerTag | UInt64(index))
            }
        }
    }

    /// Takes ownership of a connected, non-blocking socket. Loop thread only. Used by `accept`, and
    /// by tests and clients that connect themselves.
    ///
    /// - Parameter makeHandler: the connection's handler; `acceptHandler` when nil.
    @discardableResult
    public func adopt(
        fd: Int32, peer: PeerAddress = .none, tls: TLSContext? = nil,
        makeHandler: ((Connection) -> (any ConnectionHandler)?)? = nil
    ) -> Connection {
        self.assertInLoop()
        let generation = self.nextGeneration
        self.nextGeneration = generation == UInt32.max >> 1 ? 1 : generation + 1
        let connection = Connection(
            fd: fd, generation: generation, loop: self, peer: peer, limits: self.defaultLimits, now: self.now)
        if Int(fd) >= self.connections.count {
            self.connections.append(contentsOf: repeatElement(nil, count: Int(fd) + 1 - self.connections.count))
        }
        if let tls {
            connection.tls = TLSSession(context: tls)
            if connection.tls == nil { self.scheduleClose(connection) }
        }
        self.connections[Int(fd)] = connection
        self.counters.connections.wrappingAdd(1, ordering: .relaxed)
        self.counters.accepted.wrappingAdd(1, ordering: .relaxed)
        self.updateInterest(connection)
        if let factory = makeHandler ?? self.acceptHandler {
            connection.handler = factory(connection)
        }
        if connection.handler == nil { self.scheduleClose(connection) }
        return connection
    }

    /// Decrypts and hands plaintext to the handler; handshake replies go straight to the queue.
    func receiveTLS(_ connection: Connection, _ tls: TLSSession, _ handler: any ConnectionHandler, _ bytes: UnsafeRawBufferPointer) {
        do {
            let reply = try tls.receive(bytes, scratch: self.plaintextBuffer) { plaintext in
                if connection.state == .open { handler.connectionReceived(connection, bytes: plaintext) }
            }
            if !reply.isEmpty {
                connection.queue.append(SharedBytes(reply))
                if !connection.inFlushList {
                    connection.inFlushList = true
                    self.pendingFlush.append(connection)
                }
            }
        } catch {
            // A bad handshake or record costs this socket and nothing else.
            if case .handshake = error { self.counters.tlsHandshakeFailures.wrappingAdd(1, ordering: .relaxed) }
            self.scheduleClose(connection)
        }
    }
}
