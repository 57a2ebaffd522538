// libFuzzer harness for the HTTP head parser and the handshake validator (built by run.sh).
// Any byte stream, in any split, ends in a head, a clean error, or a request for more data.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 64) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var parser = HTTPHeadParser(maxHeadSize: 2048)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunk)
        let result = bytes[start..<end].withUnsafeBytes { buffer in
            Result { () throws(HTTPHeadParser.Error) in try parser.feed(buffer) }
        }
        switch result {
        case .failure:
            return 0
        case .success(.needMoreData):
            start = end
        case .success(.head(let head, let consumed)):
            precondition(consumed >= 0 && consumed <= end - start, "consumed out of range")
            _ = WebSocketHandshake.validate(head)
            _ = head.queryValue("token")
            return 0
        }
    }
    return 0
}
