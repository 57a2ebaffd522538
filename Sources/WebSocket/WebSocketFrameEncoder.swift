/// Builds frames (RFC 6455 §5.2). Server frames are unmasked, so one encoding can be shared by
/// every receiver of a broadcast; client frames carry a mask key chosen by the caller.
public enum WebSocketFrameEncoder {
    /// Bytes needed to encode a frame with this payload length.
    public static func encodedSize(payloadLength: Int, masked: Bool = false) -> Int {
        WebSocketFrameHeader.size(payloadLength: payloadLength, masked: masked) + payloadLength
    }

    /// Writes a whole frame at `destination` (which must hold `encodedSize(...)` bytes) and
    /// returns the bytes written. A mask key masks the payload copy, never the source.
    @discardableResult
    public static func encode(
        opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true, maskKey: UInt32? = nil,
        into destination: UnsafeMutableRawPointer
    ) -> Int {
        let header = WebSocketFrameHeader(fin: fin, opcode: opcode, payloadLength: payload.count, maskKey: maskKey)
        let headerSize = header.write(to: destination)
        if let base = payload.baseAddress, payload.count > 0 {
            (destination + headerSize).copyMemory(from: base, byteCount: payload.count)
            if let maskKey {
                WebSocketMasking.apply(
                    key: maskKey, phase: 0,
                    to: UnsafeMutableRawBufferPointer(start: destination + headerSize, count: payload.count))
            }
        }
        return headerSize + payload.count
    }

    /// A frame as a fresh array.
    public static func frame(
        opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true, maskKey: UInt32? = nil
    ) -> [UInt8] {
        let size = encodedSize(payloadLength: payload.count, masked: maskKey != nil)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = encode(opcode: opcode, payload: payload, fin: fin, maskKey: maskKey, into: buffer.baseAddress!)
        }
    }

    /// A frame as a fresh array, from any byte collection.
    public static func frame<C: Collection>(
        opcode: WebSocketOpcode, payload: C, fin: Bool = true, maskKey: UInt32? = nil
    ) -> [UInt8] where C.Element == UInt8 {
        Array(payload).withUnsafeBytes { frame(opcode: opcode, payload: $0, fin: fin, maskKey: maskKey) }
    }

    /// The payload of a close frame: the code in network order, then the UTF-8 reason (§5.5.1).
    /// The reason is cut at a character boundary so the payload fits in 125 bytes.
    public static func closePayload(code: WebSocketCloseCode, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var reasonBytes = 0
        for scalar in reason.unicodeScalars {
            let width = String(scalar).utf8.count
            if reasonBytes + width > 123 { break }
            payload.append(contentsOf: String(scalar).utf8)
            reasonBytes += width
        }
        return payload
    }

    /// A complete close frame.
    public static func closeFrame(code: WebSocketCloseCode, reason: String = "", maskKey: UInt32? = nil) -> [UInt8] {
        frame(opcode: .close, payload: closePayload(code: code, reason: reason), maskKey: maskKey)
    }
}
