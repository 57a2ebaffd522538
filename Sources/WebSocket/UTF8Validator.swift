/// Incremental UTF-8 validation (RFC 3629), fed chunk by chunk so a text message that turns invalid
/// fails as soon as the offending byte arrives (RFC 6455 §8.1: "fail the WebSocket connection").
///
/// Rejects overlong forms, surrogates (U+D800–U+DFFF) and code points above U+10FFFF.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current code point.
    private var remaining: UInt8 = 0
    /// Allowed range for the next continuation byte (narrower right after some lead bytes).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// True when the bytes so far end on a code point boundary.
    public var isComplete: Bool { self.remaining == 0 }

    /// Validates the next chunk. Returns false as soon as an invalid byte is seen; after that the
    /// validator's state is meaningless and the caller fails the connection.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if self.remaining == 0 {
                // Fast path: 8 ASCII bytes at a time, the common case for chat text and JSON.
                while index + 8 <= count {
                    let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    index += 8
                }
                if index >= count { break }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                switch byte {
                case 0x00...0x7F:
                    continue
                case 0xC2...0xDF:
                    self.remaining = 1; self.lower = 0x80; self.upper = 0xBF
                case 0xE0:
                    self.remaining = 2; self.lower = 0xA0; self.upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF:
                    self.remaining = 2; self.lower = 0x80; self.upper = 0xBF
                case 0xED:
                    // Excludes the surrogates U+D800–U+DFFF.
                    self.remaining = 2; self.lower = 0x80; self.upper = 0x9F
                case 0xF0:
                    self.remaining = 3; self.lower = 0x90; self.upper = 0xBF
                case 0xF1...0xF3:
                    self.remaining = 3; self.lower = 0x80; self.upper = 0xBF
                case 0xF4:
                    // Caps code points at U+10FFFF.
                    self.remaining = 3; self.lower = 0x80; self.upper = 0x8F
                default:
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                guard byte >= self.lower && byte <= self.upper else { return false }
                self.remaining -= 1
                self.lower = 0x80
                self.upper = 0xBF
            }
        }
        return true
    }

    /// Validates a complete byte sequence in one go.
    public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var validator = UTF8Validator()
        let ok =
            bytes.withContiguousStorageIfAvailable { validator.validate(UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { validator.validate($0) }
        return ok && validator.isComplete
    }
}
