import Foundation
import Gateway
import JSON
import TestSupport
import Testing
import WebSocketClient

@Suite("Web pages and the development login", .serialized)
struct WebPagesTests {
    func request(_ server: HometownServer, _ head: String) throws -> (status: Int, headers: String, body: String) {
        let answer = try rawHTTP(server, head + "\r\n")
        let parts = answer.components(separatedBy: "\r\n\r\n")
        return (Int(answer.split(separator: " ")[1]) ?? 0, parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    func get(_ server: HometownServer, _ path: String, _ extra: String = "") throws -> (status: Int, headers: String, body: String) {
        try request(server, "GET \(path) HTTP/1.1\r\nHost: x\r\n\(extra)")
    }

    @Test func pagesAndAssetsWithTheirTypesAndCaching() throws {
        try withServer { server in
            for (path, type) in [
                ("/", "text/html; charset=utf-8"), ("/room/demo", "text/html; charset=utf-8"),
                ("/studio/demo", "text/html; charset=utf-8"), ("/static/app.css", "text/css; charset=utf-8"),
                ("/static/room.js", "text/javascript; charset=utf-8"), ("/static/studio.js", "text/javascript; charset=utf-8"),
            ] {
                let page = try get(server, path)
                #expect(page.status == 200, "\(path)")
                #expect(page.headers.contains("Content-Type: \(type)"), "\(path)")
                #expect(page.headers.contains("X-Content-Type-Options: nosniff"))
            }
            let html = try get(server, "/room/demo")
            #expect(html.headers.contains("Cache-Control: no-cache"))
            #expect(html.headers.contains("Content-Security-Policy: default-src 'self'"))
            #expect(html.headers.contains("media-src 'self' blob:;"), "no media origin besides this server by default")
            #expect(html.body.contains("<meta charset=\"utf-8\">"))
            let css = try get(server, "/static/app.css")
            #expect(css.headers.contains("Cache-Control: public, max-age=3600"))
            // Revalidation: the ETag gives a 304 with no body.
            let etag = css.headers.split(separator: "\r\n").first { $0.hasPrefix("ETag: ") }!.dropFirst(6)
            let again = try get(server, "/static/app.css", "If-None-Match: \(etag)\r\n")
            #expect(again.status == 304 && again.body.isEmpty)
            let head = try request(server, "HEAD /static/app.css HTTP/1.1\r\n")
            #expect(head.status == 200 && head.body.isEmpty && head.headers.contains("Content-Length: \(css.body.utf8.count)"))
        }
    }

    @Test(arguments: [
        "/static/../Package.swift", "/static/%2e%2e/Package.swift", "/static/..%2fPackage.swift", "/static//etc/passwd",
        "/static/", "/static/nope.js", "/static/../../../../etc/passwd", "/room/bad%20name", "/studio/", "/index.html",
    ])
    func nothingOutsideThePageTableIsServed(path: String) throws {
        try withServer { server in
            let answer = try get(server, path)
            #expect(answer.status == 404, "\(path)")
            #expect(!answer.body.contains("swift-tools-version") && !answer.body.contains("root:"))
        }
    }

    @Test func roomListShowsLiveRooms() throws {
        try withServer { server in
            #expect(eventually { ((try? get(server, "/api/rooms"))?.body ?? "").contains("\"live\":true") })
            let rooms = try JSONParser.parse(try get(server, "/api/rooms").body)
            #expect(rooms.arrayValue?.first?["room"]?.stringValue == "demo")
        }
    }

    @Test func developmentLoginIssuesWorkingTokensOnlyOutsideProduction() throws {
        try withServer { server in
            let answer = try get(server, "/api/dev/token?name=%E8%80%81%E7%8E%8B&role=streamer&room=farm")
            #expect(answer.status == 200)
            let login = try JSONParser.parse(answer.body)
            #expect(login["name"]?.stringValue == "老王")
            let token = login["token"]?.stringValue ?? ""
            // The token works: a streamer can create its room with it.
            let client = try BlockingWebSocketClient(port: server.port, path: "/live/farm?token=\(token)")
            let welcome = try JSONParser.parse(client.receiveMessage().payload)
            #expect(welcome["you"]?["role"]?.stringValue == "streamer")
            let noName = try get(server, "/api/dev/token?name=&role=viewer").status
            let admin = try get(server, "/api/dev/token?name=x&role=admin").status
            #expect(noName == 400 && admin == 400)
        }
        try withServer({
            $0.environment = "production"
            $0.auth.jwtSecret = "a-production-secret-0123456789"
        }) { server in
            let status = try get(server, "/api/dev/token?name=x&role=viewer").status
            #expect(status == 404)
        }
    }
}
