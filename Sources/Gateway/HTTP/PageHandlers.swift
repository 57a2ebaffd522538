import JSON
import WebSocket

/// The web pages and their assets, served from memory: a fixed page (`/`, `/room/{name}`,
/// `/studio/{name}`, each the same HTML whose script reads the name from the URL) or the file the
/// path names (`/static/*`).
struct StaticFileHandler: HTTPHandler {
    let files: StaticFiles
    /// The page to serve whatever the path; nil serves the path itself.
    let page: String?

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        let name = self.page ?? String(request.head.path)
        reply(self.files.response(for: name, head: request.head) ?? .text(.notFound, "not found\n"))
    }
}

/// `GET /api/rooms`: every room with its title, whether it is live, and its viewers.
struct RoomListHandler: HTTPHandler {
    let listing: RoomListing

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        var w = JSONWriter()
        w.raw("[")
        for (index, entry) in self.listing.sorted.enumerated() {
            if index > 0 { w.raw(",") }
            w.raw("{\"room\":")
            w.string(entry.room)
            w.raw(",\"title\":")
            w.string(entry.title)
            w.raw(",\"live\":")
            w.bool(entry.live)
            w.raw(",\"viewers\":")
            w.int(entry.viewers)
            w.raw("}")
        }
        w.raw("]")
        reply(HTTPResponse(status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: w.bytes))
    }
}
