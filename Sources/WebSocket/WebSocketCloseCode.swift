/// Close status codes (RFC 6455 §7.4) plus Hometown's own codes in the private range 4000–4999.
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let normalClosure = WebSocketCloseCode(1000)
    public static let goingAway = WebSocketCloseCode(1001)
    public static let protocolError = WebSocketCloseCode(1002)
    public static let unsupportedData = WebSocketCloseCode(1003)
    /// Never sent on the wire: stands for "close frame had no status code" (§7.1.5).
    public static let noStatusReceived = WebSocketCloseCode(1005)
    public static let invalidPayloadData = WebSocketCloseCode(1007)
    public static let policyViolation = WebSocketCloseCode(1008)
    public static let messageTooBig = WebSocketCloseCode(1009)
    public static let internalError = WebSocketCloseCode(1011)
    public static let tryAgainLater = WebSocketCloseCode(1013)

    /// The connection's outbound queue passed its hard limit: it was not reading fast enough.
    public static let slowConsumer = WebSocketCloseCode(4008)
    /// No traffic (not even a pong) for longer than the idle timeout.
    public static let idleTimeout = WebSocketCloseCode(4009)

    /// Whether a peer may send this code in a close frame (§7.4.1, §7.4.2). 1005, 1006 and 1015
    /// are reserved for reporting and must never appear on the wire; unassigned codes below 3000
    /// are invalid; 3000–4999 belong to libraries and applications.
    public var isValidOnWire: Bool {
        switch self.rawValue {
        case 1000...1003, 1007...1014: return true
        case 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(self.rawValue) }
}
