/// Frame opcodes (RFC 6455 §5.2). Values 0x3–0x7 and 0xB–0xF are reserved and fail the connection.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Control frames have the high bit of the opcode set (§5.5).
    public var isControl: Bool { self.rawValue & 0x8 != 0 }
}
