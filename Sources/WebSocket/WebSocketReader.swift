/// Turns the inbound byte stream of one connection into messages and control frames: frame
/// decoding, fragment reassembly (§5.4), incremental UTF-8 checks (§8.1) and close-frame validation
/// (§7.4). Sans-IO: the caller feeds bytes and acts on what comes back.
public struct WebSocketReader: Sendable {
    /// The next thing the connection must act on.
    public enum Action: Equatable {
        case needMoreData
        case message(WebSocketMessage)
        /// §5.5.2: answer with a pong carrying the same payload.
        case ping([UInt8])
        case pong([UInt8])
        /// The peer's close frame; `code` is nil when it carried no status (§7.1.5).
        case close(code: WebSocketCloseCode?, reason: String)
    }

    private var decoder: WebSocketFrameDecoder
    /// Largest reassembled message, checked against each frame header before its payload arrives.
    public let maxMessageSize: Int
    /// Kind of the data message in progress, nil between messages.
    private var messageKind: WebSocketMessage.Kind?
    private var messageBuffer: [UInt8] = []
    private var utf8 = UTF8Validator()
    /// Header of the frame whose payload is arriving.
    private var frame: WebSocketFrameHeader?
    private var controlBuffer: [UInt8] = []

    private static let reserveLimit = 64 * 1024

    public init(role: WebSocketFrameDecoder.Role, maxFrameSize: Int, maxMessageSize: Int) {
        self.decoder = WebSocketFrameDecoder(role: role, maxFrameSize: min(maxFrameSize, maxMessageSize))
        self.maxMessageSize = maxMessageSize
    }

    /// Bytes held for a message in progress (for memory accounting).
    public var bufferedBytes: Int { self.messageBuffer.capacity + self.controlBuffer.capacity }

    /// Reads from `input[offset...]` until one action is complete or the input runs out. Payload is
    /// unmasked in place. After a thrown error the connection must be failed; do not call again.
    public mutating func next(
        _ input: UnsafeMutableRawBufferPointer, offset: inout Int
    ) throws(WebSocketProtocolError) -> Action {
        while true {
            switch try self.decoder.next(input, offset: &offset) {
            case .needMoreData:
                return .needMoreData
            case .header(let header):
                try self.begin(header)
            case .payload(let bytes):
                try self.append(bytes)
            case .frameEnd:
                if let action = try self.end() { return action }
            }
        }
    }

    private mutating func begin(_ header: WebSocketFrameHeader) throws(WebSocketProtocolError) {
        self.frame = header
        switch header.opcode {
        case .text, .binary:
            // §5.4: a new data frame may not interrupt a fragmented message.
            if self.messageKind != nil { throw .expectedContinuation }
            if header.payloadLength > self.maxMessageSize { throw .messageTooBig }
            self.messageKind = header.opcode == .text ? .text : .binary
            self.utf8 = UTF8Validator()
            // Reserve what arrives soon, not what the header promises: a peer that declares a
            // 16 MiB frame and then stalls must not cost 16 MiB up front.
            self.messageBuffer.reserveCapacity(min(header.payloadLength, Self.reserveLimit))
        case .continuation:
            guard self.messageKind != nil else { throw .unexpectedContinuation }
            if self.messageBuffer.count + header.payloadLength > self.maxMessageSize { throw .messageTooBig }
        // No reserve here: an exact reserve per fragment would defeat the array's geometric
        // growth and make many small fragments quadratic (Autobahn 9.4.* found this).
        case .close, .ping, .pong:
            self.controlBuffer.removeAll(keepingCapacity: true)
        }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) throws(WebSocketProtocolError) {
        guard let frame = self.frame else { return }
        if frame.opcode.isControl {
            self.controlBuffer.append(contentsOf: bytes)
            return
        }
        // Fail fast: invalid UTF-8 closes the connection at the first bad byte, not at message end.
        if self.messageKind == .text && !self.utf8.validate(bytes) { throw .invalidUTF8 }
        self.messageBuffer.append(contentsOf: bytes)
    }

    private mutating func end() throws(WebSocketProtocolError) -> Action? {
        guard let frame = self.frame else { return nil }
        self.frame = nil
        switch frame.opcode {
        case .ping:
            return .ping(self.takeControlPayload())
        case .pong:
            return .pong(self.takeControlPayload())
        case .close:
            return try self.closeAction(self.takeControlPayload())
        case .text, .binary, .continuation:
            guard frame.fin, let kind = self.messageKind else { return nil }
            if kind == .text && !self.utf8.isComplete { throw .invalidUTF8 }
            let payload = self.messageBuffer
            // Hand the storage to the message and start empty: an idle connection keeps no buffer.
            self.messageBuffer = []
            self.messageKind = nil
            return .message(WebSocketMessage(kind: kind, payload: payload))
        }
    }

    private mutating func takeControlPayload() -> [UInt8] {
        let payload = self.controlBuffer
        self.controlBuffer = []
        return payload
    }

    private func closeAction(_ payload: [UInt8]) throws(WebSocketProtocolError) -> Action {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        // §5.5.1: a body, if present, starts with a two-byte status code.
        if payload.count == 1 { throw .invalidCloseFrame }
        let code = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        if !code.isValidOnWire { throw .invalidCloseFrame }
        let reason = payload[2...]
        if !UTF8Validator.isValid(reason) { throw .invalidUTF8 }
        return .close(code: code, reason: String(decoding: reason, as: UTF8.self))
    }
}
