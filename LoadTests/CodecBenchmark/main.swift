import Glibc
import Transport
import WebSocket

// Frame decode/encode throughput, release build:  swift run -c release hometown-codec-bench
// Each case runs for about a second of work and prints MB/s (payload bytes) and frames/s.

func now() -> Double { MonotonicClock.seconds() }

func report(_ name: String, frames: Int, payloadBytes: Int, seconds: Double) {
    let mbps = Double(payloadBytes) / seconds / 1_000_000
    let fps = Double(frames) / seconds
    let padded = name + String(repeating: " ", count: max(0, 48 - name.count))
    print(padded + " \(Int(mbps)) MB/s  \(Int(fps)) frames/s")
}

/// Decodes a buffer of back-to-back masked client frames, `rounds` times.
func benchDecode(payloadSize: Int, text: Bool) {
    let payload = [UInt8](repeating: UInt8(ascii: "a"), count: payloadSize)
    let frame = WebSocketFrameEncoder.frame(opcode: text ? .text : .binary, payload: payload, maskKey: 0x1234_5678)
    let perBuffer = max(1, (1 << 20) / frame.count)
    let template = Array(repeating: frame, count: perBuffer).flatMap { $0 }
    var buffer = template
    var frames = 0
    var bytes = 0
    let start = now()
    while now() - start < 1.0 {
        // Decoding unmasks in place, so each round starts from a fresh masked copy (memcpy, counted).
        buffer.withUnsafeMutableBytes { destination in
            template.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
        var reader = WebSocketReader(role: .server, maxFrameSize: 1 << 24, maxMessageSize: 1 << 24)
        buffer.withUnsafeMutableBytes { raw in
            var offset = 0
            while true {
                guard let action = try? reader.next(raw, offset: &offset) else { fatalError("decode failed") }
                if case .message(let message) = action {
                    frames += 1
                    bytes += message.payload.count
                } else if action == .needMoreData {
                    break
                }
            }
        }
    }
    report(
        "decode \(text ? "text" : "binary") \(payloadSize) B (masked, validated)", frames: frames, payloadBytes: bytes,
        seconds: now() - start)
}

/// Encodes server frames into a reused buffer.
func benchEncode(payloadSize: Int) {
    let payload = [UInt8](repeating: 7, count: payloadSize)
    let size = WebSocketFrameEncoder.encodedSize(payloadLength: payloadSize)
    let destination = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
    defer { destination.deallocate() }
    var frames = 0
    let start = now()
    payload.withUnsafeBytes { source in
        while now() - start < 1.0 {
            for _ in 0..<1000 {
                _ = WebSocketFrameEncoder.encode(opcode: .binary, payload: source, into: destination)
            }
            frames += 1000
        }
    }
    report("encode server frame \(payloadSize) B", frames: frames, payloadBytes: frames * payloadSize, seconds: now() - start)
}

func benchUTF8(text: String) {
    let bytes = Array(String(repeating: text, count: (1 << 20) / text.utf8.count).utf8)
    var rounds = 0
    let start = now()
    while now() - start < 1.0 {
        precondition(UTF8Validator.isValid(bytes))
        rounds += 1
    }
    report("utf-8 validate 1 MiB of \"\(text)\"", frames: rounds, payloadBytes: rounds * bytes.count, seconds: now() - start)
}

print("Hometown codec benchmark (release build, one thread)")
for size in [16, 125, 1024] { benchDecode(payloadSize: size, text: true) }
for size in [64 * 1024, 1 << 20] { benchDecode(payloadSize: size, text: false) }
benchDecode(payloadSize: 64 * 1024, text: true)
for size in [16, 125, 1024, 64 * 1024] { benchEncode(payloadSize: size) }
benchUTF8(text: "ascii text ")
benchUTF8(text: "冬笋直播")
