/// A binary min-heap of deadlines for `EventLoop.schedule`; ties run in the order scheduled.
struct TimerHeap {
    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var task: () -> Void
    }

    private var entries: [Entry] = []
    private var sequence: UInt64 = 0

    var isEmpty: Bool { self.entries.isEmpty }

    mutating func push(deadline: UInt64, _ task: @escaping () -> Void) {
        self.sequence += 1
        self.entries.append(Entry(deadline: deadline, sequence: self.sequence, task: task))
        var child = self.entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(self.entries[child], self.entries[parent]) else { break }
            self.entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest task if its deadline has passed.
    mutating func popDue(now: UInt64) -> (() -> Void)? {
        guard let first = self.entries.first, first.deadline <= now else { return nil }
        let last = self.entries.removeLast()
        if !self.entries.isEmpty {
            self.entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < self.entries.count && Self.less(self.entries[left], self.entries[smallest]) { smallest = left }
                if right < self.entries.count && Self.less(self.entries[right], self.entries[smallest]) { smallest = right }
                if smallest == parent { break }
                self.entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.task
    }

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }
}
