/// A self-contained HTML report: inline SVG charts, inline CSS, nothing fetched from anywhere.
extension Report {
    var html: String {
        var page = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>hometown-load: \(escape(self.scenario))</title>
            <style>body{font-family:system-ui,sans-serif;margin:2rem;color:#2b2118}table{border-collapse:collapse;margin:1rem 0}
            td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}.ok{color:#2b8a3e}.fail{color:#c92a2a;font-weight:700}
            svg{background:#fffaf4;border:1px solid #eee;margin:.5rem 0}text{font-size:11px;fill:#555}</style></head><body>
            <h1>hometown-load: \(escape(self.scenario)) — \(self.passed ? "<span class=ok>PASS</span>" : "<span class=fail>FAIL</span>")</h1>
            <p>\(format(self.durationSeconds)) s · \(self.connected) of \(self.target) viewers connected</p>
            <h2>Correctness checks</h2><table><tr><th>check</th><th>result</th><th>detail</th></tr>
            """
        for check in self.checks + self.thresholds {
            page +=
                "<tr><td>\(escape(check.name))</td><td class=\(check.ok ? "ok" : "fail")>\(check.ok ? "ok" : "FAIL")</td><td>\(escape(check.detail))</td></tr>"
        }
        page += "</table><h2>Latency (ms)</h2>"
        for (name, histogram) in self.histograms where histogram.total > 0 {
            page += "<h3>\(escape(name)) (n=\(histogram.total))</h3>" + Self.barChart(histogram.summary)
        }
        page += "<h2>Throughput over time</h2>" + self.throughputChart()
        if !self.errors.isEmpty {
            page += "<h2>Errors and close codes</h2><table><tr><th>kind</th><th>count</th></tr>"
            for (kind, count) in self.errors.sorted(by: { $0.key < $1.key }) {
                page += "<tr><td>\(escape(kind))</td><td>\(count)</td></tr>"
            }
            page += "</table>"
        }
        return page + "</body></html>\n"
    }

    static func barChart(_ values: [(String, Double)]) -> String {
        let width = 520.0
        let height = 150.0
        let top = max(values.map(\.1).max() ?? 1, 0.001)
        let barWidth = width / Double(values.count)
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height) + 20)\" viewBox=\"0 0 \(Int(width)) \(Int(height) + 20)\">"
        for (index, (label, value)) in values.enumerated() {
            let barHeight = (height - 20) * value / top
            let x = Double(index) * barWidth + 8
            svg += "<rect x=\"\(x)\" y=\"\(height - barHeight)\" width=\"\(barWidth - 16)\" height=\"\(barHeight)\" fill=\"#d9480f\"/>"
            svg += "<text x=\"\(x)\" y=\"\(height - barHeight - 4)\">\(format(value))</text>"
            svg += "<text x=\"\(x)\" y=\"\(height + 14)\">\(label)</text>"
        }
        return svg + "</svg>"
    }

    func throughputChart() -> String {
        guard self.timeline.count > 1 else { return "<p>(too short to chart)</p>" }
        var rates: [(t: Double, inbound: Double, outbound: Double, connected: Double)] = []
        for index in 1..<self.timeline.count {
            let a = self.timeline[index - 1]
            let b = self.timeline[index]
            let dt = max(0.001, b.t - a.t)
            rates.append((b.t, Double(b.messagesIn - a.messagesIn) / dt, Double(b.messagesOut - a.messagesOut) / dt, Double(b.connected)))
        }
        let width = 720.0
        let height = 200.0
        let maxT = max(rates.last!.t, 1)
        let maxRate = max(rates.map { max($0.inbound, $0.outbound) }.max() ?? 1, 1)
        let maxConnected = max(rates.map(\.connected).max() ?? 1, 1)
        func line(_ value: (Double, Double, Double, Double) -> Double, scale: Double, color: String) -> String {
            let points = rates.map {
                "\(format(width * $0.t / maxT)),\(format(height - height * value($0.t, $0.inbound, $0.outbound, $0.connected) / scale))"
            }
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        }
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height) + 30)\" viewBox=\"0 -10 \(Int(width)) \(Int(height) + 40)\">"
        svg += line({ _, inbound, _, _ in inbound }, scale: maxRate, color: "#d9480f")
        svg += line({ _, _, outbound, _ in outbound }, scale: maxRate, color: "#1971c2")
        svg += line({ _, _, _, connected in connected }, scale: maxConnected, color: "#2b8a3e")
        svg +=
            "<text x=\"4\" y=\"\(Int(height) + 20)\">messages in/s (orange, peak \(Int(maxRate))), out/s (blue), connected (green, peak \(Int(maxConnected))) over \(Int(maxT)) s</text>"
        return svg + "</svg>"
    }
}

func escape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "&": out += "&amp;"
        case "\"": out += "&quot;"
        default: out.append(character)
        }
    }
    return out
}
