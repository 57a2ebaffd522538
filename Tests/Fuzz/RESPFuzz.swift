// libFuzzer harness for the RESP decoder (built by run.sh). Any byte stream, in any split, ends
// in values, a clean protocol error, or a request for more data; and every value it produces
// encodes back to bytes that decode to the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 32) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var decoder = RESPDecoder(maxBulkLength: 1 << 16, maxArrayCount: 1024, maxDepth: 8, maxLineLength: 1024)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunk)
        decoder.feed(Array(bytes[start..<end]))
        while true {
            let next: RESPValue?
            do {
                next = try decoder.next()
            } catch {
                return 0
            }
            guard let value = next else { break }
            var encoded: [UInt8] = []
            RESPEncoder.appendValue(value, to: &encoded)
            var again = RESPDecoder()
            again.feed(encoded)
            precondition((try? again.next()) == value, "re-encoded value decodes differently")
        }
        start = end
    }
    precondition(decoder.bufferedBytes <= bytes.count, "buffered more than was fed")
    return 0
}
