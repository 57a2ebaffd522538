/// The request line and headers of an HTTP/1.1 request (RFC 9112 §3, §5).
public struct HTTPRequestHead: Equatable, Sendable {
    public var method: String
    /// The request target as sent, e.g. `/live/demo?token=...`.
    public var target: String
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version: String
    /// Header fields in arrival order; names keep their case, lookups ignore it.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, version: String, headers: [(name: String, value: String)]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The path part of the target, without the query.
    public var path: Substring {
        if let question = self.target.firstIndex(of: "?") { return self.target[..<question] }
        return self.target[...]
    }

    /// The raw query string after `?`, or empty.
    public var query: Substring {
        if let question = self.target.firstIndex(of: "?") { return self.target[self.target.index(after: question)...] }
        return ""
    }

    /// The value of a query parameter, percent-decoded, or nil.
    public func queryValue(_ name: String) -> String? {
        for pair in self.query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if PercentDecoding.decode(parts[0]) == name {
                return parts.count > 1 ? PercentDecoding.decode(parts[1]) : ""
            }
        }
        return nil
    }

    /// The first value of a header (case-insensitive name), or nil.
    public func header(_ name: String) -> String? {
        for field in self.headers where field.name.lowercased() == name.lowercased() { return field.value }
        return nil
    }

    /// The token of an `Authorization: Bearer ...` header, or nil.
    public var bearerToken: String? {
        guard let value = self.header("Authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1].trimmingHTTPSpaces)
    }

    /// All values of a header, each split on commas into trimmed tokens (RFC 9110 §5.6.1 lists).
    public func headerTokens(_ name: String) -> [Substring] {
        var tokens: [Substring] = []
        for field in self.headers where field.name.lowercased() == name.lowercased() {
            for token in field.value.split(separator: ",") {
                tokens.append(token.trimmingHTTPSpaces)
            }
        }
        return tokens
    }

    public static func == (lhs: HTTPRequestHead, rhs: HTTPRequestHead) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers.elementsEqual(rhs.headers, by: { $0.name == $1.name && $0.value == $1.value })
    }
}

/// `%XX` decoding for query strings; `+` means space (application/x-www-form-urlencoded).
public enum PercentDecoding {
    public static func decode<S: StringProtocol>(_ text: S) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.utf8)
        var index = 0
        while index < input.count {
            let byte = input[index]
            // A `%` not followed by two hex digits is kept as it is, and so are the bytes after
            // it (they are looked at again as ordinary bytes, not swallowed).
            if byte == UInt8(ascii: "%"), index + 2 < input.count, let high = hexValue(input[index + 1]),
                let low = hexValue(input[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
                continue
            }
            bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension StringProtocol {
    /// Without the optional white space (spaces and tabs) HTTP allows around header values.
    var trimmingHTTPSpaces: SubSequence {
        var result = self[...]
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
