import Foundation
import Testing
import WebSocket

@Suite("HTTP head parsing and the opening handshake")
struct HandshakeTests {
    let upgradeRequest = """
        GET /echo?x=1 HTTP/1.1\r
        Host: example.com\r
        Upgrade: websocket\r
        Connection: keep-alive, Upgrade\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Sec-WebSocket-Version: 13\r
        \r

        """

    func parse(_ text: String, chunk: Int = 1 << 20, maxHeadSize: Int = 8192) throws(HTTPHeadParser.Error) -> HTTPHeadParser.Result {
        var parser = HTTPHeadParser(maxHeadSize: maxHeadSize)
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let piece = Array(bytes[start..<min(bytes.count, start + chunk)])
            start += chunk
            let result = try piece.withUnsafeBytes { buffer in
                Result { () throws(HTTPHeadParser.Error) in try parser.feed(buffer) }
            }.get()
            if case .head = result { return result }
        }
        return .needMoreData
    }

    @Test func percentDecodingKeepsWhatIsNotAnEscape() {
        #expect(PercentDecoding.decode("a%41b") == "aAb")
        #expect(PercentDecoding.decode("a+b%2Bc") == "a b+c")
        // A bad escape keeps the % and the bytes after it.
        #expect(PercentDecoding.decode("100%zzz") == "100%zzz")
        #expect(PercentDecoding.decode("%4") == "%4")
        #expect(PercentDecoding.decode("%%41") == "%A")
        #expect(PercentDecoding.decode("%e5%86%AC") == "冬")
    }

    @Test func acceptValueFromRFCExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test(arguments: [1, 2, 7, 1000])
    func parsesHeadInAnyChunking(chunk: Int) throws {
        guard case .head(let head, _) = try parse(upgradeRequest, chunk: chunk) else {
            Issue.record("no head")
            return
        }
        #expect(head.method == "GET")
        #expect(head.path == "/echo")
        #expect(head.queryValue("x") == "1")
        #expect(head.header("sec-websocket-version") == "13")
        #expect(head.headerTokens("Connection") == ["keep-alive", "Upgrade"])
    }

    @Test func reportsBytesAfterTheHead() throws {
        var parser = HTTPHeadParser()
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\nEXTRA".utf8)
        let result = try bytes.withUnsafeBytes { buffer in
            Result { () throws(HTTPHeadParser.Error) in try parser.feed(buffer) }
        }.get()
        guard case .head(_, let consumed) = result else {
            Issue.record("no head")
            return
        }
        #expect(Array(bytes[consumed...]) == Array("EXTRA".utf8))
    }

    @Test func oversizedHeadIs431() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 10000) + "\r\n\r\n"
        #expect(throws: HTTPHeadParser.Error.headTooLarge) { try parse(big, chunk: 100) }
        #expect(HTTPHeadParser.Error.headTooLarge.status.code == 431)
    }

    @Test(arguments: [
        "GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
    ])
    func malformedHeadsAre400(text: String) {
        #expect(throws: HTTPHeadParser.Error.self) { try parse(text) }
    }

    func head(_ text: String) throws -> HTTPRequestHead {
        guard case .head(let head, _) = try parse(text) else { throw HTTPHeadParser.Error.malformed("incomplete") }
        return head
    }

    @Test func validUpgradeIsAccepted() throws {
        #expect(WebSocketHandshake.validate(try head(upgradeRequest)) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        let response = String(decoding: WebSocketHandshake.acceptResponse(acceptValue: "abc").serialized(), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(response.contains("Sec-WebSocket-Accept: abc\r\n"))
        #expect(response.hasSuffix("\r\n\r\n"))
    }

    @Test func headerTokensAreCaseInsensitive() throws {
        let text = upgradeRequest.replacingOccurrences("Upgrade: websocket", "upgrade: WebSocket")
            .replacingOccurrences("keep-alive, Upgrade", "UPGRADE")
        #expect(WebSocketHandshake.validate(try head(text)) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    func rejection(_ text: String) throws -> WebSocketHandshake.Rejection? {
        if case .failure(let rejection) = WebSocketHandshake.validate(try head(text)) { return rejection }
        return nil
    }

    @Test func plainRequestGets426() throws {
        let rejection = try rejection("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(rejection?.status.code == 426)
        #expect(rejection?.extraHeaders["Upgrade"] == "websocket")
    }

    @Test func wrongVersionGets426WithSupportedVersion() throws {
        let rejection = try rejection(upgradeRequest.replacingOccurrences("Version: 13", "Version: 8"))
        #expect(rejection?.status.code == 426)
        #expect(rejection?.extraHeaders["Sec-WebSocket-Version"] == "13")
    }

    @Test(arguments: ["c2hvcnQ=", "not base64 at all!!!!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
    func badKeyGets400(key: String) throws {
        let rejection = try rejection(upgradeRequest.replacingOccurrences("dGhlIHNhbXBsZSBub25jZQ==", key))
        #expect(rejection?.status.code == 400)
    }

    @Test func missingKeyGets400() throws {
        let rejection = try rejection(upgradeRequest.replacingOccurrences("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""))
        #expect(rejection?.status.code == 400)
    }

    @Test func postGets405AndHTTP10Gets400() throws {
        #expect(try rejection(upgradeRequest.replacingOccurrences("GET", "POST"))?.status.code == 405)
        #expect(try rejection(upgradeRequest.replacingOccurrences("HTTP/1.1", "HTTP/1.0"))?.status.code == 400)
    }

    @Test func queryValuesArePercentDecoded() throws {
        let head = try head("GET /live/a?token=a%2Eb+c&since=5 HTTP/1.1\r\n\r\n")
        #expect(head.queryValue("token") == "a.b c")
        #expect(head.queryValue("since") == "5")
        #expect(head.queryValue("missing") == nil)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        self.replacingOccurrences(of: target, with: replacement)
    }
}
