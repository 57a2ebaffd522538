import Gateway
import JSON
import LiveRoom
import Testing

@Suite("Room wire codec")
struct RoomWireCodecTests {
    func decode(_ text: String) -> Result<(RoomCommand, ref: String?), RoomWireCodec.DecodeError> {
        RoomWireCodec.decode(Array(text.utf8))
    }

    func command(_ text: String) -> RoomCommand? {
        if case .success(let (command, _)) = decode(text) { return command }
        return nil
    }

    func errorCode(_ text: String) -> RoomError? {
        if case .failure(let error) = decode(text) { return error.code }
        return nil
    }

    @Test func theStreamAndProductPicturesAreDecodedAndChecked() throws {
        #expect(
            command(#"{"type":"stream","url":"https://live.example.com/farm/index.m3u8"}"#)
                == .stream(StreamSource(url: "https://live.example.com/farm/index.m3u8", kind: .hls)))
        #expect(
            command(#"{"type":"stream","url":"http://127.0.0.1:8889/farm/whep","poster":"https://cdn.example/p.jpg"}"#)
                == .stream(StreamSource(url: "http://127.0.0.1:8889/farm/whep", kind: .whep, poster: "https://cdn.example/p.jpg")))
        #expect(
            command(#"{"type":"stream","url":"https://cdn.example/replay","kind":"file"}"#)
                == .stream(StreamSource(url: "https://cdn.example/replay", kind: .file)))
        #expect(command(#"{"type":"stream","url":null}"#) == .stream(nil))
        for bad in [
            #"{"type":"stream","url":"javascript:alert(1)"}"#, #"{"type":"stream","url":"https://x/a b"}"#,
            #"{"type":"stream","url":"https://x/\"onerror"}"#, #"{"type":"stream","url":"https://"}"#,
            #"{"type":"stream","url":"https://x/y","kind":"rtmp"}"#,
            #"{"type":"product.add","sku":"a","title":"x","price":1,"stock":1,"image":"data:x"}"#,
        ] {
            guard case .failure(let error) = decode(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(error.code == .badRequest)
        }
        #expect(
            command(#"{"type":"product.add","sku":"a","title":"x","price":1,"stock":1,"image":"https://cdn.example/a.jpg"}"#)
                == .productAdd(sku: "a", title: "x", price: 1, stock: 1, image: "https://cdn.example/a.jpg"))
        let event = try JSONParser.parse(RoomWireCodec.encode(.stream(StreamSource(url: "https://x/y.mp4", kind: .file))))
        #expect(event["type"]?.stringValue == "stream" && event["stream"]?["kind"]?.stringValue == "file")
        #expect(try JSONParser.parse(RoomWireCodec.encode(.stream(nil)))["stream"] == .null)
    }

    @Test func paymentFieldsAreEncoded() throws {
        let payment = OrderPayment(state: .accepted, payBy: 1_800_000_060_000, checkout: "https://shop.example/pay/farm-e-1")
        let result = try JSONParser.parse(
            RoomWireCodec.encode(.orderResult(ref: "r", status: .accepted, order: "farm-e-1", payment: payment)))
        #expect(result["pay_by"]?.intValue == 1_800_000_060_000 && result["state"]?.stringValue == "accepted")
        #expect(result["checkout"]?.stringValue == "https://shop.example/pay/farm-e-1")
        let final = try JSONParser.parse(RoomWireCodec.encode(.orderResult(ref: "r", status: .accepted, order: "farm-e-1")))
        #expect(final["pay_by"] == nil && final["checkout"] == nil)
        let order = Order(
            id: "farm-e-1", room: "farm", sku: "a", user: "u", name: "U", qty: 1, price: 5, ref: "r", ts: 1, state: .cancelled, payBy: 61,
            reason: .expired, updatedAt: 62)
        let update = try JSONParser.parse(RoomWireCodec.encode(.orderUpdate(order)))
        #expect(update["type"]?.stringValue == "order.update" && update["order"]?.stringValue == "farm-e-1")
        #expect(update["state"]?.stringValue == "cancelled" && update["reason"]?.stringValue == "expired")
        #expect(update["pay_by"]?.intValue == 61 && update["updated_at"]?.intValue == 62)
    }

    @Test func decodesEveryCommand() {
        #expect(command(#"{"type":"comment","text":"好"}"#) == .comment(text: "好"))
        #expect(command(#"{"type":"like"}"#) == .like)
        #expect(command(#"{"type":"order.cancel","order":"farm-e1-7"}"#) == .orderCancel(order: "farm-e1-7"))
        #expect(
            command(#"{"type":"sale.start","sku":"a","limit":2,"payment_window":300}"#)
                == .saleStart(sku: "a", limit: 2, countdown: nil, seconds: nil, paymentWindow: 300))
        #expect(command(#"{"type":"order","sku":"a","qty":2,"ref":"r1"}"#) == .order(sku: "a", qty: 2, ref: "r1"))
        #expect(command(#"{"type":"room.open","title":"T"}"#) == .open(title: "T"))
        #expect(command(#"{"type":"room.open"}"#) == .open(title: nil))
        #expect(command(#"{"type":"room.close"}"#) == .close)
        #expect(
            command(#"{"type":"product.add","sku":"a-1","title":"x","price":100,"stock":5}"#)
                == .productAdd(sku: "a-1", title: "x", price: 100, stock: 5))
        #expect(command(#"{"type":"product.restock","sku":"a","qty":3}"#) == .restock(sku: "a", qty: 3))
        #expect(command(#"{"type":"pin","sku":"a"}"#) == .pin(sku: "a"))
        #expect(command(#"{"type":"pin","sku":null}"#) == .pin(sku: nil))
        #expect(
            command(#"{"type":"sale.start","sku":"a","limit":2,"countdown":5,"seconds":60}"#)
                == .saleStart(sku: "a", limit: 2, countdown: 5, seconds: 60))
        #expect(command(#"{"type":"sale.stop","sku":"a"}"#) == .saleStop(sku: "a"))
        #expect(command(#"{"type":"slowmode","seconds":0}"#) == .slowMode(seconds: 0))
        #expect(command(#"{"type":"mute","user":"u","seconds":60}"#) == .mute(user: "u", seconds: 60))
        #expect(command(#"{"type":"unmute","user":"u"}"#) == .unmute(user: "u"))
        #expect(command(#"{"type":"ban","user":"u"}"#) == .ban(user: "u"))
    }

    @Test func identifiersRefuseControlCharacters() {
        for message in [
            #"{"type":"order","sku":"apples","qty":1,"ref":"a\u0000b"}"#,
            #"{"type":"order","sku":"apples","qty":1,"ref":"line\nbreak"}"#,
            #"{"type":"order","sku":"app\u0000les","qty":1,"ref":"r"}"#,
            #"{"type":"ban","user":"troll\u0000"}"#,
            #"{"type":"mute","user":"\u007f"}"#,
            #"{"type":"pin","sku":"a b"}"#,
        ] {
            guard case .failure(let error) = decode(message) else {
                Issue.record("accepted \(message)")
                continue
            }
            #expect(error.code == .badRequest, "\(message)")
        }
        // Printable text of any script is fine in a ref or a user id.
        #expect((try? decode(#"{"type":"order","sku":"apples","qty":1,"ref":"订单-1"}"#).get()) != nil)
        #expect((try? decode(#"{"type":"ban","user":"用户 42"}"#).get()) != nil)
    }

    @Test func preciseErrorCodes() {
        #expect(errorCode("{nope") == .badJSON)
        #expect(errorCode("[1,2]") == .badJSON)
        #expect(errorCode(#"{"text":"no type"}"#) == .badRequest)
        #expect(errorCode(#"{"type":"dance"}"#) == .unknownType)
        #expect(errorCode(#"{"type":"comment"}"#) == .badRequest)
        #expect(errorCode(#"{"type":"comment","text":5}"#) == .badRequest)
        #expect(errorCode(#"{"type":"order","sku":"a","qty":1}"#) == .badRequest)  // no ref
        #expect(errorCode(#"{"type":"order","sku":"a","qty":1.5,"ref":"r"}"#) == .badRequest)
        #expect(errorCode(#"{"type":"product.add","sku":"bad sku!","title":"x","price":1,"stock":1}"#) == .badRequest)
        #expect(errorCode(#"{"type":"sale.start","sku":"a","limit":0}"#) == .badRequest)
    }

    @Test func errorsCarryTheRequestRef() {
        guard case .failure(let error) = decode(#"{"type":"order","sku":"a","qty":-1,"ref":"r7"}"#) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.ref == "r7")
        let encoded = try? JSONParser.parse(RoomWireCodec.encode(.error(code: error.code, message: error.message, ref: error.ref)))
        #expect(encoded?["ref"]?.stringValue == "r7")
        #expect(encoded?["code"]?.stringValue == "bad_request")
    }

    @Test func encodedEventsAreJSONWithTheDocumentedFields() throws {
        let product = Product(
            sku: "a", title: "冬笋 \"fresh\"", price: 3990, stock: 10, left: 7,
            sale: FlashSale(state: .live, limit: 2, startsAt: 5, endsAt: nil))
        let welcome = try JSONParser.parse(
            RoomWireCodec.encode(
                .welcome(
                    RoomEvent.Welcome(
                        room: "r", epoch: "E", title: "T", live: true, viewers: 3, seq: 9, pinned: "a", products: [product],
                        comments: [Comment(seq: 9, user: "u", name: "n", text: "hi", ts: 1)], recovered: true,
                        you: Identity(user: "u", name: "n", role: .viewer), slowMode: 0))))
        #expect(welcome["type"]?.stringValue == "welcome")
        #expect(welcome["products"]?.arrayValue?.first?["sale"]?["state"]?.stringValue == "live")
        #expect(welcome["products"]?.arrayValue?.first?["sale"]?["ends_at"] == JSONValue.null)
        #expect(welcome["products"]?.arrayValue?.first?["title"]?.stringValue == "冬笋 \"fresh\"")
        #expect(welcome["comments"]?.arrayValue?.first?["seq"]?.intValue == 9)
        #expect(welcome["recovered"]?.boolValue == true)
        let result = try JSONParser.parse(RoomWireCodec.encode(.orderResult(ref: "r", status: .soldOut, order: nil)))
        #expect(result["type"]?.stringValue == "order.result")
        #expect(result["status"]?.stringValue == "sold_out")
        #expect(result["order"] == nil)
        let order = try JSONParser.parse(
            RoomWireCodec.encode(.order(Order(id: "E-1", room: "r", sku: "a", user: "u", name: "n", qty: 2, price: 3990, ref: "x", ts: 7))))
        #expect(order["order"]?.stringValue == "E-1" && order["qty"]?.intValue == 2 && order["price"]?.intValue == 3990)
    }
}
