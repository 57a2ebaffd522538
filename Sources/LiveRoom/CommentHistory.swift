/// The last N shown comments, oldest first, in a ring: for `welcome` and for resuming.
struct CommentHistory {
    private var ring: [Comment] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.ring.reserveCapacity(min(capacity, 1024))
    }

    var count: Int { self.ring.count }

    mutating func append(_ comment: Comment) {
        if self.ring.count < self.capacity {
            self.ring.append(comment)
        } else {
            self.ring[self.head] = comment
            self.head = (self.head + 1) % self.capacity
        }
    }

    /// All comments, oldest first.
    var all: [Comment] {
        Array(self.ring[self.head...]) + Array(self.ring[..<self.head])
    }

    var oldestSeq: UInt64? { self.ring.isEmpty ? nil : self.ring[self.head].seq }

    func last(_ n: Int) -> [Comment] { Array(self.all.suffix(n)) }

    func after(_ seq: UInt64) -> [Comment] { self.all.filter { $0.seq > seq } }
}
