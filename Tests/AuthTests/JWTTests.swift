import Auth
import Foundation
import Testing

@Suite("HS256 JWTs")
struct JWTTests {
    let secret = "a-test-secret-of-some-length"
    let claims = JWT.Claims(sub: "u1", name: "张三", role: "viewer", room: "farm", exp: 2_000_000_000)

    @Test func signThenVerify() {
        let token = JWT.sign(claims, secret: secret)
        #expect(JWT.verify(token, secret: secret, now: 1_900_000_000) == .success(claims))
    }

    @Test func hmacMatchesRFC4231TestCase2() {
        let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        let hex = mac.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func rejectsWrongSecretTamperingExpiryAndNone() {
        let token = JWT.sign(claims, secret: secret)
        #expect(JWT.verify(token, secret: "another-secret-entirely", now: 0) == .failure(.badSignature))
        var parts = token.split(separator: ".").map(String.init)
        let forged = JWT.sign(JWT.Claims(sub: "u1", name: "x", role: "admin", exp: 2_000_000_000), secret: "guess-guess-guess")
        parts[1] = String(forged.split(separator: ".")[1])
        #expect(JWT.verify(parts.joined(separator: "."), secret: secret, now: 0) == .failure(.badSignature))
        #expect(JWT.verify(token, secret: secret, now: 2_000_000_000) == .failure(.expired))
        // alg "none" with an empty signature.
        let none = "eyJhbGciOiJub25lIn0." + String(token.split(separator: ".")[1]) + "."
        #expect(JWT.verify(none, secret: secret, now: 0) == .failure(.unsupportedAlgorithm))
        #expect(JWT.verify("not.a.token!", secret: secret, now: 0) == .failure(.malformed))
        #expect(JWT.verify("onlyonepart", secret: secret, now: 0) == .failure(.malformed))
    }

    @Test func expIsRequired() {
        // {"alg":"HS256"} . {"sub":"u"} signed properly but without exp.
        let header = "eyJhbGciOiJIUzI1NiJ9"
        let payload = "eyJzdWIiOiJ1In0"
        let signature = HMACSHA256.mac(key: Array(secret.utf8), message: Array("\(header).\(payload)".utf8))
        let token = "\(header).\(payload).\(base64url(signature))"
        #expect(JWT.verify(token, secret: secret, now: 0) == .failure(.missingClaim("exp")))
    }

    /// A correctly signed token with `payload` (JSON text) as its claims.
    func signed(_ payload: String) -> String {
        let header = base64url(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let body = base64url(Array(payload.utf8))
        let signature = HMACSHA256.mac(key: Array(secret.utf8), message: Array("\(header).\(body)".utf8))
        return "\(header).\(body).\(base64url(signature))"
    }

    @Test func claimsOfTheWrongTypeFailClosed() {
        // A room claim that is not a string must not read as "no room claim" (good for every room).
        #expect(
            JWT.verify(signed(#"{"sub":"u","exp":2000000000,"room":["farm"]}"#), secret: secret, now: 0) == .failure(.wrongType("room")))
        #expect(JWT.verify(signed(#"{"sub":"u","exp":2000000000,"room":7}"#), secret: secret, now: 0) == .failure(.wrongType("room")))
        #expect(JWT.verify(signed(#"{"sub":"u","exp":2000000000,"role":1}"#), secret: secret, now: 0) == .failure(.wrongType("role")))
        #expect(JWT.verify(signed(#"{"sub":"u","exp":2000000000,"name":{}}"#), secret: secret, now: 0) == .failure(.wrongType("name")))
        #expect(JWT.verify(signed(#"{"sub":5,"exp":2000000000}"#), secret: secret, now: 0) == .failure(.wrongType("sub")))
        #expect(JWT.verify(signed(#"{"sub":"u","exp":"2000000000"}"#), secret: secret, now: 0) == .failure(.wrongType("exp")))
        #expect(JWT.verify(signed(#"["not","an","object"]"#), secret: secret, now: 0) == .failure(.malformed))
        #expect(JWT.verify(signed(#"{"sub":"u","exp":2000000000,"room":"farm"}"#), secret: secret, now: 0).map(\.room) == .success("farm"))
    }

    @Test func onlyTheCanonicalBase64urlSpellingIsAccepted() {
        let token = JWT.sign(claims, secret: secret)
        #expect(JWT.verify(token, secret: secret, now: 0) == .success(claims))
        let parts = token.split(separator: ".").map(String.init)
        // The same bytes in the standard alphabet, or with padding, are another text: refused.
        let standard = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if standard != parts[2] {
            #expect(JWT.verify("\(parts[0]).\(parts[1]).\(standard)", secret: secret, now: 0) == .failure(.malformed))
        }
        #expect(JWT.verify("\(parts[0]).\(parts[1]).\(parts[2])=", secret: secret, now: 0) == .failure(.malformed))
        // A signature of 32 bytes ends in a character with two unused bits: setting them changes the
        // text but not the bytes.
        var last = Array(parts[2].utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let value = alphabet.firstIndex(of: last[last.count - 1])!
        last[last.count - 1] = alphabet[value | 1]
        if value & 1 == 0 {
            #expect(
                JWT.verify("\(parts[0]).\(parts[1]).\(String(decoding: last, as: UTF8.self))", secret: secret, now: 0)
                    == .failure(.malformed))
        }
    }

    func base64url(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)]) + [0, 0]
            let n = Int(chunk[0]) << 16 | Int(chunk[1]) << 8 | Int(chunk[2])
            let chars = min(4, (bytes.count - index) * 4 / 3 + 1)
            for position in 0..<chars { out.append(alphabet[(n >> (18 - 6 * position)) & 63]) }
            index += 3
        }
        return out
    }
}
