import Testing

@testable import Gateway

@Suite("Log lines")
struct LogFormatTests {
    @Test func timestampsAreRFC3339InUTC() {
        #expect(Log.rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(Log.rfc3339(1_796_097_124_331) == "2026-12-01T03:52:04.331Z")
        #expect(Log.rfc3339(951_782_400_007) == "2000-02-29T00:00:00.007Z")
    }
}
