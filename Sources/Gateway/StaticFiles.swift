import Foundation
import WebSocket

/// The web pages, read into memory once at startup. Requests are answered only from this table,
/// keyed by exact path, so no request can name a file outside it: `..`, `%2e%2e`, absolute paths
/// and symlinks simply are not keys.
public final class StaticFiles: Sendable {
    struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
        let etag: String
        /// HTML revalidates every time (it names the assets); assets may be cached for an hour.
        let cacheControl: String
    }

    private let files: [String: File]
    /// Sent with every page: where scripts, styles, images, media and connections may come from.
    let contentSecurityPolicy: String

    /// The policy for pages whose videos and pictures may come from `mediaOrigins` (besides this
    /// server): media, images and (for WebRTC WHEP) connections; scripts and styles only from here.
    public static func contentSecurityPolicy(mediaOrigins: [String]) -> String {
        let extra = mediaOrigins.isEmpty ? "" : " " + mediaOrigins.joined(separator: " ")
        return "default-src 'self'; connect-src 'self' ws: wss:\(extra); img-src 'self' data:\(extra); "
            + "media-src 'self' blob:\(extra); style-src 'self'; script-src 'self'"
    }

    /// Loads every regular file directly under `directory` as `/static/NAME` (HTML files also
    /// under their page routes by the caller).
    public init(directory: String, contentSecurityPolicy: String = StaticFiles.contentSecurityPolicy(mediaOrigins: [])) {
        self.contentSecurityPolicy = contentSecurityPolicy
        var files: [String: File] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            let bytes = Array(data)
            let isHTML = name.hasSuffix(".html")
            files["/static/" + name] = File(
                bytes: bytes, contentType: Self.contentType(name), etag: "\"\(Self.hash(bytes))\"",
                cacheControl: isHTML ? "no-cache" : "public, max-age=3600")
        }
        self.files = files
    }

    /// The bundled pages (`Sources/Gateway/Web`, copied next to the executable by SwiftPM).
    public static func bundled(mediaOrigins: [String] = []) -> StaticFiles {
        StaticFiles(
            directory: Bundle.module.resourceURL?.appendingPathComponent("Web").path ?? "Web",
            contentSecurityPolicy: Self.contentSecurityPolicy(mediaOrigins: mediaOrigins))
    }

    public var count: Int { self.files.count }

    /// The answer for `GET`/`HEAD` of `name` ("/static/room.js"), honouring `If-None-Match`.
    func response(for name: String, head: HTTPRequestHead) -> HTTPResponse? {
        guard let file = self.files[name] else { return nil }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", file.contentType), ("Cache-Control", file.cacheControl), ("ETag", file.etag),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if file.contentType.hasPrefix("text/html") {
            headers.append(("Content-Security-Policy", self.contentSecurityPolicy))
        }
        if head.header("If-None-Match") == file.etag {
            return HTTPResponse(status: HTTPStatus(code: 304, reason: "Not Modified"), headers: headers)
        }
        return HTTPResponse(status: .ok, headers: headers, body: head.method == "HEAD" ? [] : file.bytes, bodyLength: file.bytes.count)
    }

    static func contentType(_ name: String) -> String {
        switch name.split(separator: ".").last.map(String.init) ?? "" {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        default: return "application/octet-stream"
        }
    }

    /// FNV-1a of the content: a strong enough validator for our own files.
    static func hash(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16)
    }
}
