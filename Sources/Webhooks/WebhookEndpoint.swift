import Glibc
import Transport

/// Where order events go: `http://host[:port]/path`. Plain HTTP to a host the operator names —
/// the shop's own service, or a TLS-terminating proxy beside Hometown for an `https` endpoint
/// elsewhere (docs/ORDERS.md). Every request is signed, so the receiver can trust the body either way.
public struct WebhookEndpoint: Equatable, Sendable {
    public var host: String
    public var port: UInt16
    /// Path and query, starting with `/`.
    public var path: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ url: String) throws {
        guard url.hasPrefix("http://") else {
            throw Invalid(description: "must start with http:// (for https, point it at a TLS proxy; see docs/ORDERS.md)")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let path = rest.dropFirst(authority.count)
        guard !authority.isEmpty, !authority.contains("@") else { throw Invalid(description: "needs a host (and no user:password)") }
        var host = Substring(authority)
        var port: UInt16 = 80
        if host.hasPrefix("[") {
            // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else { throw Invalid(description: "unclosed [ in the host") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let number = UInt16(after.dropFirst()), number > 0 else { throw Invalid(description: "bad port") }
                port = number
            } else if !after.isEmpty {
                throw Invalid(description: "bad host")
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let number = UInt16(host[host.index(after: colon)...]), number > 0 else { throw Invalid(description: "bad port") }
            port = number
            host = host[..<colon]
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" }) else {
            throw Invalid(description: "bad host '\(host)'")
        }
        guard !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else { throw Invalid(description: "bad path") }
        self.host = String(host)
        self.port = port
        self.path = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
    }

    /// The host's first address as a literal (a host name is looked up on every attempt, so a
    /// moved shop is found again).
    func resolve() throws -> String {
        if (try? SocketAddress(host: self.host, port: self.port)) != nil { return self.host }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(self.host, nil, &hints, &result)
        guard status == 0, let first = result else {
            throw Invalid(description: "cannot resolve \(self.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = first.pointee.ai_family
        let ok: Bool
        if family == AF_INET6 {
            ok = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                var raw = address.pointee.sin6_addr
                return inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil
            }
        } else {
            ok = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var raw = address.pointee.sin_addr
                return inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count)) != nil
            }
        }
        guard ok else { throw Invalid(description: "cannot resolve \(self.host)") }
        return String(cString: buffer)
    }
}
