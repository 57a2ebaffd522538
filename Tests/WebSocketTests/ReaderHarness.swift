import WebSocket

/// Feeds bytes to a `WebSocketReader` in the given chunk sizes and records what comes out.
struct ReaderHarness {
    var actions: [WebSocketReader.Action] = []
    var error: WebSocketProtocolError?

    static func run(
        _ bytes: [UInt8], chunk: Int? = nil, role: WebSocketFrameDecoder.Role = .server,
        maxFrameSize: Int = 1 << 20, maxMessageSize: Int = 1 << 20
    ) -> ReaderHarness {
        let size = max(1, chunk ?? bytes.count)
        let pieces = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min(bytes.count, $0 + size)]) }
        return run(pieces: pieces, role: role, maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
    }

    /// Every split of `bytes` into two chunks, plus one byte at a time and all at once.
    static func chunkings(of bytes: [UInt8]) -> [[[UInt8]]] {
        var result: [[[UInt8]]] = [[bytes], bytes.map { [$0] }]
        for split in 1..<max(1, bytes.count) {
            result.append([Array(bytes[..<split]), Array(bytes[split...])])
        }
        return result
    }

    static func run(
        pieces: [[UInt8]], role: WebSocketFrameDecoder.Role = .server, maxFrameSize: Int = 1 << 20,
        maxMessageSize: Int = 1 << 20
    ) -> ReaderHarness {
        var reader = WebSocketReader(role: role, maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
        var harness = ReaderHarness()
        for var piece in pieces where harness.error == nil {
            piece.withUnsafeMutableBytes { buffer in
                var offset = 0
                while true {
                    do {
                        let action = try reader.next(buffer, offset: &offset)
                        if action == .needMoreData { return }
                        harness.actions.append(action)
                    } catch {
                        harness.error = error as? WebSocketProtocolError
                        return
                    }
                }
            }
        }
        return harness
    }
}

/// A masked client frame, as a browser would send it.
func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, key: UInt32 = 0x37FA_213D, rsv: UInt8 = 0)
    -> [UInt8]
{
    var frame: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
    if payload.count < 126 {
        frame.append(0x80 | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        frame.append(0x80 | 126)
        frame.append(UInt8(payload.count >> 8))
        frame.append(UInt8(payload.count & 0xFF))
    } else {
        frame.append(0x80 | 127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
    }
    let keyBytes: [UInt8] = [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
    frame.append(contentsOf: keyBytes)
    for (index, byte) in payload.enumerated() { frame.append(byte ^ keyBytes[index % 4]) }
    return frame
}
