import Auth
import Testing
import Webhooks

@Suite("Webhook signature, endpoint and the delivered check")
struct WebhookTests {
    let body = Array(#"{"id":"farm-e-1.paid"}"#.utf8)

    @Test func aSignatureVerifiesOnlyForItsBodySecretAndTime() {
        let header = WebhookSignature.sign(body: self.body, secret: "s3cret-0123456789", timestamp: 1_800_000_000)
        #expect(header.hasPrefix("t=1800000000,v1=") && header.count == "t=1800000000,v1=".count + 64)
        #expect(WebhookSignature.verify(header: header, body: self.body, secret: "s3cret-0123456789", now: 1_800_000_100) == nil)
        #expect(
            WebhookSignature.verify(header: header, body: self.body + [32], secret: "s3cret-0123456789", now: 1_800_000_000)
                == .badSignature)
        #expect(WebhookSignature.verify(header: header, body: self.body, secret: "other-secret-000", now: 1_800_000_000) == .badSignature)
        // A replay an hour later is refused, though the signature is genuine.
        #expect(
            WebhookSignature.verify(header: header, body: self.body, secret: "s3cret-0123456789", now: 1_800_003_600)
                == .stale(seconds: 3600))
        #expect(WebhookSignature.verify(header: "v1=abc", body: self.body, secret: "x", now: 0) == .malformed)
        #expect(WebhookSignature.verify(header: "garbage", body: self.body, secret: "x", now: 0) == .malformed)
    }

    @Test func endpointsAreParsedAndBadOnesRefused() throws {
        let plain = try WebhookEndpoint("http://shop.internal:8081/hooks/orders?v=1")
        #expect(plain.host == "shop.internal" && plain.port == 8081 && plain.path == "/hooks/orders?v=1")
        let bare = try WebhookEndpoint("http://127.0.0.1")
        #expect(bare.port == 80 && bare.path == "/")
        let v6 = try WebhookEndpoint("http://[::1]:9000/x")
        #expect(v6.host == "::1" && v6.port == 9000)
        for bad in [
            "https://shop.example/x", "ftp://x", "http://", "http://user:pw@host/x", "http://host:0/", "http://host:99999/", "http://a b/",
        ] {
            #expect(throws: WebhookEndpoint.Invalid.self) { try WebhookEndpoint(bad) }
        }
    }

    @Test func theDeliveredCheckFindsMissingDisorderedBadAndDuplicateEvents() {
        func delivery(_ event: String, _ seq: Int64, room: String = "farm", valid: Bool = true, status: Int = 200)
            -> WebhookReceiver.Delivery
        {
            WebhookReceiver.Delivery(
                event: event, seq: seq, room: room, type: "order.accepted", order: "", signatureValid: valid, status: status)
        }
        let good = WebhookDeliveryCheck(
            deliveries: [
                delivery("a", 1), delivery("b", 2, status: 500), delivery("b", 2), delivery("b", 2), delivery("c", 3, room: "hill"),
            ],
            expected: ["a", "b", "c"])
        #expect(good.passed && good.duplicates == 1 && good.delivered == 3)
        let bad = WebhookDeliveryCheck(
            deliveries: [delivery("b", 2), delivery("a", 1), delivery("x", 9, valid: false), delivery("c", 3, status: 503)],
            expected: ["a", "b", "c"])
        #expect(!bad.passed)
        #expect(bad.missing == ["c"] && bad.outOfOrder == ["farm"] && bad.badSignatures == 1)
    }
}
