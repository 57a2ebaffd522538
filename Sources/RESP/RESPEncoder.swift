/// Writes commands the way every Redis client does: an array of bulk strings
/// (`*<n>\r\n$<len>\r\n<bytes>\r\n...`). Sans-IO: appends to a byte buffer the caller sends.
public enum RESPEncoder {
    /// Appends one command (name and arguments) to `buffer`.
    public static func appendCommand(_ arguments: [String], to buffer: inout [UInt8]) {
        appendHeader(UInt8(ascii: "*"), arguments.count, to: &buffer)
        for argument in arguments {
            var argument = argument
            argument.withUTF8 { bytes in
                appendHeader(UInt8(ascii: "$"), bytes.count, to: &buffer)
                buffer.append(contentsOf: bytes)
            }
            buffer.append(13)
            buffer.append(10)
        }
    }

    /// One command as bytes.
    public static func command(_ arguments: [String]) -> [UInt8] {
        var buffer: [UInt8] = []
        appendCommand(arguments, to: &buffer)
        return buffer
    }

    /// Appends any value in its wire form (tests, and a fake server speaking RESP).
    public static func appendValue(_ value: RESPValue, to buffer: inout [UInt8]) {
        switch value {
        case .simpleString(let text):
            buffer.append(UInt8(ascii: "+"))
            buffer.append(contentsOf: text.utf8)
            buffer.append(contentsOf: [13, 10])
        case .error(let text):
            buffer.append(UInt8(ascii: "-"))
            buffer.append(contentsOf: text.utf8)
            buffer.append(contentsOf: [13, 10])
        case .integer(let number):
            buffer.append(UInt8(ascii: ":"))
            buffer.append(contentsOf: String(number).utf8)
            buffer.append(contentsOf: [13, 10])
        case .bulkString(nil):
            buffer.append(contentsOf: Array("$-1\r\n".utf8))
        case .bulkString(let bytes?):
            appendHeader(UInt8(ascii: "$"), bytes.count, to: &buffer)
            buffer.append(contentsOf: bytes)
            buffer.append(contentsOf: [13, 10])
        case .array(nil):
            buffer.append(contentsOf: Array("*-1\r\n".utf8))
        case .array(let values?):
            appendHeader(UInt8(ascii: "*"), values.count, to: &buffer)
            for element in values { appendValue(element, to: &buffer) }
        }
    }

    private static func appendHeader(_ type: UInt8, _ count: Int, to buffer: inout [UInt8]) {
        buffer.append(type)
        buffer.append(contentsOf: String(count).utf8)
        buffer.append(13)
        buffer.append(10)
    }
}
