/// Every way a peer can break RFC 6455, each mapped to the close code the RFC prescribes.
public enum WebSocketProtocolError: Error, Equatable, Sendable {
    /// RSV1–3 set while no extension was negotiated (§5.2).
    case reservedBitsSet
    /// Opcode 0x3–0x7 or 0xB–0xF (§5.2).
    case unknownOpcode(UInt8)
    /// A client frame without the mask bit, or a server frame with it (§5.1).
    case maskingMismatch
    /// Control frame with FIN clear (§5.5).
    case fragmentedControlFrame
    /// Control frame payload over 125 bytes (§5.5).
    case controlFrameTooLong
    /// 64-bit length with the most significant bit set (§5.2).
    case invalidLength
    /// Continuation frame with no message in progress (§5.4).
    case unexpectedContinuation
    /// A new text/binary frame while a fragmented message is in progress (§5.4).
    case expectedContinuation
    /// A frame or message larger than the configured maximum.
    case messageTooBig
    /// Text payload or close reason that is not valid UTF-8 (§8.1).
    case invalidUTF8
    /// Close frame with a one-byte payload, or a status code not allowed on the wire (§7.4).
    case invalidCloseFrame

    /// The close code to send before closing the TCP connection.
    public var closeCode: WebSocketCloseCode {
        switch self {
        case .invalidUTF8: return .invalidPayloadData
        case .messageTooBig: return .messageTooBig
        default: return .protocolError
        }
    }
}
