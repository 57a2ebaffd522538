import CLinux
import Glibc
import Transport
import WebSocket

/// The client side of one WebSocket connection, driven by a `Transport` event loop: sends the
/// upgrade request, checks the 101, then turns frames into messages for `onMessage`. Frames it
/// sends are masked (RFC 6455 §5.3) with a per-connection key.
final class ClientSession: ConnectionHandler {
    enum Phase {
        case handshaking([UInt8])
        case open(WebSocketReader)
        case closed
    }

    let connection: Connection
    private var phase: Phase = .handshaking([])
    private let expectedAccept: String
    private var maskKey: UInt32
    var onOpen: ((ClientSession) -> Void)?
    var onMessage: ((ClientSession, WebSocketMessage) -> Void)?
    var onClose: ((ClientSession, String) -> Void)?
    /// Free for the scenario (buyer index, say).
    var tag = 0
    /// "host:port" this session is connected to.
    let host: String

    init(connection: Connection, host: String, path: String) {
        self.host = host
        self.connection = connection
        var generator = SystemRandomNumberGenerator()
        let key = Base64.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
        self.expectedAccept = WebSocketHandshake.acceptValue(forKey: key)
        self.maskKey = UInt32.random(in: 1...UInt32.max, using: &generator)
        connection.enqueue(WebSocketHandshake.clientRequest(host: host, path: path, key: key))
    }

    var isOpen: Bool { if case .open = self.phase { return true } else { return false } }

    func send(text: String) {
        var text = text
        let frame = text.withUTF8 { utf8 in
            SharedBytes(capacity: WebSocketFrameEncoder.encodedSize(payloadLength: utf8.count, masked: true)) {
                WebSocketFrameEncoder.encode(opcode: .text, payload: UnsafeRawBufferPointer(utf8), maskKey: self.maskKey, into: $0)
            }
        }
        self.connection.enqueue(frame)
    }

    func connectionReceived(_ connection: Connection, bytes: UnsafeMutableRawBufferPointer) {
        var offset = 0
        if case .handshaking(var head) = self.phase {
            head.append(contentsOf: bytes)
            guard let end = Self.headEnd(head) else {
                if head.count > 16384 { self.fail("oversized response head") } else { self.phase = .handshaking(head) }
                return
            }
            let text = String(decoding: head[0..<end], as: UTF8.self)
            guard text.hasPrefix("HTTP/1.1 101"), text.contains(self.expectedAccept) else {
                self.fail("handshake refused: " + String(text.split(separator: "\r\n").first ?? ""))
                return
            }
            self.phase = .open(WebSocketReader(role: .client, maxFrameSize: 16 << 20, maxMessageSize: 16 << 20))
            self.onOpen?(self)
            // Bytes after the head belong to the WebSocket stream.
            let extra = head.count - (end + 4)
            offset = bytes.count - extra
        }
        guard case .open(var reader) = self.phase else { return }
        self.phase = .closed
        while true {
            do {
                switch try reader.next(bytes, offset: &offset) {
                case .needMoreData:
                    self.phase = .open(reader)
                    return
                case .message(let message):
                    self.onMessage?(self, message)
                case .ping(let payload):
                    let frame = WebSocketFrameEncoder.frame(opcode: .pong, payload: payload, maskKey: self.maskKey)
                    connection.enqueue(frame)
                case .pong:
                    break
                case .close(let code, _):
                    self.onClose?(self, "closed by server \(code.map { String($0.rawValue) } ?? "-")")
                    connection.closeAfterFlush()
                    return
                }
            } catch {
                self.fail("protocol error \(error)")
                return
            }
        }
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func fail(_ reason: String) {
        self.phase = .closed
        self.onClose?(self, reason)
        self.connection.abort()
    }

    func connectionOverflowed(_ connection: Connection) { self.fail("client queue overflow") }
    func connectionTick(_ connection: Connection, now: UInt64) {}
    func connectionClosed(_ connection: Connection) {
        if case .closed = self.phase { return }
        self.phase = .closed
        self.onClose?(self, "connection closed")
    }

    /// Opens a non-blocking TCP connection from `source` (a 127.x address, to spread ports over
    /// several source addresses) to `host:port` and hands it to `loop`. Loop thread only.
    static func connect(
        loop: EventLoop, host: String, port: UInt16, source: String?, path: String,
        configure: @escaping (ClientSession) -> Void
    ) -> ClientSession? {
        let fd = hometown_socket_stream(AF_INET)
        guard fd >= 0 else { return nil }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            _ = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &remote.sin_addr)
        let result = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else {
            Glibc.close(fd)
            return nil
        }
        _ = hometown_set_int_option(fd, Int32(IPPROTO_TCP), HOMETOWN_TCP_NODELAY, 1)
        var session: ClientSession?
        loop.adopt(fd: fd) { connection in
            let created = ClientSession(connection: connection, host: "\(host):\(port)", path: path)
            configure(created)
            session = created
            return created
        }
        return session
    }
}
