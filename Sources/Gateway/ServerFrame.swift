import Transport
import WebSocket

/// Server-to-client frames as `SharedBytes`: encoded once, then queued by reference on as many
/// connections as need them (server frames are unmasked, so the bytes are the same for all).
public enum ServerFrame {
    public static func make(_ opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) -> SharedBytes {
        SharedBytes(capacity: WebSocketFrameEncoder.encodedSize(payloadLength: payload.count)) { destination in
            WebSocketFrameEncoder.encode(opcode: opcode, payload: payload, into: destination)
        }
    }

    public static func make(_ opcode: WebSocketOpcode, payload: [UInt8]) -> SharedBytes {
        payload.withUnsafeBytes { make(opcode, payload: $0) }
    }

    public static func text(_ text: String) -> SharedBytes {
        var text = text
        return text.withUTF8 { make(.text, payload: UnsafeRawBufferPointer($0)) }
    }

    public static func close(_ code: WebSocketCloseCode, reason: String = "") -> SharedBytes {
        make(.close, payload: WebSocketFrameEncoder.closePayload(code: code, reason: reason))
    }
}
