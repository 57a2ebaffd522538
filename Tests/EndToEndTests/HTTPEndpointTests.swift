import Gateway
import TestSupport
import Testing
import WebSocket
import WebSocketClient

@Suite("Plain HTTP before the upgrade, over real sockets", .serialized)
struct HTTPEndpointTests {
    @Test func healthzAnswers200() throws {
        try withServer { server in
            let answer = try rawHTTP(server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(answer.hasSuffix("ok\n"))
        }
    }

    @Test func unknownPathIs404AndBenchIsOffByDefault() throws {
        try withServer { server in
            let nope = try rawHTTP(server, "GET /nope HTTP/1.1\r\n\r\n")
            #expect(nope.hasPrefix("HTTP/1.1 404 "))
            let bench = try rawHTTP(server, "GET /bench/a HTTP/1.1\r\n\r\n")
            #expect(bench.hasPrefix("HTTP/1.1 404 "))
        }
    }

    @Test func plainRequestToWebSocketPathIs426() throws {
        try withServer { server in
            let answer = try rawHTTP(server, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 426 "))
            #expect(answer.contains("Sec-WebSocket-Version: 13\r\n"))
        }
    }

    @Test func wrongVersionIs426AndBadKeyIs400() throws {
        try withServer { server in
            let base = "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            let v8 = try rawHTTP(server, base + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
            #expect(v8.hasPrefix("HTTP/1.1 426 "))
            let badKey = try rawHTTP(server, base + "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n")
            #expect(badKey.hasPrefix("HTTP/1.1 400 "))
        }
    }

    @Test func malformedHeadIs400AndOversizedIs431() throws {
        try withServer { server in
            let malformed = try rawHTTP(server, "NOT HTTP AT ALL\r\n\r\n")
            #expect(malformed.hasPrefix("HTTP/1.1 400 "))
            let huge = "GET /echo HTTP/1.1\r\nX: " + String(repeating: "a", count: 20000) + "\r\n\r\n"
            let oversized = try rawHTTP(server, huge)
            #expect(oversized.hasPrefix("HTTP/1.1 431 "))
        }
    }

    @Test func silentClientIsDroppedAfterHandshakeTimeout() throws {
        try withServer({ $0.webSocket.handshakeTimeout = 1 }) { server in
            let client = try BlockingWebSocketClient(port: server.port, timeout: 6, upgrade: false)
            try client.sendRaw(Array("GET /echo HTTP/1.1\r\n".utf8))  // and never finishes the head
            #expect(client.waitForEOF())
            #expect(eventually { server.connectionCount == 0 })
        }
    }

    @Test func echoCanBeTurnedOff() throws {
        try withServer({ $0.echo.enabled = false }) { server in
            let answer = try rawHTTP(server, "GET /echo HTTP/1.1\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 404 "))
        }
    }
}
