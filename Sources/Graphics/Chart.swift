import Foundation
import Numerics

/// A line chart (with optional spread bands, shaded x-intervals and histogram bars) rendered to
/// an image: title, axes with 1-2-5 ticks and labels, a legend; Okabe–Ito colours, which stay
/// distinguishable with the common colour-vision deficiencies.
public struct Chart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Optional (x, low, high) spread drawn as a translucent band.
        public var band: [(x: Double, low: Double, high: Double)] = []
        public init(name: String, points: [(x: Double, y: Double)], band: [(x: Double, low: Double, high: Double)] = [])
        {
            self.name = name
            self.points = points
            self.band = band
        }
    }

    public struct Region {
        public var from: Double, to: Double, label: String
        public init(from: Double, to: Double, label: String) {
            self.from = from
            self.to = to
            self.label = label
        }
    }

    public static let palette: [Canvas.Color] = [
        (0.0, 0.447, 0.698), (0.835, 0.369, 0.0), (0.0, 0.620, 0.451),
        (0.8, 0.475, 0.655), (0.902, 0.624, 0.0), (0.337, 0.706, 0.914),
        (0.941, 0.894, 0.259), (0, 0, 0)
    ]

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    public var regions: [Region] = []
    /// Histogram bars: [x0, x1) with a height.
    public var bars: [(x0: Double, x1: Double, height: Double)] = []
    public var xRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// Round tick values covering lower...upper, about `count` of them.
    /// `integers`: whole-number ticks only (steps, counts).
    static func ticks(_ lower: Double, _ upper: Double, count: Int = 6, integers: Bool = false) -> [Double] {
        guard upper > lower, lower.isFinite, upper.isFinite else { return [lower] }
        let raw = (upper - lower) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        var step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        if integers { step = step < 1 ? 1 : (step == 2.5 ? 2 : step) }
        var values: [Double] = []
        var v = ceil(lower / step) * step
        while v <= upper + step * 1e-9 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return values
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e4 || abs(v) < 1e-3 { return String(format: "%.1e", v) }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }

    public func render(width: Int = 720, height: Int = 432) -> Image {
        var canvas = Canvas(width: width, height: height)
        let (left, right, top, bottom) = (78, 16, 36, 52)
        let (plotW, plotH) = (width - left - right, height - top - bottom)

        // Data ranges.
        var xs =
            series.flatMap { $0.points.map(\.x) } + bars.flatMap { [$0.x0, $0.x1] }
            + regions.flatMap { [$0.from, $0.to] }
        var ys = series.flatMap { s in s.points.map(\.y) + s.band.flatMap { [$0.low, $0.high] } } + bars.map(\.height)
        if !bars.isEmpty { ys.append(0) }
        xs = xs.filter(\.isFinite)
        ys = ys.filter(\.isFinite)
        var (x0, x1) = xRange.map { ($0.lowerBound, $0.upperBound) } ?? (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 {
            y0 -= 0.5
            y1 += 0.5
        }
        let pad = (y1 - y0) * 0.05
        (y0, y1) = (y0 - (bars.isEmpty ? pad : 0), y1 + pad)
        func px(_ x: Double) -> Double { Double(left) + (x - x0) / (x1 - x0) * Double(plotW) }
        func py(_ y: Double) -> Double { Double(top) + (1 - (y - y0) / (y1 - y0)) * Double(plotH) }

        // Shaded regions, labelled just above the x axis.
        for (i, region) in regions.enumerated() {
            let a = Int(px(max(region.from, x0)).rounded())
            let b = Int(px(min(region.to, x1)).rounded())
            canvas.fill(x: a, y: top, width: max(b - a, 2), height: plotH, color: (0.5, 0.5, 0.5), alpha: 0.18)
            canvas.text(region.label, x: a + 3, y: top + plotH - 17 - i * 14, color: (0.3, 0.3, 0.3))
        }
        // Grid and ticks.
        for t in Self.ticks(y0, y1) {
            let y = Int(py(t).rounded())
            canvas.fill(x: left, y: y, width: plotW, height: 1, color: (0.88, 0.88, 0.88))
            let text = Self.label(t)
            canvas.text(text, x: left - 6 - Canvas.textWidth(text), y: y - 6)
        }
        let wholeX = xs.allSatisfy { $0 == $0.rounded() }
        for t in Self.ticks(x0, x1, count: 8, integers: wholeX) {
            let x = Int(px(t).rounded())
            canvas.fill(x: x, y: top + plotH, width: 1, height: 5, color: (0, 0, 0))
            let text = Self.label(t)
            canvas.text(text, x: x - Canvas.textWidth(text) / 2, y: top + plotH + 8)
        }
        // Bars.
        for bar in bars where bar.height > 0 {
            let a = Int(px(bar.x0).rounded())
            let b = Int(px(bar.x1).rounded())
            let y = Int(py(bar.height).rounded())
            canvas.fill(
                x: a + 1, y: y, width: max(b - a - 1, 1), height: top + plotH - y, color: Self.palette[0], alpha: 0.85)
        }
        // Bands, then lines.
        for (i, s) in series.enumerated() where s.band.count > 1 {
            let sorted = s.band.sorted { $0.x < $1.x }
            var columns: [(x: Int, top: Double, bottom: Double)] = []
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                let (pa, pb) = (Int(px(a.x).rounded()), Int(px(b.x).rounded()))
                for x in pa..<max(pb, pa + 1) {
                    let f = pb == pa ? 0 : Double(x - pa) / Double(pb - pa)
                    columns.append((x, py(a.high + (b.high - a.high) * f), py(a.low + (b.low - a.low) * f)))
                }
            }
            canvas.band(columns, color: Self.palette[i % Self.palette.count], alpha: 0.2)
        }
        for (i, s) in series.enumerated() {
            let points = s.points.filter { $0.y.isFinite }.map { (px($0.x), py($0.y)) }
            canvas.polyline(points, color: Self.palette[i % Self.palette.count])
            // A lone measurement has no line to draw: mark it.
            if points.count == 1 {
                canvas.fill(
                    x: Int(points[0].0.rounded()) - 3, y: Int(points[0].1.rounded()) - 3, width: 7, height: 7,
                    color: Self.palette[i % Self.palette.count])
            }
        }
        // Frame, title, axis labels.
        canvas.fill(x: left, y: top + plotH, width: plotW, height: 1, color: (0, 0, 0))
        canvas.fill(x: left, y: top, width: 1, height: plotH, color: (0, 0, 0))
        canvas.text(title, x: (width - Canvas.textWidth(title, scale: 1)) / 2, y: 12)
        canvas.text(xLabel, x: left + (plotW - Canvas.textWidth(xLabel)) / 2, y: height - 18)
        canvas.text(yLabel, x: 8, y: top + (plotH + Canvas.textWidth(yLabel)) / 2, vertical: true)
        // Legend, in the corner where it hides the fewest data points.
        let named = series.enumerated().filter { !$0.element.name.isEmpty }
        if !named.isEmpty {
            let boxW = (named.map { Canvas.textWidth($0.element.name) }.max() ?? 0) + 36
            let boxH = named.count * 16 + 8
            var samples: [(Double, Double)] = []
            for s in series {
                let points = s.points.filter { $0.y.isFinite }.map { (px($0.x), py($0.y)) }
                for (a, b) in zip(points, points.dropFirst()) {
                    for k in 0...16 {
                        let f = Double(k) / 16
                        samples.append((a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f))
                    }
                }
                samples += points
            }
            let corners = [
                (left + plotW - boxW - 8, top + 8), (left + plotW - boxW - 8, top + plotH - boxH - 8),
                (left + 8, top + 8), (left + 8, top + plotH - boxH - 8)
            ]
            let (bx, by) =
                corners.min { a, b in
                    func hidden(_ c: (Int, Int)) -> Int {
                        samples.filter {
                            $0.0 >= Double(c.0) && $0.0 <= Double(c.0 + boxW) && $0.1 >= Double(c.1)
                                && $0.1 <= Double(c.1 + boxH)
                        }.count
                    }
                    return hidden(a) < hidden(b)
                } ?? corners[0]
            canvas.fill(x: bx, y: by, width: boxW, height: boxH, color: (1, 1, 1), alpha: 0.85)
            for (row, (i, s)) in named.enumerated() {
                let y = by + 6 + row * 16
                canvas.line(
                    Double(bx + 6), Double(y + 7), Double(bx + 24), Double(y + 7),
                    color: Self.palette[i % Self.palette.count], width: 3)
                canvas.text(s.name, x: bx + 30, y: y)
            }
        }
        return canvas.image
    }
}
