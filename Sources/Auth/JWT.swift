import JSON
import WebSocket

/// HS256 JSON Web Tokens (RFC 7519): who is connecting, signed with the server's secret.
public enum JWT {
    /// The claims Hometown reads.
    public struct Claims: Equatable, Sendable {
        public var sub: String
        public var name: String
        public var role: String
        /// The only room this token is good for, if any.
        public var room: String?
        /// Expiry, seconds since 1970 (required).
        public var exp: Int64

        public init(sub: String, name: String, role: String, room: String? = nil, exp: Int64) {
            self.sub = sub
            self.name = name
            self.role = role
            self.room = room
            self.exp = exp
        }
    }

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case malformed
        case unsupportedAlgorithm
        case badSignature
        case missingClaim(String)
        /// A claim of the wrong JSON type: refused, never read as absent (fail closed).
        case wrongType(String)
        case expired

        public var description: String {
            switch self {
            case .malformed: return "malformed token"
            case .unsupportedAlgorithm: return "only HS256 tokens are accepted"
            case .badSignature: return "bad signature"
            case .missingClaim(let name): return "token lacks the '\(name)' claim"
            case .wrongType(let name): return "the token's '\(name)' claim has the wrong type"
            case .expired: return "token expired"
            }
        }
    }

    public static func sign(_ claims: Claims, secret: String) -> String {
        var fields: [(key: String, value: JSONValue)] = [
            ("sub", .string(claims.sub)), ("name", .string(claims.name)), ("role", .string(claims.role)),
            ("exp", .int(claims.exp)),
        ]
        if let room = claims.room { fields.append(("room", .string(room))) }
        var header = JSONWriter()
        header.value(.object([("alg", .string("HS256")), ("typ", .string("JWT"))]))
        var payload = JSONWriter()
        payload.value(.object(fields))
        let signingInput = Base64.encode(header.bytes, urlSafe: true) + "." + Base64.encode(payload.bytes, urlSafe: true)
        let signature = HMACSHA256.mac(key: Array(secret.utf8), message: Array(signingInput.utf8))
        return signingInput + "." + Base64.encode(signature, urlSafe: true)
    }

    /// Verifies signature and expiry (`now` in seconds since 1970) and returns the claims.
    public static func verify(_ token: String, secret: String, now: Int64) -> Result<Claims, Error> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 4096,
            let headerBytes = Self.decodeCanonical(parts[0]), let payloadBytes = Self.decodeCanonical(parts[1]),
            let signature = Self.decodeCanonical(parts[2]),
            let header = try? JSONParser.parse(headerBytes), let payload = try? JSONParser.parse(payloadBytes)
        else { return .failure(.malformed) }
        guard header["alg"]?.stringValue == "HS256" else { return .failure(.unsupportedAlgorithm) }
        let signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        let expected = HMACSHA256.mac(key: Array(secret.utf8), message: signingInput)
        guard HMACSHA256.constantTimeEquals(expected, signature) else { return .failure(.badSignature) }
        guard case .object = payload else { return .failure(.malformed) }
        /// A string claim: nil when absent, an error when present with another type.
        func string(_ name: String) -> Result<String?, Error> {
            guard let value = payload[name] else { return .success(nil) }
            guard let text = value.stringValue else { return .failure(.wrongType(name)) }
            return .success(text)
        }
        let sub: String?
        let name: String?
        let role: String?
        let room: String?
        do {
            sub = try string("sub").get()
            name = try string("name").get()
            role = try string("role").get()
            room = try string("room").get()
        } catch {
            return .failure(error)
        }
        guard let sub, !sub.isEmpty else { return .failure(.missingClaim("sub")) }
        guard let expValue = payload["exp"] else { return .failure(.missingClaim("exp")) }
        guard let exp = expValue.intValue else { return .failure(.wrongType("exp")) }
        guard exp > now else { return .failure(.expired) }
        return .success(Claims(sub: sub, name: name ?? sub, role: role ?? "viewer", room: room, exp: exp))
    }

    /// Base64url without padding, the one spelling RFC 7515 allows: anything else (the standard
    /// alphabet, padding, non-zero unused bits) is refused, so one token has exactly one text.
    static func decodeCanonical(_ part: Substring) -> [UInt8]? {
        guard let bytes = Base64.decode(part), Base64.encode(bytes, urlSafe: true) == part else { return nil }
        return bytes
    }
}
