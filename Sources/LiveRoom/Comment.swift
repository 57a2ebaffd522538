/// A comment as the room shows it.
public struct Comment: Equatable, Sendable {
    /// Per-room, gap-free among shown comments, so a client can detect loss.
    public var seq: UInt64
    public var user: String
    public var name: String
    public var text: String
    public var ts: Int64

    public init(seq: UInt64, user: String, name: String, text: String, ts: Int64) {
        self.seq = seq
        self.user = user
        self.name = name
        self.text = text
        self.ts = ts
    }
}
