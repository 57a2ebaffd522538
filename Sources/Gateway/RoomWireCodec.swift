import JSON
import LiveRoom

/// The live-room wire format (docs/PROTOCOL.md): client JSON to `RoomCommand`, `RoomEvent` to
/// JSON. Decoding errors are values with the protocol's error codes, never throws that could
/// drop a connection.
public enum RoomWireCodec {
    public struct DecodeError: Error, Equatable {
        public var code: RoomError
        public var message: String
        public var ref: String?
    }

    /// Decodes one text message.
    public static func decode(_ bytes: [UInt8]) -> Result<(RoomCommand, ref: String?), DecodeError> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            return .failure(DecodeError(code: .badJSON, message: "not valid JSON: \(error)", ref: nil))
        }
        guard case .object = value else {
            return .failure(DecodeError(code: .badJSON, message: "a message is a JSON object", ref: nil))
        }
        let fields = Fields(value)
        let ref: String?
        do {
            ref = try fields.optionalIdentifier("ref", maxLength: 64)
        } catch {
            return .failure(DecodeError(code: .badRequest, message: (error as? FieldError)?.message ?? "bad 'ref'", ref: nil))
        }
        guard let type = value["type"]?.stringValue else {
            return .failure(DecodeError(code: .badRequest, message: "missing string field 'type'", ref: ref))
        }
        do {
            return .success((try command(type, fields, ref: ref), ref))
        } catch let error as FieldError {
            return .failure(DecodeError(code: error.code, message: error.message, ref: ref))
        } catch {
            return .failure(DecodeError(code: .badRequest, message: "\(error)", ref: ref))
        }
    }

    private static func command(_ type: String, _ fields: Fields, ref: String?) throws -> RoomCommand {
        switch type {
        case "comment":
            return .comment(text: try fields.string("text", maxLength: 4096))
        case "like":
            return .like
        case "order":
            guard let ref else { throw FieldError(message: "an order needs a 'ref' (your idempotency key)") }
            return .order(sku: try fields.name("sku"), qty: try fields.int("qty", in: 1...1_000_000), ref: ref)
        case "order.cancel":
            return .orderCancel(order: try fields.name("order"))
        case "room.open":
            return .open(title: try fields.optionalString("title", maxLength: 200))
        case "room.close":
            return .close
        case "product.add":
            return .productAdd(
                sku: try fields.name("sku"), title: try fields.string("title", maxLength: 200),
                price: try fields.int("price", in: 0...100_000_000), stock: try fields.int("stock", in: 0...10_000_000),
                image: try fields.optionalURL("image"))
        case "stream":
            guard let url = try fields.optionalURL("url") else { return .stream(nil) }
            let kind: StreamSource.Kind
            if let name = try fields.optionalString("kind", maxLength: 8) {
                guard let named = StreamSource.Kind(rawValue: name) else { throw FieldError(message: "'kind' must be hls, file or whep") }
                kind = named
            } else {
                kind = StreamSource.kind(of: url)
            }
            return .stream(StreamSource(url: url, kind: kind, poster: try fields.optionalURL("poster")))
        case "product.restock":
            return .restock(sku: try fields.name("sku"), qty: try fields.int("qty", in: 1...10_000_000))
        case "pin":
            return .pin(sku: try fields.optionalString("sku", maxLength: 64) == nil ? nil : try fields.name("sku"))
        case "sale.start":
            return .saleStart(
                sku: try fields.name("sku"), limit: try fields.int("limit", in: 1...10_000),
                countdown: try fields.optionalInt("countdown", in: 0...86_400),
                seconds: try fields.optionalInt("seconds", in: 1...604_800),
                paymentWindow: try fields.optionalInt("payment_window", in: 0...604_800) ?? 0)
        case "sale.stop":
            return .saleStop(sku: try fields.name("sku"))
        case "slowmode":
            return .slowMode(seconds: try fields.int("seconds", in: 0...3600))
        case "mute":
            return .mute(
                user: try fields.identifier("user", maxLength: 128), seconds: try fields.optionalInt("seconds", in: 1...31_536_000))
        case "unmute":
            return .unmute(user: try fields.identifier("user", maxLength: 128))
        case "ban":
            return .ban(user: try fields.identifier("user", maxLength: 128))
        case "unban":
            return .unban(user: try fields.identifier("user", maxLength: 128))
        case "moderator.add":
            return .moderatorAdd(user: try fields.identifier("user", maxLength: 128))
        case "moderator.remove":
            return .moderatorRemove(user: try fields.identifier("user", maxLength: 128))
        default:
            throw FieldError(code: .unknownType, message: "unknown message type '\(type)'")
        }
    }

    struct FieldError: Error {
        var code = RoomError.badRequest
        var message: String
    }

    /// Typed access to a message's fields, with errors that name the field.
    struct Fields {
        let value: JSONValue
        init(_ value: JSONValue) { self.value = value }

        func string(_ key: String, maxLength: Int) throws -> String {
            guard let raw = self.value[key] else { throw FieldError(message: "missing field '\(key)'") }
            guard let text = raw.stringValue else { throw FieldError(message: "'\(key)' must be a string") }
            guard text.utf8.count <= maxLength else { throw FieldError(code: .tooLong, message: "'\(key)' is too long") }
            return text
        }

        /// A printable identifier: no control characters (see `Names.isPrintableIdentifier`).
        func identifier(_ key: String, maxLength: Int) throws -> String {
            let text = try self.string(key, maxLength: maxLength)
            guard Names.isPrintableIdentifier(text, maxBytes: maxLength) else {
                throw FieldError(message: "'\(key)' must be 1-\(maxLength) bytes of printable text (no control characters)")
            }
            return text
        }

        func optionalIdentifier(_ key: String, maxLength: Int) throws -> String? {
            guard let raw = self.value[key], raw != .null else { return nil }
            return try self.identifier(key, maxLength: maxLength)
        }

        func optionalString(_ key: String, maxLength: Int) throws -> String? {
            guard let raw = self.value[key], raw != .null else { return nil }
            return try self.string(key, maxLength: maxLength)
        }

        /// A SKU-like name: 1–64 of `[A-Za-z0-9_.-]`.
        func name(_ key: String) throws -> String {
            let text = try self.string(key, maxLength: 64)
            guard Names.isValid(text, allowingDot: true) else { throw FieldError(message: "'\(key)' must be 1-64 of A-Z a-z 0-9 _ . -") }
            return text
        }

        func int(_ key: String, in range: ClosedRange<Int>) throws -> Int {
            guard let raw = self.value[key] else { throw FieldError(message: "missing field '\(key)'") }
            guard let number = raw.intValue else { throw FieldError(message: "'\(key)' must be an integer") }
            guard number >= range.lowerBound && number <= range.upperBound else {
                throw FieldError(message: "'\(key)' must be between \(range.lowerBound) and \(range.upperBound)")
            }
            return Int(number)
        }

        /// An absolute http(s) URL of at most 1024 bytes of printable ASCII with nothing that could
        /// leave an attribute or a header (no spaces, quotes, angle brackets or backslashes).
        func optionalURL(_ key: String) throws -> String? {
            guard let text = try self.optionalString(key, maxLength: 1024) else { return nil }
            let allowed = text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !"\"'<>\\` ".utf8.contains($0) }
            guard allowed, text.hasPrefix("https://") || text.hasPrefix("http://"), text.split(separator: "/").count >= 2 else {
                throw FieldError(message: "'\(key)' must be an http(s) URL")
            }
            return text
        }

        func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
            guard let raw = self.value[key], raw != .null else { return nil }
            return try self.int(key, in: range)
        }
    }
}

extension RoomWireCodec.FieldError: CustomStringConvertible {
    var description: String { self.message }
}
