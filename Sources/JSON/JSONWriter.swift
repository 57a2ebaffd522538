/// Appends JSON to a byte buffer without building a document tree: the wire codec writes each
/// outgoing event straight into the bytes that become its frame.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    public mutating func raw(_ text: StaticString) {
        self.bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func string(_ text: String) {
        self.bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case 0x22: self.raw("\\\"")
            case 0x5C: self.raw("\\\\")
            case 0x0A: self.raw("\\n")
            case 0x0D: self.raw("\\r")
            case 0x09: self.raw("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                self.raw("\\u00")
                self.bytes.append(hex[Int(byte >> 4)])
                self.bytes.append(hex[Int(byte & 0xF)])
            default:
                self.bytes.append(byte)
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int<I: BinaryInteger>(_ value: I) {
        self.bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func double(_ value: Double) {
        if value.isFinite && value == value.rounded() && abs(value) < 1e15 {
            self.int(Int64(value))
        } else if value.isFinite {
            self.bytes.append(contentsOf: String(value).utf8)
        } else {
            self.raw("null")
        }
    }

    public mutating func bool(_ value: Bool) {
        if value { self.raw("true") } else { self.raw("false") }
    }

    /// Writes any `JSONValue`.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: self.raw("null")
        case .bool(let flag): self.bool(flag)
        case .int(let number): self.int(number)
        case .double(let number): self.double(number)
        case .string(let text): self.string(text)
        case .array(let values):
            self.bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
                self.value(element)
            }
            self.bytes.append(UInt8(ascii: "]"))
        case .object(let fields):
            self.bytes.append(UInt8(ascii: "{"))
            for (index, field) in fields.enumerated() {
                if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
                self.string(field.key)
                self.bytes.append(UInt8(ascii: ":"))
                self.value(field.value)
            }
            self.bytes.append(UInt8(ascii: "}"))
        }
    }
}
