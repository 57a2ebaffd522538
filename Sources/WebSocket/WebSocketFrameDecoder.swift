/// Streaming frame decoder (RFC 6455 §5.2). Knows nothing of sockets: bytes in, events out.
///
/// Payload is never buffered here. Each call hands back the next piece of the input as an event:
/// a validated header, a run of (unmasked, in place) payload bytes, or the end of a frame. Only a
/// header that straddles two reads is kept, in a few bytes of state, so an idle connection holds
/// no buffer at all and a 16 MiB frame streams through without a 16 MiB staging copy.
public struct WebSocketFrameDecoder: Sendable {
    /// Which side we are: servers require masked frames, clients require unmasked ones (§5.1).
    public enum Role: Sendable {
        case server
        case client
    }

    /// What the next bytes of input turned out to be.
    public enum Event {
        /// Consumed everything; call again when more bytes arrive.
        case needMoreData
        /// A complete, validated frame header. Payload events (if any) follow, then `.frameEnd`.
        case header(WebSocketFrameHeader)
        /// Unmasked payload bytes, a slice of the caller's buffer, valid until the caller reuses it.
        case payload(UnsafeRawBufferPointer)
        /// The current frame's payload is complete.
        case frameEnd
    }

    private enum State {
        case header
        case payload(remaining: Int, maskKey: UInt32?, phase: Int)
        case end
    }

    public let role: Role
    /// Largest payload one frame may declare; larger fails with `.messageTooBig` before any payload
    /// is read (check before buffering).
    public var maxFrameSize: Int
    private var state: State = .header
    /// Partial header bytes carried over from the previous input (at most 13).
    private var stash: [UInt8] = []

    public init(role: Role, maxFrameSize: Int) {
        self.role = role
        self.maxFrameSize = maxFrameSize
    }

    /// Decodes the next event from `input[offset...]` and advances `offset` past what it consumed.
    /// Payload is unmasked in place, which is why the input is mutable.
    public mutating func next(
        _ input: UnsafeMutableRawBufferPointer, offset: inout Int
    ) throws(WebSocketProtocolError) -> Event {
        switch self.state {
        case .end:
            self.state = .header
            return .frameEnd
        case .payload(let remaining, let maskKey, let phase):
            let available = input.count - offset
            if available == 0 { return .needMoreData }
            let take = min(available, remaining)
            let slice = UnsafeMutableRawBufferPointer(rebasing: input[offset..<(offset + take)])
            offset += take
            var nextPhase = phase
            if let maskKey { nextPhase = WebSocketMasking.apply(key: maskKey, phase: phase, to: slice) }
            self.state = take == remaining ? .end : .payload(remaining: remaining - take, maskKey: maskKey, phase: nextPhase)
            return .payload(UnsafeRawBufferPointer(slice))
        case .header:
            guard let header = try self.parseHeader(input, offset: &offset) else { return .needMoreData }
            self.state = header.payloadLength == 0 ? .end : .payload(remaining: header.payloadLength, maskKey: header.maskKey, phase: 0)
            return .header(header)
        }
    }

    private mutating func parseHeader(
        _ input: UnsafeMutableRawBufferPointer, offset: inout Int
    ) throws(WebSocketProtocolError) -> WebSocketFrameHeader? {
        if self.stash.isEmpty {
            let available = UnsafeRawBufferPointer(rebasing: input[offset...])
            switch try Self.decodeHeader(available, role: self.role, maxFrameSize: self.maxFrameSize) {
            case .some((let header, let used)):
                offset += used
                return header
            case .none:
                self.stash.append(contentsOf: available)
                offset = input.count
                return nil
            }
        }
        // A header split across reads: top up the stash one byte at a time until it decodes, so
        // that we never take payload bytes into it.
        while offset < input.count {
            self.stash.append(input[offset])
            offset += 1
            let role = self.role
            let maxFrameSize = self.maxFrameSize
            let decoded = self.stash.withUnsafeBytes { bytes in
                Result { () throws(WebSocketProtocolError) in
                    try Self.decodeHeader(bytes, role: role, maxFrameSize: maxFrameSize)
                }
            }
            if let (header, _) = try decoded.get() {
                self.stash = []
                return header
            }
        }
        return nil
    }

    /// Decodes and validates a header at the start of `bytes`; nil if more bytes are needed.
    /// Validation happens as soon as the bytes that decide it are present (fail fast).
    static func decodeHeader(
        _ bytes: UnsafeRawBufferPointer, role: Role, maxFrameSize: Int
    ) throws(WebSocketProtocolError) -> (WebSocketFrameHeader, Int)? {
        guard bytes.count >= 1 else { return nil }
        let first = bytes[0]
        // §5.2: RSV1-3 MUST be 0 unless an extension defines them; we negotiate none.
        if first & 0x70 != 0 { throw .reservedBitsSet }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else { throw .unknownOpcode(first & 0x0F) }
        let fin = first & 0x80 != 0
        // §5.5: control frames MUST NOT be fragmented.
        if opcode.isControl && !fin { throw .fragmentedControlFrame }
        guard bytes.count >= 2 else { return nil }
        let second = bytes[1]
        let masked = second & 0x80 != 0
        // §5.1: a server MUST close on an unmasked client frame; a client on a masked server frame.
        if masked != (role == .server) { throw .maskingMismatch }
        let shortLength = Int(second & 0x7F)
        // §5.5: control frame payloads are at most 125 bytes.
        if opcode.isControl && shortLength > 125 { throw .controlFrameTooLong }
        var used = 2
        var length = shortLength
        if shortLength == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
            used = 4
        } else if shortLength == 127 {
            guard bytes.count >= 10 else { return nil }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(bytes[index]) }
            // §5.2: the most significant bit MUST be 0.
            if value & (1 << 63) != 0 { throw .invalidLength }
            if value > UInt64(maxFrameSize) { throw .messageTooBig }
            length = Int(value)
            used = 10
        }
        if length > maxFrameSize { throw .messageTooBig }
        var maskKey: UInt32?
        if masked {
            guard bytes.count >= used + 4 else { return nil }
            maskKey = UInt32(bytes[used]) << 24 | UInt32(bytes[used + 1]) << 16 | UInt32(bytes[used + 2]) << 8 | UInt32(bytes[used + 3])
            used += 4
        }
        return (WebSocketFrameHeader(fin: fin, opcode: opcode, payloadLength: length, maskKey: maskKey), used)
    }
}
