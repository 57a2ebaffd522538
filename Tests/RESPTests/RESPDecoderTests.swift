import XCTest

@testable import RESP

final class RESPDecoderTests: XCTestCase {
    /// Every value a Redis server sends us, in its wire form.
    private let samples: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":1000000000000\r\n", .integer(1_000_000_000_000)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .bulkString(nil)),
        ("$4\r\na\r\nb\r\n", .bulkString(Array("a\r\nb".utf8))),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        (
            "*3\r\n$7\r\nmessage\r\n$6\r\nht:r:1\r\n$2\r\n{}\r\n",
            .array([.bulkString(Array("message".utf8)), .bulkString(Array("ht:r:1".utf8)), .bulkString(Array("{}".utf8))])
        ),
        ("*2\r\n*1\r\n:1\r\n$-1\r\n", .array([.array([.integer(1)]), .bulkString(nil)])),
    ]

    private func decodeAll(_ bytes: [UInt8], chunk: Int, decoder: inout RESPDecoder) throws -> [RESPValue] {
        var values: [RESPValue] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            decoder.feed(Array(bytes[offset..<end]))
            while let value = try decoder.next() { values.append(value) }
            offset = end
        }
        return values
    }

    func testEachSampleWholeAndByteByByte() throws {
        for (wire, expected) in self.samples {
            for chunk in [1, 2, 3, 1000] {
                var decoder = RESPDecoder()
                let values = try self.decodeAll(Array(wire.utf8), chunk: chunk, decoder: &decoder)
                XCTAssertEqual(values, [expected], "\(wire.debugDescription) in chunks of \(chunk)")
                XCTAssertEqual(decoder.bufferedBytes, 0)
            }
        }
    }

    /// All samples back to back, split at every pair of cut points: the same values come out.
    func testEveryTwoCutSplitOfAPipeline() throws {
        let wire = Array(self.samples.map(\.0).joined().utf8)
        let expected = self.samples.map(\.1)
        for first in stride(from: 0, through: wire.count, by: 3) {
            for second in stride(from: first, through: wire.count, by: 7) {
                var decoder = RESPDecoder()
                var values: [RESPValue] = []
                for part in [wire[0..<first], wire[first..<second], wire[second...]] {
                    decoder.feed(Array(part))
                    while let value = try decoder.next() { values.append(value) }
                }
                XCTAssertEqual(values, expected, "cuts at \(first), \(second)")
            }
        }
    }

    func testEncoderAndDecoderAgree() throws {
        for (wire, value) in self.samples {
            var encoded: [UInt8] = []
            RESPEncoder.appendValue(value, to: &encoded)
            XCTAssertEqual(String(decoding: encoded, as: UTF8.self), wire)
        }
        XCTAssertEqual(
            String(decoding: RESPEncoder.command(["SET", "k", "v é"]), as: UTF8.self), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv é\r\n")
    }

    func testMalformedInputIsAProtocolError() {
        let bad = [
            "?what\r\n", ":12a\r\n", ":\r\n", "$-2\r\n", "$3\r\nabcXY", "*-5\r\n", "+OK\rX", ":99999999999999999999\r\n",
        ]
        for wire in bad {
            var decoder = RESPDecoder()
            decoder.feed(Array(wire.utf8))
            XCTAssertThrowsError(try decoder.next(), wire.debugDescription)
        }
    }

    func testLimitsAreEnforcedBeforeBuffering() {
        var decoder = RESPDecoder(maxBulkLength: 10, maxArrayCount: 3, maxDepth: 2, maxLineLength: 16)
        decoder.feed(Array("$11\r\n".utf8))
        XCTAssertThrowsError(try decoder.next())
        decoder = RESPDecoder(maxBulkLength: 10, maxArrayCount: 3, maxDepth: 2, maxLineLength: 16)
        decoder.feed(Array("*4\r\n".utf8))
        XCTAssertThrowsError(try decoder.next())
        decoder = RESPDecoder(maxBulkLength: 10, maxArrayCount: 3, maxDepth: 2, maxLineLength: 16)
        decoder.feed(Array("*1\r\n*1\r\n*1\r\n:1\r\n".utf8))
        XCTAssertThrowsError(try decoder.next())
        decoder = RESPDecoder(maxBulkLength: 10, maxArrayCount: 3, maxDepth: 2, maxLineLength: 16)
        decoder.feed(Array(repeating: UInt8(ascii: "a"), count: 40))
        decoder.feed(Array("+".utf8))
        XCTAssertThrowsError(try decoder.next())
    }

    /// A large bulk string arriving a few bytes at a time is not re-parsed per chunk: the decoder
    /// waits until the whole length is there.
    func testALargeBulkStringInSmallChunks() throws {
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        var wire = Array("$\(payload.count)\r\n".utf8)
        wire += payload + [13, 10]
        var decoder = RESPDecoder()
        let values = try self.decodeAll(wire, chunk: 97, decoder: &decoder)
        XCTAssertEqual(values, [.bulkString(payload)])
    }

    /// Random values, encoded and decoded in random chunks (seeded).
    func testRandomValuesRoundTrip() throws {
        var seed: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        func value(_ depth: Int) -> RESPValue {
            switch next(depth > 2 ? 5 : 7) {
            case 0: return .simpleString(String(repeating: "s", count: next(5)))
            case 1: return .error("ERR \(next(100))")
            case 2: return .integer(Int64(next(1_000_000)) - 500_000)
            case 3: return .bulkString((0..<next(40)).map { _ in UInt8(next(256)) })
            case 4: return .bulkString(nil)
            case 5: return .array(nil)
            default: return .array((0..<next(4)).map { _ in value(depth + 1) })
            }
        }
        for _ in 0..<300 {
            let values = (0..<(1 + next(5))).map { _ in value(0) }
            var wire: [UInt8] = []
            for element in values { RESPEncoder.appendValue(element, to: &wire) }
            var decoder = RESPDecoder()
            XCTAssertEqual(try self.decodeAll(wire, chunk: 1 + next(9), decoder: &decoder), values)
        }
    }
}
