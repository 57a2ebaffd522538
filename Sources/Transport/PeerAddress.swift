import Glibc

/// A peer's IP address as 16 bytes: IPv6 as it is, IPv4 (and IPv4-mapped IPv6, `::ffff:a.b.c.d`)
/// as the mapped form, so one client has one key whichever way it reached us. The key of per-
/// address limits and the address in log lines.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address's first and last 8 bytes, in network order.
    public let high: UInt64
    public let low: UInt64

    /// `::ffff:a.b.c.d` for an IPv4 address in host order.
    public init(ipv4: UInt32) {
        self.high = 0
        self.low = 0x0000_FFFF_0000_0000 | UInt64(ipv4)
    }

    /// From 16 bytes in network order.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        self.low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// From what `accept` filled in (`sockaddr_in` or `sockaddr_in6`); nil for other families.
    public init?(_ storage: sockaddr_in6) {
        var storage = storage
        if storage.sin6_family == sa_family_t(AF_INET) {
            let ipv4 = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            }
            self.init(ipv4: ipv4)
        } else if storage.sin6_family == sa_family_t(AF_INET6) {
            let bytes = withUnsafeBytes(of: &storage.sin6_addr) { Array($0) }
            self.init(bytes: bytes)
        } else {
            return nil
        }
    }

    /// The unspecified address (a connection with no IP peer).
    public static let none = PeerAddress(bytes: [UInt8](repeating: 0, count: 16))

    /// The IPv4 address (host order) when this is one, IPv4-mapped.
    public var ipv4: UInt32? {
        self.high == 0 && self.low >> 32 == 0x0000_FFFF ? UInt32(truncatingIfNeeded: self.low) : nil
    }

    /// Dotted quad for IPv4, the canonical text form (`inet_ntop`) for IPv6.
    public var description: String {
        if let ipv4 { return Socket.format(ipv4: ipv4) }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            for index in 0..<8 {
                raw[index] = UInt8(truncatingIfNeeded: self.high >> UInt64(56 - 8 * index))
                raw[8 + index] = UInt8(truncatingIfNeeded: self.low >> UInt64(56 - 8 * index))
            }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
