import Testing
import WebSocket

@Suite("WebSocketReader: frames to messages, byte by byte")
struct WebSocketReaderTests {
    // RFC 6455 §5.7: a single-frame masked text message "Hello".
    let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]

    @Test func rfcMaskedHello() {
        let result = ReaderHarness.run(maskedHello)
        #expect(result.error == nil)
        #expect(result.actions == [.message(WebSocketMessage(text: "Hello"))])
    }

    @Test func rfcUnmaskedHelloAsClient() {
        let result = ReaderHarness.run([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F], role: .client)
        #expect(result.actions == [.message(WebSocketMessage(text: "Hello"))])
    }

    @Test func rfcFragmentedUnmaskedTextAsClient() {
        // §5.7: "Hel" then "lo".
        let bytes: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F]
        let result = ReaderHarness.run(bytes, role: .client)
        #expect(result.actions == [.message(WebSocketMessage(text: "Hello"))])
    }

    @Test func sameResultForEveryChunking() {
        // Text in two fragments with a ping between them, then a 300-byte binary, then a close.
        let binary = (0..<300).map { UInt8($0 & 0xFF) }
        let stream =
            clientFrame(0x1, Array("Hel".utf8), fin: false) + clientFrame(0x9, [1, 2])
            + clientFrame(0x0, Array("lo".utf8)) + clientFrame(0x2, binary, key: 0x0102_0304)
            + clientFrame(0x8, [0x03, 0xE8] + Array("bye".utf8))
        let expected: [WebSocketReader.Action] = [
            .ping([1, 2]), .message(WebSocketMessage(text: "Hello")),
            .message(WebSocketMessage(kind: .binary, payload: binary)), .close(code: .normalClosure, reason: "bye"),
        ]
        for pieces in ReaderHarness.chunkings(of: stream) {
            let result = ReaderHarness.run(pieces: pieces)
            #expect(result.error == nil)
            #expect(result.actions == expected, "pieces: \(pieces.map(\.count))")
        }
    }

    @Test func extendedLengths() {
        for size in [125, 126, 127, 65535, 65536, 70000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let result = ReaderHarness.run(clientFrame(0x2, payload), chunk: 1000)
            #expect(result.actions == [.message(WebSocketMessage(kind: .binary, payload: payload))], "size \(size)")
        }
    }

    @Test func emptyMessagesAndControlFrames() {
        let result = ReaderHarness.run(clientFrame(0x1, []) + clientFrame(0x9, []) + clientFrame(0xA, []) + clientFrame(0x8, []))
        #expect(result.actions == [.message(WebSocketMessage(text: "")), .ping([]), .pong([]), .close(code: nil, reason: "")])
    }

    @Test(arguments: [
        (clientFrame(0x1, Array("x".utf8), rsv: 0x40), WebSocketProtocolError.reservedBitsSet),
        (clientFrame(0x3, []), .unknownOpcode(3)),
        (clientFrame(0xB, []), .unknownOpcode(0xB)),
        ([0x81, 0x01, 0x41], .maskingMismatch),
        (clientFrame(0x9, [], fin: false), .fragmentedControlFrame),
        (clientFrame(0x9, [UInt8](repeating: 1, count: 126)), .controlFrameTooLong),
        (clientFrame(0x0, Array("x".utf8)), .unexpectedContinuation),
        (clientFrame(0x1, Array("a".utf8), fin: false) + clientFrame(0x1, Array("b".utf8)), .expectedContinuation),
        (clientFrame(0x1, [0xC0, 0x80]), .invalidUTF8),
        (clientFrame(0x1, [0xED, 0xA0, 0x80]), .invalidUTF8),
        (clientFrame(0x1, [0xE2, 0x82]), .invalidUTF8),
        (clientFrame(0x8, [0x03]), .invalidCloseFrame),
        (clientFrame(0x8, [0x03, 0xED]), .invalidCloseFrame),  // 1005 may not be sent
        (clientFrame(0x8, [0x00, 0x00]), .invalidCloseFrame),
        (clientFrame(0x8, [0x13, 0x88]), .invalidCloseFrame),  // 5000
        (clientFrame(0x8, [0x03, 0xE8, 0xFF]), .invalidUTF8),
        ([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], .invalidLength),
    ])
    func protocolErrors(bytes: [UInt8], expected: WebSocketProtocolError) {
        for pieces in ReaderHarness.chunkings(of: bytes) {
            #expect(ReaderHarness.run(pieces: pieces).error == expected)
        }
    }

    @Test func protocolErrorsMapToRFCCodes() {
        #expect(WebSocketProtocolError.invalidUTF8.closeCode == .invalidPayloadData)
        #expect(WebSocketProtocolError.messageTooBig.closeCode == .messageTooBig)
        #expect(WebSocketProtocolError.reservedBitsSet.closeCode == .protocolError)
        #expect(WebSocketProtocolError.unexpectedContinuation.closeCode == .protocolError)
    }

    @Test func frameLargerThanLimitFailsBeforePayload() {
        // Only the header is sent: the error must come without waiting for 2000 payload bytes.
        let header = Array(clientFrame(0x2, [UInt8](repeating: 0, count: 2000)).prefix(8))
        let result = ReaderHarness.run(header, maxFrameSize: 1000, maxMessageSize: 1000)
        #expect(result.error == .messageTooBig)
    }

    @Test func fragmentedMessageLargerThanLimit() {
        let bytes = clientFrame(0x2, [UInt8](repeating: 0, count: 600), fin: false) + clientFrame(0x0, [UInt8](repeating: 0, count: 600))
        #expect(ReaderHarness.run(bytes, maxFrameSize: 1000, maxMessageSize: 1000).error == .messageTooBig)
    }

    @Test func invalidUTF8FailsFastInsideAFrame() {
        // A 100-byte text frame whose 10th byte is invalid: deliver only the first 20 bytes.
        var payload = [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        payload[9] = 0xFF
        let frame = clientFrame(0x1, payload)
        let result = ReaderHarness.run(Array(frame.prefix(20)))
        #expect(result.error == .invalidUTF8)
    }

    @Test func utf8SplitAcrossFragmentsIsValid() {
        // "€" (E2 82 AC) split across two fragments is fine.
        let bytes = clientFrame(0x1, [0xE2, 0x82], fin: false) + clientFrame(0x0, [0xAC])
        #expect(ReaderHarness.run(bytes).actions == [.message(WebSocketMessage(text: "€"))])
    }

    @Test func randomInputNeverTrapsAndChunkingNeverChangesTheOutcome() {
        // Seeded random streams must end in actions or a protocol error, never a crash, and the
        // same bytes give the same actions and error however they are split into reads.
        var generator = SplitMix64(seed: 0x5EED)
        for round in 0..<2000 {
            let length = Int(generator.next() % 64)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if round % 2 == 0 && !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x0F) }
            if round % 3 == 0 && bytes.count > 1 { bytes[1] |= 0x80 }
            let chunk = 1 + Int(generator.next() % 8)
            let split = ReaderHarness.run(bytes, chunk: chunk, maxFrameSize: 512, maxMessageSize: 1024)
            let whole = ReaderHarness.run(bytes, maxFrameSize: 512, maxMessageSize: 1024)
            #expect(split.actions == whole.actions && split.error == whole.error, "round \(round)")
        }
    }
}

/// A tiny deterministic generator for seeded tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
