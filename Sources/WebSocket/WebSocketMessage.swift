/// A complete data message, reassembled from one or more frames.
public struct WebSocketMessage: Equatable, Sendable {
    public enum Kind: Sendable {
        case text
        case binary
    }

    public var kind: Kind
    public var payload: [UInt8]

    public init(kind: Kind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    public init(text: String) {
        self.kind = .text
        self.payload = Array(text.utf8)
    }

    /// The payload as a string (text messages are already validated UTF-8).
    public var text: String { String(decoding: self.payload, as: UTF8.self) }
}
