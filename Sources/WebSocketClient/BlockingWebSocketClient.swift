import Glibc
import WebSocket

/// A small blocking WebSocket client over a plain POSIX socket, for tests and the load tool's
/// skeleton. It speaks the client side of RFC 6455 with the same sans-IO types the server uses.
///
/// One thread per client; not for load generation at scale (the load tool uses event loops).
public final class BlockingWebSocketClient {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case connectFailed(Int32)
        case handshakeFailed(status: Int, head: String)
        case closed
        case timeout
        case protocolError(WebSocketProtocolError)

        public var description: String {
            switch self {
            case .connectFailed(let code): return "connect failed: \(String(cString: strerror(code)))"
            case .handshakeFailed(let status, _): return "handshake failed with HTTP \(status)"
            case .closed: return "connection closed"
            case .timeout: return "timed out"
            case .protocolError(let error): return "protocol error: \(error)"
            }
        }
    }

    /// What the server sent, as the client sees it.
    public enum Event: Equatable {
        case message(WebSocketMessage)
        case ping([UInt8])
        case pong([UInt8])
        case close(code: WebSocketCloseCode?, reason: String)
    }

    public let fd: Int32
    private var reader = WebSocketReader(role: .client, maxFrameSize: 64 << 20, maxMessageSize: 64 << 20)
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var generator = SystemRandomNumberGenerator()
    /// The response head of the upgrade (status line and headers).
    public private(set) var responseHead = ""

    /// Opens a TCP connection and, unless `upgrade` is false, performs the opening handshake.
    public init(
        host: String = "127.0.0.1", port: UInt16, path: String = "/echo", headers: [(String, String)] = [],
        timeout: Double = 10, upgrade: Bool = true, receiveBufferSize: Int32? = nil
    ) throws {
        self.fd = try Self.connect(host: host, port: port, timeout: timeout, receiveBufferSize: receiveBufferSize)
        if upgrade {
            try self.handshake(host: host, port: port, path: path, headers: headers)
        }
    }

    deinit { Glibc.close(self.fd) }

    private static func connect(host: String, port: UInt16, timeout: Double, receiveBufferSize: Int32?) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Error.connectFailed(errno) }
        if var size = receiveBufferSize {
            // Before connect, so the advertised window matches (a tiny buffer models a stalled phone).
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Error.connectFailed(code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        Self.setTimeout(fd, timeout)
        return fd
    }

    private static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Changes the receive/send timeout.
    public func setTimeout(_ seconds: Double) { Self.setTimeout(self.fd, seconds) }

    private func handshake(host: String, port: UInt16, path: String, headers: [(String, String)]) throws {
        let keyBytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &self.generator) }
        let key = Base64.encode(keyBytes)
        try self.sendRaw(WebSocketHandshake.clientRequest(host: "\(host):\(port)", path: path, key: key, extraHeaders: headers))
        let head = try self.readHTTPHead()
        self.responseHead = head
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard status == 101, head.contains(WebSocketHandshake.acceptValue(forKey: key)) else {
            throw Error.handshakeFailed(status: status, head: head)
        }
    }

    /// Reads an HTTP response head (through the blank line); later bytes stay buffered.
    public func readHTTPHead() throws -> String {
        while true {
            if let end = self.findHeadEnd() {
                let head = String(decoding: self.pending[self.pendingOffset..<end], as: UTF8.self)
                self.pendingOffset = end + 4
                return head
            }
            try self.fill()
        }
    }

    /// Reads a whole plain-HTTP response (head and body until the server closes).
    public func readHTTPResponse() throws -> String {
        while (try? self.fill()) != nil {}
        let text = String(decoding: self.pending[self.pendingOffset...], as: UTF8.self)
        self.pendingOffset = self.pending.count
        return text
    }

    private func findHeadEnd() -> Int? {
        guard self.pending.count - self.pendingOffset >= 4 else { return nil }
        for index in self.pendingOffset...(self.pending.count - 4)
        where self.pending[index] == 13 && self.pending[index + 1] == 10 && self.pending[index + 2] == 13
            && self.pending[index + 3] == 10
        {
            return index
        }
        return nil
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(self.fd, $0.baseAddress, $0.count) }
        if count > 0 {
            if self.pendingOffset > 0 && self.pendingOffset == self.pending.count {
                self.pending.removeAll(keepingCapacity: true)
                self.pendingOffset = 0
            }
            self.pending.append(contentsOf: buffer[0..<count])
            return
        }
        if count == 0 { throw Error.closed }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw Error.timeout }
        throw Error.closed
    }

    /// Sends bytes as they are (for malformed-input tests).
    public func sendRaw(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                throw Error.closed
            }
            sent += count
        }
    }

    /// Sends one masked frame.
    public func send(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) throws {
        let key = UInt32.random(in: 0...UInt32.max, using: &self.generator)
        try self.sendRaw(WebSocketFrameEncoder.frame(opcode: opcode, payload: payload, fin: fin, maskKey: key))
    }

    public func send(text: String) throws { try self.send(.text, Array(text.utf8)) }

    public func sendClose(_ code: WebSocketCloseCode = .normalClosure, reason: String = "") throws {
        try self.send(.close, WebSocketFrameEncoder.closePayload(code: code, reason: reason))
    }

    /// Reads the next event from the server.
    public func receive() throws -> Event {
        while true {
            if self.pendingOffset < self.pending.count {
                var offset = self.pendingOffset
                let result = self.pending.withUnsafeMutableBytes { buffer in
                    Result { () throws(WebSocketProtocolError) in try self.reader.next(buffer, offset: &offset) }
                }
                let action: WebSocketReader.Action
                switch result {
                case .success(let value): action = value
                case .failure(let error): throw Error.protocolError(error)
                }
                self.pendingOffset = offset
                switch action {
                case .needMoreData: break
                case .message(let message): return .message(message)
                case .ping(let payload): return .ping(payload)
                case .pong(let payload): return .pong(payload)
                case .close(let code, let reason): return .close(code: code, reason: reason)
                }
            }
            try self.fill()
        }
    }

    /// Reads until a data message arrives, answering pings on the way.
    public func receiveMessage() throws -> WebSocketMessage {
        while true {
            switch try self.receive() {
            case .message(let message): return message
            case .ping(let payload): try self.send(.pong, payload)
            case .pong: continue
            case .close: throw Error.closed
            }
        }
    }

    /// Reads events until a close frame arrives and returns its code (nil if it had none).
    public func receiveClose() throws -> WebSocketCloseCode? {
        while true {
            if case .close(let code, _) = try self.receive() { return code }
        }
    }

    /// True when the server has closed the TCP connection (reads return EOF) within the timeout.
    public func waitForEOF() -> Bool {
        while true {
            do { try self.fill() } catch Error.closed { return true } catch { return false }
        }
    }
}
