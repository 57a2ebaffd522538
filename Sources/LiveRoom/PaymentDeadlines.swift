/// Unpaid orders by payment deadline: a binary min-heap of (deadline, order id), so the room's
/// clock finds what is due without walking every order. Entries are not removed when an order is
/// paid or cancelled; the room checks each popped entry against the order (lazy deletion), which
/// keeps payment O(1) and the heap no larger than the orders that ever had a deadline.
struct PaymentDeadlines {
    private var heap: [(payBy: Int64, id: String)] = []

    var count: Int { self.heap.count }

    mutating func push(_ payBy: Int64, _ id: String) {
        self.heap.append((payBy, id))
        var child = self.heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(self.heap[child], self.heap[parent]) else { break }
            self.heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry if it is due at `now` (deadline ≤ now), removed.
    mutating func popDue(now: Int64) -> (payBy: Int64, id: String)? {
        guard let first = self.heap.first, first.payBy <= now else { return nil }
        let last = self.heap.removeLast()
        guard !self.heap.isEmpty else { return first }
        self.heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < self.heap.count && Self.less(self.heap[left], self.heap[smallest]) { smallest = left }
            if right < self.heap.count && Self.less(self.heap[right], self.heap[smallest]) { smallest = right }
            if smallest == parent { break }
            self.heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    private static func less(_ a: (payBy: Int64, id: String), _ b: (payBy: Int64, id: String)) -> Bool {
        a.payBy != b.payBy ? a.payBy < b.payBy : a.id < b.id
    }
}
