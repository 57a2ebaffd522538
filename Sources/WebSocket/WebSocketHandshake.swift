import COpenSSL

/// The server side of the opening handshake (RFC 6455 §4.2): validates an upgrade request and
/// produces the 101 response, or the HTTP error that explains what was wrong.
public enum WebSocketHandshake {
    /// §4.2.2: the GUID appended to the client's key before hashing.
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Why an upgrade was refused, and the response that says so.
    public struct Rejection: Error, Equatable, Sendable {
        public var status: HTTPStatus
        public var message: String
        public var extraHeaders: [String: String]

        public init(status: HTTPStatus, message: String, extraHeaders: [String: String] = [:]) {
            self.status = status
            self.message = message
            self.extraHeaders = extraHeaders
        }

        public var response: HTTPResponse {
            HTTPResponse.text(
                self.status, self.message + "\n",
                headers: self.extraHeaders.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) })
        }
    }

    /// Checks every MUST of §4.2.1 and returns the `Sec-WebSocket-Accept` value.
    public static func validate(_ head: HTTPRequestHead) -> Result<String, Rejection> {
        // §4.2.1 (1): "An HTTP/1.1 or higher GET request".
        guard head.method == "GET" else {
            return .failure(Rejection(status: .methodNotAllowed, message: "WebSocket upgrade requires GET", extraHeaders: ["Allow": "GET"]))
        }
        guard head.version == "HTTP/1.1" else {
            return .failure(Rejection(status: .badRequest, message: "WebSocket upgrade requires HTTP/1.1"))
        }
        // (3)/(4): Upgrade must contain "websocket" and Connection the "Upgrade" token, case-insensitively.
        let upgrade = head.headerTokens("Upgrade").contains { $0.lowercased() == "websocket" }
        let connection = head.headerTokens("Connection").contains { $0.lowercased() == "upgrade" }
        guard upgrade && connection else {
            // A plain HTTP request to a WebSocket endpoint: tell the client what to do.
            return .failure(
                Rejection(
                    status: .upgradeRequired, message: "this endpoint speaks WebSocket; send an Upgrade request",
                    extraHeaders: ["Upgrade": "websocket", "Sec-WebSocket-Version": "13"]))
        }
        // (6) and §4.4: version 13 only; otherwise 426 with the versions we do support.
        guard head.header("Sec-WebSocket-Version")?.trimmingHTTPSpaces == "13" else {
            return .failure(
                Rejection(
                    status: .upgradeRequired, message: "unsupported Sec-WebSocket-Version; this server speaks 13",
                    extraHeaders: ["Sec-WebSocket-Version": "13"]))
        }
        // (5): the key is base64 of 16 bytes.
        guard let key = head.header("Sec-WebSocket-Key").map({ String($0.trimmingHTTPSpaces) }), Base64.decode(key)?.count == 16,
            key.utf8.count == 24
        else {
            return .failure(Rejection(status: .badRequest, message: "missing or invalid Sec-WebSocket-Key"))
        }
        return .success(acceptValue(forKey: key))
    }

    /// §4.2.2 (5.4): base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        let input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = input.withUnsafeBufferPointer { source in
            digest.withUnsafeMutableBufferPointer { SHA1(source.baseAddress, source.count, $0.baseAddress) }
        }
        return Base64.encode(digest)
    }

    /// The 101 response completing the handshake.
    public static func acceptResponse(acceptValue: String) -> HTTPResponse {
        HTTPResponse(
            status: .switchingProtocols,
            headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue)])
    }

    /// The client's side: a request head for `path` on `host` with a fresh key.
    public static func clientRequest(
        host: String, path: String, key: String, extraHeaders: [(String, String)] = []
    ) -> [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}
