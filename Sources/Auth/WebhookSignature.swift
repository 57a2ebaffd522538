/// The webhook's signature header (docs/ORDERS.md): `Hometown-Signature: t=<unix seconds>,v1=<hex>`
/// where the hex is HMAC-SHA256 with the shared secret over `"<t>." + body`. Signing the time
/// with the body lets a receiver refuse a replayed request (an old `t`) without keeping state.
public enum WebhookSignature {
    public static let header = "Hometown-Signature"

    public static func sign(body: [UInt8], secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=" + hex(HMACSHA256.mac(key: Array(secret.utf8), message: Array("\(timestamp).".utf8) + body))
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed
        case badSignature
        /// `t` is further than the tolerance from the receiver's clock.
        case stale(seconds: Int64)

        public var description: String {
            switch self {
            case .malformed: return "malformed signature header"
            case .badSignature: return "signature does not match"
            case .stale(let seconds): return "signed \(seconds) s away from now (replayed?)"
            }
        }
    }

    /// Checks a received header against the body: the signature, and that `t` is within
    /// `tolerance` seconds of `now`. nil when it holds; otherwise why not.
    public static func verify(header: String, body: [UInt8], secret: String, now: Int64, tolerance: Int64 = 300) -> Failure? {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return .malformed }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(String(pair[1])) }
        }
        guard let timestamp, !signatures.isEmpty else { return .malformed }
        let expected = Array(self.sign(body: body, secret: secret, timestamp: timestamp).utf8.dropFirst("t=\(timestamp),v1=".utf8.count))
        guard signatures.contains(where: { HMACSHA256.constantTimeEquals(Array($0.utf8), expected) }) else {
            return .badSignature
        }
        guard abs(now - timestamp) <= tolerance else { return .stale(seconds: now - timestamp) }
        return nil
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
