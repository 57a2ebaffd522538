/// The status codes Hometown answers with before (or instead of) an upgrade.
public struct HTTPStatus: Equatable, Sendable {
    public let code: Int
    public let reason: String

    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let ok = HTTPStatus(code: 200, reason: "OK")
    public static let switchingProtocols = HTTPStatus(code: 101, reason: "Switching Protocols")
    public static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    public static let unauthorized = HTTPStatus(code: 401, reason: "Unauthorized")
    public static let forbidden = HTTPStatus(code: 403, reason: "Forbidden")
    public static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    public static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    public static let conflict = HTTPStatus(code: 409, reason: "Conflict")
    public static let upgradeRequired = HTTPStatus(code: 426, reason: "Upgrade Required")
    public static let tooManyRequests = HTTPStatus(code: 429, reason: "Too Many Requests")
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    public static let internalServerError = HTTPStatus(code: 500, reason: "Internal Server Error")
    public static let notImplemented = HTTPStatus(code: 501, reason: "Not Implemented")
    public static let serviceUnavailable = HTTPStatus(code: 503, reason: "Service Unavailable")
}

/// A small HTTP/1.1 response, serialised in one piece.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Content-Length when it differs from `body.count` (a HEAD answer carries no body).
    public var bodyLength: Int?

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = [], bodyLength: Int? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyLength = bodyLength
    }

    /// A plain-text response; error answers close the connection afterwards.
    public static func text(_ status: HTTPStatus, _ body: String, headers: [(name: String, value: String)] = [])
        -> HTTPResponse
    {
        HTTPResponse(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers,
            body: Array(body.utf8))
    }

    /// The bytes on the wire. Every non-101 response closes the connection: Hometown serves one
    /// request per plain HTTP connection, which keeps the pre-upgrade state trivial.
    public func serialized() -> [UInt8] {
        var text = "HTTP/1.1 \(self.status.code) \(self.status.reason)\r\n"
        for (name, value) in self.headers { text += "\(name): \(value)\r\n" }
        if self.status.code != 101 {
            text += "Content-Length: \(self.bodyLength ?? self.body.count)\r\nConnection: close\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + self.body
    }
}
