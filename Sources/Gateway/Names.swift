/// The one character set for names that reach logs, URLs, metric labels and storage: room and
/// channel names, SKUs and mentioned user names. ASCII letters, digits, `_` and `-` (and `.` in
/// SKUs and user ids), 1 to 64 bytes: nothing to escape, no control characters, no look-alikes.
enum Names {
    static let maxLength = 64

    static func isValid<S: StringProtocol>(_ name: S, allowingDot: Bool = false, maxLength: Int = Names.maxLength) -> Bool {
        !name.isEmpty && name.utf8.count <= maxLength
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (allowingDot && byte == UInt8(ascii: "."))
            }
    }
}

extension Names {
    /// An order id (`room-epoch-counter`): a room name and two more fields, so up to 128 bytes.
    static func isValidOrderID<S: StringProtocol>(_ id: S) -> Bool { Self.isValid(id, maxLength: 128) }

    /// Identifiers that are not names — a client's `ref`, a user id from a token or in a moderation
    /// command — may hold any printable text, but never control characters (C0, DEL, C1: NUL
    /// included), which would corrupt logs, exports and storage keys.
    static func isPrintableIdentifier<S: StringProtocol>(_ text: S, maxBytes: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maxBytes
            && text.unicodeScalars.allSatisfy { scalar in
                !(scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0))
            }
    }
}
