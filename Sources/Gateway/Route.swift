import WebSocket

/// Where a request goes, decided from the request head alone.
public enum Route: Equatable {
    case healthz
    case readyz
    case metrics
    case echo
    case bench(channel: String)
    case live(room: String)
    case orders(room: String)
    /// A web page or asset: the key in `StaticFiles`.
    case file(String)
    case roomList
    case devToken
    case notFound

    /// Channel and room names: short `[A-Za-z0-9_-]` words, so a name is safe in logs and URLs.
    public static func isValidName(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }

    public static func resolve(_ head: HTTPRequestHead, config: ServerConfiguration) -> Route {
        let path = head.path
        if path == "/healthz" { return .healthz }
        if path == "/" { return .file("/static/index.html") }
        if path.hasPrefix("/room/"), isValidName(path.dropFirst("/room/".count)) { return .file("/static/room.html") }
        if path.hasPrefix("/studio/"), isValidName(path.dropFirst("/studio/".count)) { return .file("/static/studio.html") }
        if path.hasPrefix("/static/") { return .file(String(path)) }
        if path == "/api/rooms" { return .roomList }
        if path == "/api/dev/token" { return .devToken }
        if path == "/readyz" { return .readyz }
        if path == "/metrics" { return .metrics }
        if path == "/echo" && config.echo.enabled { return .echo }
        if path.hasPrefix("/api/rooms/") && path.hasSuffix("/orders") {
            let room = path.dropFirst("/api/rooms/".count).dropLast("/orders".count)
            if isValidName(room) { return .orders(room: String(room)) }
        }
        if path.hasPrefix("/live/") {
            let room = path.dropFirst("/live/".count)
            if isValidName(room) { return .live(room: String(room)) }
        }
        if config.bench.enabled && path.hasPrefix("/bench/") {
            let channel = path.dropFirst("/bench/".count)
            if isValidName(channel) { return .bench(channel: String(channel)) }
        }
        return .notFound
    }
}
