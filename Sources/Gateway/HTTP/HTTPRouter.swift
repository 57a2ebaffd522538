import WebSocket

/// One plain-HTTP endpoint. It answers through `reply` — at once, or later from another thread
/// (the order export reads the store off the event loop).
protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, reply: HTTPReply)
}

/// A request as a handler sees it: the head, and the `{name}` segment of its route, if any.
struct HTTPRequest: Sendable {
    let head: HTTPRequestHead
    /// The value of the route's `{name}` segment (already checked to be a valid name).
    let name: String?
}

/// How a handler answers: the response goes back to the connection's own loop, and the
/// connection closes after it (one request per connection: we speak HTTP only to upgrade or answer).
struct HTTPReply: Sendable {
    private let send: @Sendable (HTTPResponse) -> Void

    init(_ send: @escaping @Sendable (HTTPResponse) -> Void) {
        self.send = send
    }

    func callAsFunction(_ response: HTTPResponse) { self.send(response) }
}

/// Plain-HTTP routes: each path pattern has its handler and its methods, in the shape of a
/// Hummingbird router. Patterns are literal segments, one `{name}` segment (a room or channel
/// name: `[A-Za-z0-9_-]`, at most 64 bytes), one `{order}` segment (an order id: the same
/// characters, at most 128 bytes), or a trailing `*` (the rest of the path).
struct HTTPRouter: Sendable {
    private struct Entry: Sendable {
        let segments: [Substring]
        let methods: [String]
        let handler: any HTTPHandler
    }

    enum Match {
        case handler(any HTTPHandler, HTTPRequest)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private var entries: [Entry] = []

    mutating func add(_ pattern: String, methods: [String] = ["GET", "HEAD"], _ handler: any HTTPHandler) {
        self.entries.append(
            Entry(segments: pattern.split(separator: "/", omittingEmptySubsequences: false), methods: methods, handler: handler))
    }

    func match(_ head: HTTPRequestHead) -> Match {
        let path = head.path.split(separator: "/", omittingEmptySubsequences: false)
        for entry in self.entries {
            guard let name = Self.matches(entry.segments, path) else { continue }
            guard entry.methods.contains(head.method) else { return .methodNotAllowed(allowed: entry.methods) }
            return .handler(entry.handler, HTTPRequest(head: head, name: name.isEmpty ? nil : name))
        }
        return .notFound
    }

    /// The `{name}` value ("" when the pattern has none) if `path` fits `pattern`, else nil.
    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> String? {
        var name = ""
        for (index, segment) in pattern.enumerated() {
            if segment == "*" { return index < path.count && !path[index].isEmpty ? name : nil }
            guard index < path.count else { return nil }
            if segment == "{name}" {
                guard Names.isValid(path[index]) else { return nil }
                name = String(path[index])
            } else if segment == "{order}" {
                guard Names.isValidOrderID(path[index]) else { return nil }
                name = String(path[index])
            } else if segment != path[index] {
                return nil
            }
        }
        return pattern.count == path.count ? name : nil
    }
}
