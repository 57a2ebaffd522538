/// One RESP2 value, as Redis sends it (https://redis.io/docs/latest/develop/reference/protocol-spec/).
///
/// Bulk strings are bytes, not `String`: Redis values are binary-safe and most of ours are JSON
/// that the caller parses anyway. `nil` payloads are RESP2's null bulk string and null array.
public enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8]?)
    case array([RESPValue]?)

    /// The value as text: a simple or bulk string (UTF-8), an integer's digits; nil otherwise.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(decoding: bytes, as: UTF8.self)
        case .integer(let number): return String(number)
        default: return nil
        }
    }

    /// The value as a number: an integer reply, or a string of digits.
    public var integer: Int64? {
        switch self {
        case .integer(let number): return number
        case .bulkString(let bytes?): return Int64(String(decoding: bytes, as: UTF8.self))
        case .simpleString(let text): return Int64(text)
        default: return nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let values?) = self { return values }
        return nil
    }

    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }

    /// The error text of an error reply ("ERR ...", "NOSCRIPT ...", our scripts' "FENCED").
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
