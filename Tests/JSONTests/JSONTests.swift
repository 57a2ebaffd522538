import JSON
import Testing

@Suite("JSON parser and writer")
struct JSONTests {
    @Test func parsesAllValueKinds() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5, 1e3, true, false, null], "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}} "#)
        #expect(value["a"] == .array([.int(1), .double(-2.5), .double(1000), .bool(true), .bool(false), .null]))
        #expect(value["s"]?.stringValue == "x\"\\/\né😀")
        #expect(value["o"] == .object([]))
        #expect(value["missing"] == nil)
    }

    @Test func keepsKeyOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2}"#)
        #expect(value.objectFields?.map(\.key) == ["z", "a"])
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "\"unterminated", "tru", "{\"a\" 1}", "[1] 2", "\"\\x\"",
        "\"\\ud800\"", "\"a\u{01}\"", "{'a':1}", "NaN",
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(String(repeating: "[", count: 1000)) }
        #expect((try? JSONParser.parse(String(repeating: "[", count: 10) + String(repeating: "]", count: 10))) != nil)
    }

    @Test func writerRoundTrips() throws {
        let value: JSONValue = .object([
            ("type", .string("comment")), ("text", .string("冬笋 \"fresh\"\n\u{01}")), ("n", .int(-42)),
            ("price", .double(12.5)), ("ok", .bool(true)), ("list", .array([.null, .int(1)])),
        ])
        var writer = JSONWriter()
        writer.value(value)
        #expect(try JSONParser.parse(writer.bytes) == value)
        #expect(String(decoding: writer.bytes, as: UTF8.self).contains("\\u0001"))
    }

    @Test func integersStayExact() throws {
        #expect(try JSONParser.parse("9007199254740993").intValue == 9_007_199_254_740_993)
        #expect(try JSONParser.parse("2.0").intValue == 2)
        #expect(try JSONParser.parse("2.5").intValue == nil)
    }
}
