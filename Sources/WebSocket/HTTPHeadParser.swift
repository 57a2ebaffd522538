/// Incremental parser for an HTTP/1.1 request head: collects bytes until the blank line, under a
/// hard size cap, then parses the request line and header fields. Sans-IO.
///
/// The cap is deliberately small (a handshake needs a few hundred bytes): a client that has not
/// authenticated yet must not be able to make the server hold much memory.
public struct HTTPHeadParser: Sendable {
    public enum Result: Equatable {
        case needMoreData
        /// A complete head; `consumed` bytes of the last input belonged to it (the rest, if any,
        /// are the first bytes after the head, such as WebSocket frames sent eagerly).
        case head(HTTPRequestHead, consumed: Int)
    }

    public enum Error: Swift.Error, Equatable, Sendable {
        /// No blank line within `maxHeadSize` bytes: 431 Request Header Fields Too Large.
        case headTooLarge
        /// Not an HTTP/1.x request head: 400 Bad Request.
        case malformed(String)

        public var status: HTTPStatus {
            switch self {
            case .headTooLarge: return .requestHeaderFieldsTooLarge
            case .malformed: return .badRequest
            }
        }
    }

    public let maxHeadSize: Int
    private var buffer: [UInt8] = []
    /// Where to resume the search for CRLFCRLF, so a head arriving a byte at a time stays linear.
    private var scanFrom = 0

    public init(maxHeadSize: Int = 8192) {
        self.maxHeadSize = maxHeadSize
    }

    /// Bytes held so far.
    public var bufferedBytes: Int { self.buffer.count }

    /// Feeds the next bytes; throws as soon as the head is known to be bad.
    public mutating func feed(_ input: UnsafeRawBufferPointer) throws(Error) -> Result {
        let previous = self.buffer.count
        let room = self.maxHeadSize - previous
        self.buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input.prefix(room)))
        var index = max(0, self.scanFrom - 3)
        let count = self.buffer.count
        while index + 3 < count {
            if self.buffer[index] == 13 && self.buffer[index + 1] == 10 && self.buffer[index + 2] == 13
                && self.buffer[index + 3] == 10
            {
                let headEnd = index + 4
                let head = try Self.parse(self.buffer[0..<index])
                self.buffer = []
                self.scanFrom = 0
                return .head(head, consumed: headEnd - previous)
            }
            index += 1
        }
        self.scanFrom = count
        if count >= self.maxHeadSize { throw .headTooLarge }
        return .needMoreData
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws(Error) -> HTTPRequestHead {
        var lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 13 ? line.dropLast() : line
        }
        guard !lines.isEmpty else { throw .malformed("empty request") }
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { throw .malformed("bad request line") }
        guard parts[0].allSatisfy(isTokenByte) else { throw .malformed("bad method") }
        guard parts[1].allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .malformed("bad request target") }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .malformed("unsupported HTTP version") }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            // RFC 9112 §5.2: obsolete line folding is rejected with 400.
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                throw .malformed("obsolete line folding")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("header without colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .malformed("bad header name") }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 32 || first == 9 { value.removeFirst() }
            while let last = value.last, last == 32 || last == 9 { value.removeLast() }
            guard value.allSatisfy({ $0 >= 32 || $0 == 9 }), value.allSatisfy({ $0 != 127 }) else {
                throw .malformed("control character in header value")
            }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return HTTPRequestHead(
            method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self),
            version: version, headers: headers)
    }

    /// RFC 9110 §5.6.2 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
