import JSON
import Testing

@testable import Gateway

@Suite("Log lines")
struct LogFormatTests {
    @Test func timestampsAreRFC3339InUTC() {
        #expect(Log.rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(Log.rfc3339(1_796_097_124_331) == "2026-12-01T03:52:04.331Z")
        #expect(Log.rfc3339(951_782_400_007) == "2000-02-29T00:00:00.007Z")
    }

    @Test func logfmtAndJSONLines() throws {
        let logfmt = Log.line(.info, "order export", ["user": "root", "room": "a b"], json: false, at: 0)
        #expect(logfmt == "ts=1970-01-01T00:00:00.000Z level=info msg=\"order export\" user=root room=\"a b\"\n")
        let json = Log.line(.warn, "limit \"hit\"", ["refused": 3], json: true, at: 0)
        #expect(json.hasSuffix("\n"))
        let parsed = try JSONParser.parse(String(json.dropLast()))
        #expect(parsed["ts"]?.stringValue == "1970-01-01T00:00:00.000Z")
        #expect(parsed["level"]?.stringValue == "warn")
        #expect(parsed["msg"]?.stringValue == "limit \"hit\"")
        #expect(parsed["refused"]?.stringValue == "3")
    }
}
