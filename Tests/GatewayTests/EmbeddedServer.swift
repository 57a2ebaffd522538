import Auth
import JSON
import OrderJournal
import TestSupport
import Testing
import Transport
import WebSocket

@testable import Gateway

let embeddedSecret = "embedded-test-secret-0123456789"

func embeddedToken(_ sub: String, role: String = "viewer", room: String? = nil) -> String {
    JWT.sign(JWT.Claims(sub: sub, name: sub, role: role, room: room, exp: 4_000_000_000), secret: embeddedSecret)
}

/// The whole server — sessions, rooms, journal — on one loop driven by the test's own thread,
/// with in-memory connections: deterministic, no sockets, no loop threads.
final class EmbeddedServer {
    let server: HometownServer
    let loop: EventLoop
    /// The store behind the journal (when on): hold or fail its commits.
    let store: FaultyStore?

    init(journal: Bool = true, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var config = ServerConfiguration()
        config.loops = 1
        config.rooms.demo = false
        config.auth.jwtSecret = embeddedSecret
        config.journal.enabled = journal
        config.dataDirectory = makeTemporaryDirectory()
        configure(&config)
        var wrapped: FaultyStore?
        self.server = try HometownServer(
            config: config,
            wrapStore: { store in
                let faulty = FaultyStore(store)
                wrapped = faulty
                return faulty
            })
        self.store = wrapped
        self.loop = self.server.group.loops[0]
    }

    deinit { self.server.stop() }

    /// An upgraded connection to `path`, its `101` consumed.
    func connect(_ path: String) -> EmbeddedClient {
        let client = EmbeddedClient(loop: self.loop, connection: self.loop.embedConnection())
        client.sendRaw(WebSocketHandshake.clientRequest(host: "embedded", path: path, key: "dGhlIHNhbXBsZSBub25jZQ=="))
        let head = client.takeHTTPHead()
        precondition(head.hasPrefix("HTTP/1.1 101"), "upgrade refused: \(head)")
        return client
    }

    /// An upgraded connection to a room, its `welcome` received (an issue is recorded otherwise).
    func joined(_ path: String) -> EmbeddedClient {
        let client = self.connect(path)
        if self.next("welcome", from: client) == nil { Issue.record("no welcome on \(path)") }
        return client
    }

    /// Runs the loop until `client` receives a message of `type` and returns it (messages of
    /// other types before it are dropped); nil if none comes in 10 s.
    func next(_ type: String, from client: EmbeddedClient) -> JSONValue? {
        var found: JSONValue?
        self.settle {
            found = client.messages().first { $0["type"]?.stringValue == type }
            return found != nil
        }
        return found
    }

    /// Runs what other threads (the journal) handed the loop until `condition` holds.
    @discardableResult
    func settle(_ condition: () -> Bool) -> Bool { self.loop.runUntil(timeout: 10, condition) }
}

/// A client on an in-memory connection: masked frames in, decoded messages out.
final class EmbeddedClient {
    let loop: EventLoop
    let connection: Connection
    private var input: [UInt8] = []
    private var received: [JSONValue] = []
    private(set) var closeCode: UInt16?

    init(loop: EventLoop, connection: Connection) {
        self.loop = loop
        self.connection = connection
    }

    func sendRaw(_ bytes: [UInt8]) { self.loop.receive(bytes, on: self.connection) }

    func send(_ json: String) {
        self.sendRaw(WebSocketFrameEncoder.frame(opcode: .text, payload: Array(json.utf8), maskKey: 0x1234_5678))
    }

    /// The HTTP answer to the request (everything up to the blank line).
    func takeHTTPHead() -> String {
        self.input += self.loop.takeOutput(of: self.connection)
        guard let end = self.input.firstRange(of: Array("\r\n\r\n".utf8)) else { return String(decoding: self.input, as: UTF8.self) }
        let head = String(decoding: self.input[..<end.lowerBound], as: UTF8.self)
        self.input.removeSubrange(..<end.upperBound)
        return head
    }

    /// Every message received so far (and not yet taken), decoded.
    func messages() -> [JSONValue] {
        self.input += self.loop.takeOutput(of: self.connection)
        var reader = WebSocketReader(role: .client, maxFrameSize: 1 << 24, maxMessageSize: 1 << 24)
        var bytes = self.input
        var offset = 0
        bytes.withUnsafeMutableBytes { buffer in
            while let action = try? reader.next(buffer, offset: &offset), action != .needMoreData {
                switch action {
                case .message(let message):
                    if let value = try? JSONParser.parse(message.payload) { self.received.append(value) }
                case .close(let code, _):
                    self.closeCode = code?.rawValue
                default:
                    break
                }
            }
        }
        self.input.removeSubrange(..<offset)
        let taken = self.received
        self.received = []
        return taken
    }

    /// The types of the messages received so far, in order.
    func types() -> [String] { self.messages().map { $0["type"]?.stringValue ?? "?" } }
}
