// libFuzzer harness for the frame decoder and message reader (not a SwiftPM target; built by
// Tests/Fuzz/run.sh together with the WebSocket module's sources).
//
// The first input byte picks a chunk size, so the fuzzer also explores how input is split: the
// reader must end in actions or a WebSocketProtocolError for every byte stream and every split,
// never trap, and never report a message larger than its limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 32) + 1
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    for role in [WebSocketFrameDecoder.Role.server, .client] {
        var reader = WebSocketReader(role: role, maxFrameSize: 1024, maxMessageSize: 4096)
        var start = 0
        var failed = false
        while start < bytes.count && !failed {
            let end = min(bytes.count, start + chunk)
            bytes.withUnsafeMutableBytes { buffer in
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<end])
                var offset = 0
                while true {
                    do {
                        let action = try reader.next(piece, offset: &offset)
                        switch action {
                        case .needMoreData:
                            return
                        case .message(let message):
                            precondition(message.payload.count <= 4096, "message over the limit")
                            if message.kind == .text { precondition(UTF8Validator.isValid(message.payload)) }
                        case .ping(let payload), .pong(let payload):
                            precondition(payload.count <= 125, "control payload over 125 bytes")
                        case .close:
                            break
                        }
                    } catch {
                        failed = true
                        return
                    }
                }
            }
            start = end
        }
    }
    return 0
}
