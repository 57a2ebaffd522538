import Glibc

/// Where Redis is: `redis://[[user]:password@]host:port[/db]`. The host is resolved once, when the
/// URL is read (at startup), so no event loop ever waits on DNS.
public struct RedisURL: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    /// The IPv4 address `host` resolved to.
    public var address: String
    public var port: UInt16
    public var user: String?
    public var password: String?
    public var database: Int

    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(_ text: String) throws(Error) {
        guard text.hasPrefix("redis://") else { throw Error(description: "'\(text)' is not a redis:// URL") }
        var rest = Substring(text.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                self.user = user.isEmpty ? nil : String(user)
                self.password = String(credentials[credentials.index(after: colon)...])
            } else {
                self.password = String(credentials)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path), (0...15).contains(number) else {
                    throw Error(description: "database '\(path)' must be a number 0-15")
                }
                database = number
            }
            rest = rest[..<slash]
        }
        self.database = database
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else {
            throw Error(description: "'\(text)' needs host:port")
        }
        self.port = port
        self.host = String(rest[..<colon])
        guard !self.host.isEmpty else { throw Error(description: "'\(text)' has no host") }
        self.address = try Self.resolve(self.host)
    }

    /// The URL without its password (for logs and errors).
    public var description: String { "redis://\(self.password == nil ? "" : "***@")\(self.host):\(self.port)/\(self.database)" }

    private static func resolve(_ host: String) throws(Error) -> String {
        var probe = in_addr()
        if inet_pton(AF_INET, host, &probe) == 1 { return host }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result, let address = first.pointee.ai_addr else {
            throw Error(description: "cannot resolve Redis host '\(host)'")
        }
        defer { freeaddrinfo(result) }
        let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        var copy = ipv4
        inet_ntop(AF_INET, &copy, &text, socklen_t(INET_ADDRSTRLEN))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Commands that make a fresh connection ours: AUTH when there is a password, SELECT when
    /// the database is not 0.
    public var setupCommands: [[String]] {
        var commands: [[String]] = []
        if let password {
            commands.append(self.user.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if self.database != 0 { commands.append(["SELECT", String(self.database)]) }
        return commands
    }
}
