/// Streaming RESP2 reader: bytes in, complete values out, in any chunking. Sans-IO.
///
/// Bounded like the WebSocket reader: a bulk string longer than `maxBulkLength`, an array longer
/// than `maxArrayCount` or nested deeper than `maxDepth`, or a line longer than `maxLineLength`
/// is a protocol error, not a reason to buffer more. A value arriving in pieces is not re-parsed
/// on every byte: the decoder remembers how many bytes it needs before the next attempt can
/// succeed (a bulk string's whole length), so one large value costs linear time.
public struct RESPDecoder: Sendable {
    public struct Error: Swift.Error, Equatable, Sendable {
        public let message: String
        public init(_ message: String) { self.message = message }
    }

    public let maxBulkLength: Int
    public let maxArrayCount: Int
    public let maxDepth: Int
    public let maxLineLength: Int

    private var buffer: [UInt8] = []
    private var start = 0
    /// Buffered bytes (from `start`) needed before parsing can make progress.
    private var needed = 1

    public init(maxBulkLength: Int = 64 * 1024 * 1024, maxArrayCount: Int = 1_048_576, maxDepth: Int = 8, maxLineLength: Int = 64 * 1024) {
        self.maxBulkLength = maxBulkLength
        self.maxArrayCount = maxArrayCount
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }

    /// Bytes received but not yet part of a returned value.
    public var bufferedBytes: Int { self.buffer.count - self.start }

    /// Adds bytes; take values with `next()` until it returns nil.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if self.start > 0 && self.start >= self.buffer.count / 2 {
            self.buffer.removeFirst(self.start)
            self.start = 0
        }
        self.buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.feed($0) }
    }

    /// The next complete value, nil when more bytes are needed; throws on a protocol error (the
    /// connection must then be dropped: the stream has no resynchronisation point).
    public mutating func next() throws(Error) -> RESPValue? {
        guard self.buffer.count - self.start >= self.needed else { return nil }
        var cursor = Cursor(start: self.start, end: self.buffer.count)
        let parsed = try self.buffer.withUnsafeBufferPointer { bytes throws(Error) in
            try self.parse(bytes, &cursor, depth: 0)
        }
        guard let value = parsed else {
            self.needed = max(1, cursor.needed - self.start)
            return nil
        }
        self.start = cursor.position
        self.needed = 1
        if self.start == self.buffer.count {
            self.buffer.removeAll(keepingCapacity: self.buffer.capacity <= 64 * 1024)
            self.start = 0
        }
        return value
    }

    private struct Cursor {
        var position: Int
        let end: Int
        /// When parsing stops short: the absolute buffer length that could let it go on.
        var needed = 0
        init(start: Int, end: Int) {
            self.position = start
            self.end = end
        }
    }

    private func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ cursor: inout Cursor, depth: Int) throws(Error) -> RESPValue? {
        guard cursor.position < cursor.end else {
            cursor.needed = cursor.position + 1
            return nil
        }
        let type = bytes[cursor.position]
        guard let line = try self.line(bytes, &cursor, from: cursor.position + 1) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: bytes[line], as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: bytes[line], as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try Self.number(bytes[line]))
        case UInt8(ascii: "$"):
            let length = try Self.number(bytes[line])
            if length == -1 { return .bulkString(nil) }
            guard length >= 0, length <= self.maxBulkLength else { throw Error("bulk string length \(length) out of range") }
            let payloadEnd = cursor.position + Int(length)
            guard payloadEnd + 2 <= cursor.end else {
                cursor.needed = payloadEnd + 2
                return nil
            }
            guard bytes[payloadEnd] == 13, bytes[payloadEnd + 1] == 10 else { throw Error("bulk string not followed by CRLF") }
            let payload = Array(bytes[cursor.position..<payloadEnd])
            cursor.position = payloadEnd + 2
            return .bulkString(payload)
        case UInt8(ascii: "*"):
            let count = try Self.number(bytes[line])
            if count == -1 { return .array(nil) }
            guard count >= 0, count <= self.maxArrayCount else { throw Error("array length \(count) out of range") }
            guard depth < self.maxDepth else { throw Error("arrays nested deeper than \(self.maxDepth)") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(Int(count), 1024))
            for _ in 0..<count {
                guard let element = try self.parse(bytes, &cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw Error("unknown type byte \(type)")
        }
    }

    /// The range of the line starting at `from` (without CRLF); moves the cursor past the CRLF.
    private func line(_ bytes: UnsafeBufferPointer<UInt8>, _ cursor: inout Cursor, from: Int) throws(Error) -> Range<Int>? {
        var index = from
        while index + 1 < cursor.end {
            if bytes[index] == 13 {
                guard bytes[index + 1] == 10 else { throw Error("CR not followed by LF") }
                cursor.position = index + 2
                return from..<index
            }
            index += 1
            if index - from > self.maxLineLength { throw Error("line longer than \(self.maxLineLength) bytes") }
        }
        if index - from > self.maxLineLength { throw Error("line longer than \(self.maxLineLength) bytes") }
        cursor.needed = cursor.end + 1
        return nil
    }

    /// A signed decimal, strictly: digits with an optional leading minus, at most 18 of them.
    private static func number(_ digits: Slice<UnsafeBufferPointer<UInt8>>) throws(Error) -> Int64 {
        var value: Int64 = 0
        var negative = false
        var seen = 0
        for (offset, byte) in digits.enumerated() {
            if offset == 0 && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= 48, byte <= 57, seen < 18 else { throw Error("bad number '\(String(decoding: digits, as: UTF8.self))'") }
            value = value * 10 + Int64(byte - 48)
            seen += 1
        }
        guard seen > 0 else { throw Error("empty number") }
        return negative ? -value : value
    }
}
