import Auth
import LiveRoom
import Transport
import WebSocket

/// One client connection through its life: the HTTP head, then either a plain-HTTP answer (from
/// the router) or the upgrade, then WebSocket frames in and messages out. The fixed sequence
/// bytes → parser → reader → endpoint, with no pipeline.
///
/// Loop-confined, like its `Connection`: every method runs on the connection's loop.
final class WebSocketSession: ConnectionHandler {
    enum Phase {
        case awaitingHead(HTTPHeadParser)
        case open(WebSocketReader)
        /// The parser or reader is out in a local variable while it works (so mutating it does
        /// not copy its buffer); it is put back unless the session closed meanwhile.
        case working
        /// We sent a close frame (or a final HTTP answer); input is ignored.
        case closing
    }

    let connection: Connection
    let context: SessionContext
    var phase: Phase
    private var route: WebSocketRoute?
    private let openedAt: UInt64
    private var pingSent = false
    private var closeRequested = false
    /// Why the connection ended, when the server ended it (for the log line and /metrics).
    var closeReason: String?
    /// Live rooms: who this is, its member id, its room, and its slot in the loop's audience.
    var identity = Identity(user: "", name: "", role: .viewer, anonymous: true)
    var member: MemberID = 0
    var room: RoomHandle?
    /// Cluster mode: the session's room is reached through this node's gate to it instead.
    var gate: ClusterRoom?
    /// Position in this loop's `Audience` (of a room, or of a bench channel), -1 when in none.
    var audienceSlot = -1
    /// One connection's share: room messages it may send (every type), and its recent refusals.
    var messageBudget: TokenBucket?
    private var refusals = 0
    private var refusalsSince: Int64 = 0

    /// Set when admission refused this connection: its request gets this answer. A refusal for
    /// being full is not applied to the operator's probes (`/healthz`, `/readyz`, `/metrics`):
    /// a server at its connection limit is busy, not dead, and must not be restarted for it.
    private var refusal: HTTPResponse?
    private var refusedAsFull = false
    private var admitted = false

    init(connection: Connection, context: SessionContext) {
        self.connection = connection
        self.context = context
        switch context.limiter.admit(connection.peer, now: WallClock.nowMillis()) {
        case .admit:
            self.admitted = true
        case .full(let why):
            self.refusal = .text(.serviceUnavailable, why + "\n", headers: [("Retry-After", "5")])
            self.refusedAsFull = true
        case .tooFast:
            self.refusal = .text(.tooManyRequests, "too many new connections from your address\n", headers: [("Retry-After", "1")])
        }
        self.phase = .awaitingHead(HTTPHeadParser(maxHeadSize: context.config.webSocket.maxHandshakeSize))
        self.openedAt = connection.loop.now
    }

    // MARK: - ConnectionHandler

    func connectionReceived(_ connection: Connection, bytes: UnsafeMutableRawBufferPointer) {
        var offset = 0
        if case .awaitingHead(var parser) = self.phase {
            self.phase = .working
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
                self.respondAndClose(WebSocketHandshake.Rejection(status: error.status, message: "bad request head").response)
                return
            }
        }
        guard case .open(var reader) = self.phase else { return }
        self.phase = .working
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
                self.closeReason = "peer close"
                self.closeAfterFlush()
                return false
            }
            if self.closeRequested { return false }
        }
    }

    func connectionOverflowed(_ connection: Connection) {
        // Slow consumer: drop what it has not started receiving, tell it why, and let go.
        connection.discardQueued()
        connection.enqueue(ServerFrame.close(.slowConsumer, reason: "slow consumer"), force: true)
        self.context.metrics.slowConsumerDisconnects.increment()
        self.closeReason = "4008 slow consumer"
        Log.debug("slow consumer", ["peer": connection.peer.description])
        self.closeAfterFlush()
    }

    func connectionTick(_ connection: Connection, now: UInt64) {
        let settings = self.context.config.webSocket
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
        case .working, .closing:
            break
        }
    }

    func connectionClosed(_ connection: Connection) {
        if self.admitted { self.context.limiter.release(connection.peer) }
        let reason = self.closeReason ?? (self.route != nil ? "peer disconnected" : "http")
        self.context.metrics.connectionsClosed.increment(reason)
        if let route = self.route {
            Log.info(
                "connection closed",
                [
                    "peer": connection.peer.description, "path": route.logName, "user": self.identity.user,
                    "reason": reason, "seconds": Double((connection.loop.now &- self.openedAt) / 1_000_000) / 1000,
                ])
        }
        if case .bench(let channel) = self.route {
            self.context.bench.remove(self, room: channel)
        }
        if let room = self.room {
            self.context.rooms.leave(self, handle: room)
            self.room = nil
        }
        if let gate = self.gate {
            gate.leave(self)
            self.gate = nil
        }
        self.phase = .closing
    }

    // MARK: - The request head

    static let probePaths: Set<String> = ["/healthz", "/readyz", "/metrics"]

    private func handle(_ head: HTTPRequestHead) {
        if self.refusedAsFull && Self.probePaths.contains(String(head.path)) {
            // Answered (and closed) like any plain request: one short-lived descriptor.
            self.routeHTTP(head)
            return
        }
        if let refusal = self.refusal {
            self.closeReason = "refused \(refusal.status.code)"
            self.respondAndClose(refusal)
            return
        }
        guard self.context.upgrades, let route = WebSocketRoute.resolve(head, config: self.context.config) else {
            self.routeHTTP(head)
            return
        }
        var admission: RoomAdmission?
        if case .live(let room) = route {
            switch self.admitToRoom(room, head) {
            case .failure(let refusal):
                self.respondAndClose(refusal.response)
                return
            case .success(let admitted):
                admission = admitted
            }
        }
        // Browsers send Origin; an allow list stops other sites' pages from using a viewer's
        // cookies or tokens against us (cross-site WebSocket hijacking).
        let origins = self.context.config.limits.allowedOrigins
        if !origins.isEmpty, let origin = head.header("Origin"), !origins.contains(origin) {
            self.respondAndClose(.text(.forbidden, "origin not allowed\n"))
            return
        }
        let accept: String
        switch WebSocketHandshake.validate(head) {
        case .failure(let rejection):
            self.respondAndClose(rejection.response)
            return
        case .success(let value):
            accept = value
        }
        self.upgrade(route, accept: accept, head: head, admission: admission)
    }

    /// A plain-HTTP request: the router's handler answers, and the connection closes after it.
    private func routeHTTP(_ head: HTTPRequestHead) {
        switch self.context.router.match(head) {
        case .notFound:
            self.respondAndClose(.text(.notFound, "not found\n"))
        case .methodNotAllowed(let allowed):
            let list = allowed.joined(separator: ", ")
            self.respondAndClose(.text(.methodNotAllowed, list + "\n", headers: [("Allow", list)]))
        case .handler(let handler, let request):
            self.phase = .closing
            let bound = LoopBound(self, loop: self.connection.loop)
            handler.handle(request, reply: HTTPReply { response in bound.withValueOnLoop { $0.respondAndClose(response) } })
        }
    }

    private func upgrade(_ route: WebSocketRoute, accept: String, head: HTTPRequestHead, admission: RoomAdmission?) {
        let config = self.context.config
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
        case .bench, .live:
            reader = WebSocketReader(
                role: .server, maxFrameSize: config.webSocket.maxFrameSize, maxMessageSize: config.webSocket.maxMessageSize)
        }
        self.route = route
        self.connection.enqueue(WebSocketHandshake.acceptResponse(acceptValue: accept).serialized())
        self.phase = .open(reader)
        Log.info(
            "connection opened",
            [
                "peer": self.connection.peer.description, "path": route.logName, "user": self.identity.user,
                "role": self.identity.role.rawValue,
            ])
        switch route {
        case .echo:
            break
        case .bench(let channel):
            self.context.bench.add(self, room: channel)
        case .live:
            guard let admission else { return }
            self.enterRoom(admission, head: head)
        }
    }

    /// Closes with a close frame (for example 4003 when banned).
    /// May be called while a message is being handled (the reader is out: `.working`).
    func close(code: UInt16, reason: String) {
        if case .closing = self.phase { return }
        guard self.route != nil else {
            // Not a WebSocket (yet): nothing to say, just go.
            self.connection.closeAfterFlush(timeout: 1_000_000_000)
            return
        }
        self.connection.enqueue(ServerFrame.close(WebSocketCloseCode(code), reason: reason), force: true)
        self.closeReason = "\(code) \(reason)"
        self.closeAfterFlush()
    }

    /// A final plain-HTTP answer, after which the connection closes.
    func respondAndClose(_ response: HTTPResponse) {
        // Refusals (401 bad token, 403 origin, 404 no room, 429/503 limits, 4xx bad requests) are
        // one line each at debug level (`log_level: debug`), for an operator chasing a client.
        if response.status.code >= 400 {
            Log.debug(
                "request refused",
                ["peer": self.connection.peer.description, "status": response.status.code, "reason": Self.firstLine(response.body)])
        }
        self.connection.enqueue(response.serialized())
        self.closeAfterFlush()
    }

    private static func firstLine(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(200).prefix { $0 != 10 }, as: UTF8.self)
    }

    // MARK: - Messages

    private func received(_ message: WebSocketMessage) {
        self.context.metrics.messagesIn.increment()
        switch self.route {
        case .echo:
            self.connection.enqueue(ServerFrame.make(message.kind == .text ? .text : .binary, payload: message.payload))
        case .bench(let channel):
            let frame = ServerFrame.make(message.kind == .text ? .text : .binary, payload: message.payload)
            self.context.bench.broadcast(frame, droppable: false, room: channel)
        case .live:
            guard self.room != nil || self.gate != nil else { return }
            guard self.withinBudget() else { return }
            guard message.kind == .text else {
                self.replyInRoom(.error(code: .badJSON, message: "messages are JSON text frames", ref: nil))
                return
            }
            // Cluster mode: the gate decodes only when the room runs here; a message for an owner
            // elsewhere is forwarded as it came and decoded (once) there.
            if let gate = self.gate { return gate.submit(message.payload, from: self.member) }
            guard let room = self.room else { return }
            switch RoomWireCodec.decode(message.payload) {
            case .failure(let error):
                // Answered through the room's queue, so it comes after the answers to this
                // connection's earlier commands.
                self.replyInRoom(.error(code: error.code, message: error.message, ref: error.ref))
            case .success(let (command, ref)):
                self.context.rooms.submit(command, ref: ref, from: self.member, handle: room)
            }
        case nil:
            break
        }
    }

    /// Takes one message from the connection's budget. Over budget, the message is refused with
    /// `rate_limited` (through the room's queue, in order); a client that keeps flooding is closed
    /// with 1008. Costs no JSON decoding and no room work, so a flood is cheap to refuse.
    private func withinBudget() -> Bool {
        let now = Int64(self.connection.loop.now / 1_000_000)
        guard var budget = self.messageBudget else { return true }
        let allowed = budget.take(now: now)
        self.messageBudget = budget
        if allowed { return true }
        if now - self.refusalsSince > 10_000 {
            self.refusalsSince = now
            self.refusals = 0
        }
        self.refusals += 1
        self.context.metrics.messagesRefused.increment()
        if self.refusals > self.context.config.limits.closeAfterRefusals {
            self.close(code: WebSocketCloseCode.policyViolation.rawValue, reason: "too many messages")
        } else {
            self.replyInRoom(.error(code: .rateLimited, message: "too many messages; slow down", ref: nil))
        }
        return false
    }

    /// An answer the session decided itself, through the room's queue (or the cluster gate).
    private func replyInRoom(_ event: RoomEvent) {
        if let gate = self.gate {
            gate.reply(event, to: self.member)
        } else if let room = self.room {
            self.context.rooms.reply(event, to: self.member, handle: room)
        }
    }

    /// §7.1.7: fail the connection with the code the RFC prescribes, then ignore further input.
    private func fail(_ error: WebSocketProtocolError) {
        self.context.metrics.protocolErrors.increment()
        Log.debug("protocol error", ["error": error, "code": error.closeCode])
        self.connection.enqueue(ServerFrame.close(error.closeCode))
        self.closeReason = "\(error.closeCode.rawValue) protocol error"
        self.closeAfterFlush()
    }

    private func closeAfterFlush() {
        self.phase = .closing
        self.closeRequested = true
        self.connection.closeAfterFlush(timeout: nanoseconds(self.context.config.webSocket.closeTimeout))
    }
}

func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1_000_000_000) }

@available(*, unavailable)
extension WebSocketSession: Sendable {}
