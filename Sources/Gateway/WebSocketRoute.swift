import WebSocket

/// The endpoints that upgrade to WebSocket, decided from the request head alone. Every other
/// path is plain HTTP and goes to the `HTTPRouter`.
enum WebSocketRoute: Equatable {
    case echo
    case bench(channel: String)
    case live(room: String)

    static func resolve(_ head: HTTPRequestHead, config: ServerConfiguration) -> WebSocketRoute? {
        let path = head.path
        if path == "/echo" { return config.echoEnabled ? .echo : nil }
        if path.hasPrefix("/live/") {
            let room = path.dropFirst("/live/".count)
            return Names.isValid(room) ? .live(room: String(room)) : nil
        }
        if path.hasPrefix("/bench/") && config.bench.enabled {
            let channel = path.dropFirst("/bench/".count)
            return Names.isValid(channel) ? .bench(channel: String(channel)) : nil
        }
        return nil
    }

    /// A short name for logs.
    var logName: String {
        switch self {
        case .echo: return "/echo"
        case .bench(let channel): return "/bench/\(channel)"
        case .live(let room): return "/live/\(room)"
        }
    }
}
