import Testing
import WebSocket

@Suite("Encoding, masking, UTF-8, base64")
struct CodecTests {
    @Test func encodesRFCExamples() {
        #expect(WebSocketFrameEncoder.frame(opcode: .text, payload: Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(
            WebSocketFrameEncoder.frame(opcode: .text, payload: Array("Hello".utf8), maskKey: 0x37FA_213D)
                == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        // 256 bytes: 16-bit length; 65536 bytes: 64-bit length (§5.7).
        #expect(
            Array(WebSocketFrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 0, count: 256)).prefix(4)) == [
                0x82, 0x7E, 0x01, 0x00,
            ])
        #expect(
            Array(WebSocketFrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 0, count: 65536)).prefix(10))
                == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test(arguments: [0, 1, 5, 125, 126, 65535, 65536])
    func encodeThenReadRoundTrips(size: Int) {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let frame = WebSocketFrameEncoder.frame(opcode: .binary, payload: payload, maskKey: 0xA1B2_C3D4)
        let result = ReaderHarness.run(frame, chunk: 777)
        #expect(result.actions == [.message(WebSocketMessage(kind: .binary, payload: payload))])
    }

    @Test func maskingIsPhaseAwareAcrossChunks() {
        let original = (0..<37).map { UInt8($0) }
        var whole = original
        whole.withUnsafeMutableBytes { _ = WebSocketMasking.apply(key: 0x0102_0304, phase: 0, to: $0) }
        var pieces = original
        pieces.withUnsafeMutableBytes { buffer in
            var phase = 0
            for range in [0..<3, 3..<13, 13..<14, 14..<37] {
                phase = WebSocketMasking.apply(key: 0x0102_0304, phase: phase, to: UnsafeMutableRawBufferPointer(rebasing: buffer[range]))
            }
        }
        #expect(whole == pieces)
        #expect(whole[0] == 0 ^ 1 && whole[1] == 1 ^ 2 && whole[4] == 4 ^ 1)
    }

    @Test func closePayloadIsCodeThenReasonWithin125Bytes() {
        #expect(WebSocketFrameEncoder.closePayload(code: .messageTooBig) == [0x03, 0xF1])
        let long = WebSocketFrameEncoder.closePayload(code: .normalClosure, reason: String(repeating: "界", count: 100))
        #expect(long.count <= 125)
        #expect(UTF8Validator.isValid(long[2...]))
    }

    @Test(arguments: [
        ("", true), ("hello", true), ("κόσμε", true), ("直播带货 冬笋", true), ("\u{10FFFF}", true),
    ])
    func validUTF8(text: String, valid: Bool) {
        #expect(UTF8Validator.isValid(Array(text.utf8)) == valid)
    }

    @Test(
        arguments: [
            [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0xFE], [0xCE, 0xBA, 0xE1], [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0xFF],
        ] as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(!UTF8Validator.isValid(bytes))
    }

    @Test func utf8ValidatorIsIncremental() {
        let bytes = Array("a€𝄞b".utf8)
        for split in 0...bytes.count {
            var validator = UTF8Validator()
            let first = bytes[..<split].withUnsafeBytes { validator.validate($0) }
            let second = bytes[split...].withUnsafeBytes { validator.validate($0) }
            #expect(first && second && validator.isComplete, "split at \(split)")
        }
    }

    @Test func base64Vectors() {
        let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.encode([0xFB, 0xFF], urlSafe: true) == "-_8")
        #expect(Base64.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64.decode("Zg=a") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zh==") == nil)  // non-zero leftover bits
    }
}
