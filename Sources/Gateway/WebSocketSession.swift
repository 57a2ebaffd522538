import Auth
import JSON
import LiveRoom
import Transport
import WebSocket

/// One client connection through its life: the HTTP head, the upgrade, then WebSocket frames in
/// and messages out. The fixed sequence bytes → parser → reader → endpoint, with no pipeline.
///
/// Loop-confined, like its `Connection`.
public final class WebSocketSession: ConnectionHandler {
    enum Phase {
        case awaitingHead(HTTPHeadParser)
        case open(WebSocketReader)
        /// We sent a close frame (or a final HTTP answer); input is ignored.
        case closing
    }

    let connection: Connection
    let server: HometownServer
    var phase: Phase
    private var route: Route = .notFound
    private let openedAt: UInt64
    private var pingSent = false
    private var closeRequested = false
    /// Why the connection ended, when the server ended it (for the log line and /metrics).
    var closeReason: String?
    /// The upgrade completed: such connections get an info log line when they open and close.
    private var upgraded = false
    /// Live rooms: who this is, its member id, its room, and its slot in the loop's audience.
    var identity = Identity(user: "", name: "", role: .viewer, anonymous: true)
    var member: MemberID = 0
    var host: RoomHub.RoomHost?
    /// Position in this loop's `Audience` (of a room, or of a bench channel), -1 when in none.
    var audienceSlot = -1

    /// Set when admission refused this connection: its request gets this answer.
    private var refusal: HTTPResponse?
    private var admitted = false

    init(connection: Connection, server: HometownServer) {
        self.connection = connection
        self.server = server
        switch server.limiter.admit(connection.peerIPv4, now: WallClock.nowMillis()) {
        case .admit:
            self.admitted = true
        case .full(let why):
            self.refusal = .text(.serviceUnavailable, why + "\n", headers: [("Retry-After", "5")])
        case .tooFast:
            self.refusal = .text(.tooManyRequests, "too many new connections from your address\n", headers: [("Retry-After", "1")])
        }
        self.phase = .awaitingHead(HTTPHeadParser(maxHeadSize: server.config.webSocket.maxHandshakeSize))
        self.openedAt = connection.loop.now
    }

    // MARK: - ConnectionHandler

    public func connectionReceived(_ connection: Connection, bytes: UnsafeMutableRawBufferPointer) {
        var offset = 0
        if case .awaitingHead(var parser) = self.phase {
            // Release the parser's copy while we work on it (no copy-on-write of its buffer).
            self.phase = .closing
            do {
                switch try parser.feed(UnsafeRawBufferPointer(bytes)) {
                case .needMoreData:
                    self.phase = .awaitingHead(parser)
                    return
                case .head(let head, let consumed):
                    offset = consumed
                    self.handle(head)
                }
            } catch {
                self.respond(WebSocketHandshake.Rejection(status: error.status, message: "bad request head").response)
                return
            }
        }
        guard case .open(var reader) = self.phase else { return }
        // Take the reader out of the enum while it works: mutating it in place would copy its
        // message buffer on every call.
        self.phase = .closing
        if self.process(bytes, from: offset, with: &reader) {
            self.phase = .open(reader)
        }
    }

    /// Runs the reader over `bytes` and acts on each result. Returns false once the session is
    /// closing (protocol error, close frame, or an endpoint's decision).
    private func process(_ bytes: UnsafeMutableRawBufferPointer, from start: Int, with reader: inout WebSocketReader) -> Bool {
        var offset = start
        while true {
            let action: WebSocketReader.Action
            do {
                action = try reader.next(bytes, offset: &offset)
            } catch {
                self.fail(error)
                return false
            }
            switch action {
            case .needMoreData:
                return true
            case .message(let message):
                self.received(message)
            case .ping(let payload):
                self.connection.enqueue(ServerFrame.make(.pong, payload: payload))
            case .pong:
                self.pingSent = false
            case .close(let code, _):
                // §5.5.1: answer a close with a close, echoing the code; then the server closes TCP.
                let reply = code.map { WebSocketFrameEncoder.closePayload(code: $0) } ?? []
                self.connection.enqueue(ServerFrame.make(.close, payload: reply))
                self.closeReason = "peer close \(code.map { String($0.rawValue) } ?? "without code")"
                self.closeAfterFlush()
                return false
            }
            if self.closeRequested { return false }
        }
    }

    public func connectionOverflowed(_ connection: Connection) {
        // Slow consumer: drop what it has not started receiving, tell it why, and let go.
        connection.discardQueued()
        connection.enqueue(ServerFrame.close(.slowConsumer, reason: "slow consumer"), force: true)
        self.server.counters.slowConsumerDisconnects.increment()
        self.closeReason = "4008 slow consumer"
        Log.debug("slow consumer", ["peer": Socket.format(ipv4: connection.peerIPv4)])
        self.closeAfterFlush()
    }

    public func connectionTick(_ connection: Connection, now: UInt64) {
        let settings = self.server.config.webSocket
        switch self.phase {
        case .awaitingHead:
            if now &- self.openedAt > nanoseconds(settings.handshakeTimeout) {
                // Slowloris: a client that cannot send a few hundred bytes in time gets no answer.
                self.closeReason = "handshake timeout"
                connection.abort()
            }
        case .open:
            let quiet = now &- connection.lastReadAt
            if quiet > nanoseconds(settings.idleTimeout) {
                connection.enqueue(ServerFrame.close(.idleTimeout, reason: "idle timeout"), force: true)
                self.closeReason = "4009 idle timeout"
                self.closeAfterFlush()
            } else if quiet > nanoseconds(settings.pingInterval) && !self.pingSent {
                self.pingSent = true
                connection.enqueue(ServerFrame.make(.ping, payload: []))
            }
        case .closing:
            break
        }
    }

    public func connectionClosed(_ connection: Connection) {
        if self.admitted { self.server.limiter.release(connection.peerIPv4) }
        let reason = self.closeReason ?? (self.upgraded ? "peer disconnected" : "http")
        self.server.metrics.connectionsClosed.increment(reason)
        if self.upgraded {
            Log.info(
                "connection closed",
                [
                    "peer": Socket.format(ipv4: connection.peerIPv4), "path": self.routeName, "user": self.identity.user,
                    "reason": reason, "seconds": Double((connection.loop.now &- self.openedAt) / 1_000_000) / 1000,
                ])
        }
        if case .bench(let channel) = self.route {
            self.server.benchHub.unsubscribe(self, channel: channel)
        }
        if let host = self.host {
            self.server.rooms.leave(self, host: host)
            self.host = nil
        }
        self.phase = .closing
    }

    // MARK: - Upgrade

    private func handle(_ head: HTTPRequestHead) {
        if let refusal = self.refusal {
            self.closeReason = "refused \(refusal.status.code)"
            self.respond(refusal)
            return
        }
        let route = Route.resolve(head, config: self.server.config)
        switch route {
        case .healthz:
            self.respond(.text(.ok, "ok\n"))
            return
        case .readyz:
            // Load balancers stop sending traffic on 503: while draining, or when the store
            // cannot be written.
            let ready = self.server.isReady
            self.respond(
                .text(ready ? .ok : .serviceUnavailable, ready ? "ready\n" : (self.server.draining ? "draining\n" : "store not writable\n"))
            )
            return
        case .metrics:
            self.respond(
                HTTPResponse(
                    status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                    body: Array(self.server.renderMetrics().utf8)))
            return
        case .notFound:
            self.respond(.text(.notFound, "not found\n"))
            return
        case .orders(let room):
            self.exportOrders(room, head)
            return
        case .file(let name):
            guard head.method == "GET" || head.method == "HEAD" else {
                self.respond(.text(.methodNotAllowed, "GET or HEAD\n", headers: [("Allow", "GET, HEAD")]))
                return
            }
            self.respond(self.server.staticFiles.response(for: name, head: head) ?? .text(.notFound, "not found\n"))
            return
        case .roomList:
            var w = JSONWriter()
            w.raw("[")
            for (index, entry) in self.server.rooms.roomListing.enumerated() {
                if index > 0 { w.raw(",") }
                w.raw("{\"room\":"); w.string(entry.room)
                w.raw(",\"title\":"); w.string(entry.title)
                w.raw(",\"live\":"); w.bool(entry.live)
                w.raw(",\"viewers\":"); w.int(entry.viewers); w.raw("}")
            }
            w.raw("]")
            self.respond(
                HTTPResponse(status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: w.bytes))
            return
        case .devToken:
            self.issueDevToken(head)
            return
        case .echo, .bench:
            break
        case .live(let room):
            guard self.admitToRoom(room, head) else { return }
        }
        // Browsers send Origin; an allow list stops other sites' pages from using a viewer's
        // cookies or tokens against us (cross-site WebSocket hijacking).
        let origins = self.server.config.limits.allowedOrigins
        if !origins.isEmpty, let origin = head.header("Origin"), !origins.contains(origin) {
            self.respond(.text(.forbidden, "origin not allowed\n"))
            return
        }
        let accept: String
        switch WebSocketHandshake.validate(head) {
        case .failure(let rejection):
            self.respond(rejection.response)
            return
        case .success(let value):
            accept = value
        }
        self.route = route
        let config = self.server.config
        let reader: WebSocketReader
        switch route {
        case .echo:
            let maxMessage = config.echo.maxMessageSize
            reader = WebSocketReader(role: .server, maxFrameSize: maxMessage, maxMessageSize: maxMessage)
            // An echo of a maximal message must fit, or a well-behaved client would be cut off.
            let limits = config.outbound
            self.connection.limits = OutboundLimits(
                lowWaterMark: limits.lowWater, highWaterMark: limits.highWater,
                hardLimit: max(limits.hardLimit, 2 * maxMessage + limits.highWater))
        default:
            reader = WebSocketReader(
                role: .server, maxFrameSize: config.webSocket.maxFrameSize,
                maxMessageSize: config.webSocket.maxMessageSize)
        }
        self.connection.enqueue(WebSocketHandshake.acceptResponse(acceptValue: accept).serialized())
        self.phase = .open(reader)
        self.upgraded = true
        Log.info(
            "connection opened",
            [
                "peer": Socket.format(ipv4: self.connection.peerIPv4), "path": self.routeName, "user": self.identity.user,
                "role": self.identity.role.rawValue,
            ])
        if case .bench(let channel) = route {
            self.server.benchHub.subscribe(self, channel: channel)
        }
        if let host = self.host {
            let since = head.queryValue("since").flatMap { UInt64($0) }
            self.server.rooms.join(self, host: host, since: since, epoch: head.queryValue("epoch"))
        }
    }

    /// Closes with a close frame (for example 4003 when banned).
    func close(code: UInt16, reason: String) {
        guard case .open = self.phase else {
            // Not a WebSocket (yet): nothing to say, just go.
            self.connection.closeAfterFlush(timeout: 1_000_000_000)
            return
        }
        self.connection.enqueue(ServerFrame.close(WebSocketCloseCode(code), reason: reason), force: true)
        self.closeReason = "\(code) \(reason)"
        self.closeAfterFlush()
    }

    /// The route as a short name for logs.
    private var routeName: String {
        switch self.route {
        case .echo: return "/echo"
        case .bench(let channel): return "/bench/\(channel)"
        case .live(let room): return "/live/\(room)"
        default: return "-"
        }
    }

    /// A final plain-HTTP answer; the connection closes after it.
    func respond(_ response: HTTPResponse) {
        self.connection.enqueue(response.serialized())
        self.closeAfterFlush()
    }

    // MARK: - Messages

    private func received(_ message: WebSocketMessage) {
        self.server.metrics.messagesIn.increment()
        switch self.route {
        case .echo:
            self.connection.enqueue(ServerFrame.make(message.kind == .text ? .text : .binary, payload: message.payload))
        case .bench(let channel):
            let frame = ServerFrame.make(message.kind == .text ? .text : .binary, payload: message.payload)
            self.server.benchHub.publish(frame, channel: channel, from: self.connection.loop)
        case .live:
            guard let host = self.host else { return }
            guard message.kind == .text else {
                self.sendError(.badJSON, "messages are JSON text frames", ref: nil)
                return
            }
            switch RoomWireCodec.decode(message.payload) {
            case .failure(let error):
                self.sendError(error.code, error.message, ref: error.ref)
            case .success(let (command, ref)):
                self.server.rooms.submit(command, ref: ref, from: self, host: host)
            }
        case .healthz, .readyz, .metrics, .notFound, .orders, .file, .roomList, .devToken:
            break
        }
    }

    /// An error answered here, without a trip to the room (the message never reached it).
    private func sendError(_ code: RoomError, _ message: String, ref: String?) {
        let event = RoomEvent.error(code: code, message: message, ref: ref)
        self.connection.enqueue(ServerFrame.make(.text, payload: RoomWireCodec.encode(event)))
    }

    /// §7.1.7: fail the connection with the code the RFC prescribes, then ignore further input.
    private func fail(_ error: WebSocketProtocolError) {
        self.server.counters.protocolErrors.increment()
        Log.debug("protocol error", ["error": error, "code": error.closeCode])
        self.connection.enqueue(ServerFrame.close(error.closeCode))
        self.closeReason = "\(error.closeCode.rawValue) protocol error"
        self.closeAfterFlush()
    }

    private func closeAfterFlush() {
        self.phase = .closing
        self.closeRequested = true
        self.connection.closeAfterFlush(timeout: nanoseconds(self.server.config.webSocket.closeTimeout))
    }
}

func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1_000_000_000) }

@available(*, unavailable)
extension WebSocketSession: Sendable {}

extension String {
    var trimmingWhitespaceForName: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace || first.isNewline { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace || last.isNewline { scalars.removeLast() }
        return String(scalars)
    }
}
