import JSON

/// A log-bucket latency histogram in microseconds: 8 sub-buckets per power of two (≤ 9 %
/// relative error), fixed boundaries, so histograms from several processes merge by adding
/// counts. Writes and reads happen on one thread; merge copies.
struct LatencyHistogram {
    static let subBuckets = 8
    static let bucketCount = 40 * subBuckets  // up to 2^40 µs
    private(set) var counts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
    private(set) var total: UInt64 = 0
    private(set) var maxMicros: UInt64 = 0

    static func bucket(_ micros: UInt64) -> Int {
        guard micros >= UInt64(subBuckets) else { return Int(micros) }
        let exponent = 63 - micros.leadingZeroBitCount  // floor(log2)
        let shift = exponent - 3  // keep the top 4 bits: 1 + 3 fraction bits
        let mantissa = Int(micros >> UInt64(shift)) - subBuckets  // 0..7
        return min(bucketCount - 1, (shift + 1) * subBuckets + mantissa)
    }

    /// The upper bound of a bucket, in µs (what a percentile reports).
    static func upperBound(_ bucket: Int) -> UInt64 {
        guard bucket >= subBuckets else { return UInt64(bucket) }
        let shift = bucket / subBuckets - 1
        let mantissa = UInt64(bucket % subBuckets + subBuckets)
        return ((mantissa + 1) << UInt64(shift)) - 1
    }

    mutating func record(seconds: Double) {
        let micros = UInt64(max(0, seconds) * 1_000_000)
        self.counts[Self.bucket(micros)] += 1
        self.total += 1
        self.maxMicros = max(self.maxMicros, micros)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in 0..<Self.bucketCount { self.counts[index] += other.counts[index] }
        self.total += other.total
        self.maxMicros = max(self.maxMicros, other.maxMicros)
    }

    /// The value at quantile `q` (0...1), in milliseconds.
    func percentile(_ q: Double) -> Double {
        guard self.total > 0 else { return 0 }
        if q >= 1 { return Double(self.maxMicros) / 1000 }
        let rank = UInt64((Double(self.total) * q).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in self.counts.enumerated() where count > 0 {
            seen += count
            if seen >= max(rank, 1) { return Double(min(Self.upperBound(index), self.maxMicros)) / 1000 }
        }
        return Double(self.maxMicros) / 1000
    }

    var summary: [(String, Double)] {
        [
            ("p50", self.percentile(0.5)), ("p90", self.percentile(0.9)), ("p99", self.percentile(0.99)),
            ("p99.9", self.percentile(0.999)), ("max", self.percentile(1)),
        ]
    }

    /// JSON: the summary plus the sparse bucket counts, enough to merge later.
    var json: JSONValue {
        var buckets: [JSONValue] = []
        for (index, count) in self.counts.enumerated() where count > 0 { buckets.append(.array([.int(Int64(index)), .int(Int64(count))])) }
        var fields: [(key: String, value: JSONValue)] = [("count", .int(Int64(self.total)))]
        for (name, value) in self.summary { fields.append((name + "_ms", .double(value))) }
        fields.append(("max_us", .int(Int64(self.maxMicros))))
        fields.append(("buckets", .array(buckets)))
        return .object(fields)
    }

    init() {}

    init?(json: JSONValue) {
        guard let buckets = json["buckets"]?.arrayValue else { return nil }
        for pair in buckets {
            guard let values = pair.arrayValue, values.count == 2, let index = values[0].intValue, let count = values[1].intValue,
                index >= 0, Int(index) < Self.bucketCount
            else { return nil }
            self.counts[Int(index)] += UInt64(count)
            self.total += UInt64(count)
        }
        self.maxMicros = UInt64(json["max_us"]?.intValue ?? 0)
    }
}
