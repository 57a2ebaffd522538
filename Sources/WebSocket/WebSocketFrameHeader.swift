/// The fixed part of a frame (RFC 6455 §5.2), decoded before any payload byte is looked at.
public struct WebSocketFrameHeader: Equatable, Sendable {
    public var fin: Bool
    public var opcode: WebSocketOpcode
    public var payloadLength: Int
    /// The masking key as it appears on the wire, or nil for an unmasked frame.
    public var maskKey: UInt32?

    public init(fin: Bool, opcode: WebSocketOpcode, payloadLength: Int, maskKey: UInt32? = nil) {
        self.fin = fin
        self.opcode = opcode
        self.payloadLength = payloadLength
        self.maskKey = maskKey
    }

    /// Bytes the header occupies on the wire: 2, +2 or +8 for the extended length, +4 for a mask.
    public static func size(payloadLength: Int, masked: Bool) -> Int {
        let lengthBytes = payloadLength < 126 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    public var size: Int { Self.size(payloadLength: self.payloadLength, masked: self.maskKey != nil) }

    /// Writes the header at `destination`, which must have `size` bytes. Returns the bytes written.
    @discardableResult
    public func write(to destination: UnsafeMutableRawPointer) -> Int {
        destination.storeBytes(of: (self.fin ? 0x80 : 0) | self.opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = self.maskKey == nil ? 0 : 0x80
        var offset: Int
        if self.payloadLength < 126 {
            destination.storeBytes(of: maskBit | UInt8(self.payloadLength), toByteOffset: 1, as: UInt8.self)
            offset = 2
        } else if self.payloadLength <= 0xFFFF {
            destination.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt16(self.payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            offset = 4
        } else {
            destination.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt64(self.payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            offset = 10
        }
        if let maskKey = self.maskKey {
            destination.storeBytes(of: maskKey.bigEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        return offset
    }
}
