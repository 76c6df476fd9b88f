import Foundation
import Testing

@testable import Numerics

@Suite struct ArithmeticTests {
    @Test(arguments: [
        ([3, 5], [3, 5]), ([2, 3, 5], [5]), ([4, 3, 2, 2], [1, 3, 1, 1]), ([2, 1, 5], [3, 1]), ([7], [1])
    ])
    func broadcastingAddMulSubDiv(a: [Int], b: [Int]) {
        GradCheck(shapes: [a, b]).run({ $0[0] + $0[1] }) { Reference.broadcastAdd($0[0], a, $0[1], b, +) }
        GradCheck(shapes: [a, b]).run({ $0[0] * $0[1] }) { Reference.broadcastAdd($0[0], a, $0[1], b, *) }
        GradCheck(shapes: [a, b]).run({ $0[0] - $0[1] }) { Reference.broadcastAdd($0[0], a, $0[1], b, -) }
        GradCheck(shapes: [a, b], value: { input, _, v in input == 1 ? 1.5 + abs(v) : v })
            .run({ $0[0] / $0[1] }) { Reference.broadcastAdd($0[0], a, $0[1], b, /) }
    }

    @Test func scalarsNegationAndFrozenInputs() {
        GradCheck(shapes: [[3, 4], [3, 4]], frozen: [1]).run({ -($0[0] * 2.5 + 1) * $0[1] }) { x in
            zip(x[0], x[1]).map { -($0 * 2.5 + 1) * $1 }
        }
    }

    @Test func sumsMeansAndMSE() {
        GradCheck(shapes: [[3, 7]]).run({ $0[0].sum() }) { [$0[0].reduce(0, +)] }
        GradCheck(shapes: [[5, 3]]).run({ $0[0].mean() }) { [$0[0].reduce(0, +) / 15] }
        GradCheck(shapes: [[2, 3, 4]]).run({ $0[0].sum(axis: 1) }) { x in
            var out: [Double] = []
            for a in 0..<2 {
                for c in 0..<4 {
                    var s = 0.0
                    for b in 0..<3 { s += x[0][(a * 3 + b) * 4 + c] }
                    out.append(s)
                }
            }
            return out
        }
        GradCheck(shapes: [[2, 4, 3, 3], [2, 4, 3, 3]]).run({ Tensor.mse($0[0], $0[1]) }) { x in
            var s = 0.0
            for i in 0..<72 { s += (x[0][i] - x[1][i]) * (x[0][i] - x[1][i]) }
            return [s / 72]
        }
    }
}

@Suite struct ActivationTests {
    @Test func activations() {
        GradCheck(shapes: [[5, 7]]).run({ $0[0].silu() }) { $0[0].map(Reference.silu) }
        GradCheck(shapes: [[5, 7]]).run({ $0[0].gelu() }) { $0[0].map(Reference.gelu) }
        GradCheck(shapes: [[5, 7]]).run({ $0[0].gelu(approximate: true) }) { $0[0].map(Reference.geluTanh) }
        GradCheck(shapes: [[5, 7]]).run({ $0[0].quickGelu() }) { $0[0].map(Reference.quickGelu) }
        GradCheck(shapes: [[5, 7]]).run({ $0[0].sigmoid() }) { $0[0].map { 1 / (1 + exp(-$0)) } }
        GradCheck(shapes: [[5, 7]]).run({ $0[0].exp() }) { $0[0].map { exp($0) } }
        // Values kept away from the clamp's corners, where the finite difference straddles the kink.
        GradCheck(shapes: [[5, 7]], value: { _, _, v in abs(abs(v) - 0.5) < 0.01 ? v + 0.05 : v })
            .run({ $0[0].clamped(-0.5, 0.5) }) { $0[0].map { min(max($0, -0.5), 0.5) } }
    }

    @Test func geglu() {
        GradCheck(shapes: [[2, 3, 10]]).run({ $0[0].geglu() }) { x in
            var out: [Double] = []
            for r in 0..<6 { for j in 0..<5 { out.append(x[0][r * 10 + j] * Reference.gelu(x[0][r * 10 + 5 + j])) } }
            return out
        }
    }
}

@Suite struct LayoutTests {
    @Test func reshapeIsAViewAndPermuteMovesData() {
        let t = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        let r = t.reshaped([6, -1])
        #expect(r.shape == [6, 4] && r.storage === t.storage)
        #expect(t.permuted([2, 0, 1]).scalars[0..<4] == [0, 4, 8, 12])
        GradCheck(shapes: [[2, 3, 4]]).run({ $0[0].permuted([1, 2, 0]).reshaped([3, 8]) }) { x in
            var out: [Double] = []
            for b in 0..<3 { for c in 0..<4 { for a in 0..<2 { out.append(x[0][(a * 3 + b) * 4 + c]) } } }
            return out
        }
    }

    @Test func concatenateAndSplit() {
        GradCheck(shapes: [[2, 3, 2], [2, 1, 2]]).run({ Tensor.concatenate([$0[0], $0[1]], axis: 1) }) { x in
            var out: [Double] = []
            for a in 0..<2 {
                out += x[0][(a * 6)..<(a * 6 + 6)]
                out += x[1][(a * 2)..<(a * 2 + 2)]
            }
            return out
        }
        GradCheck(shapes: [[3, 5]]).run({ t in
            let parts = t[0].split(sizes: [2, 3], axis: 1)
            return parts[1] * 2 + Tensor.concatenate([parts[0], parts[0].sum(axis: 1, keepingDimension: true)], axis: 1)
        }) { x in
            var out: [Double] = []
            for r in 0..<3 {
                let row = Array(x[0][(r * 5)..<(r * 5 + 5)])
                let p0 = [row[0], row[1], row[0] + row[1]]
                for j in 0..<3 { out.append(2 * row[2 + j] + p0[j]) }
            }
            return out
        }
    }

    @Test func zeroPadding() {
        GradCheck(shapes: [[2, 2, 3, 4]]).run({ $0[0].padded(top: 1, bottom: 0, left: 2, right: 1) }) { x in
            var out: [Double] = []
            for p in 0..<4 {
                for y in 0..<4 {
                    for xx in 0..<7 {
                        let (sy, sx) = (y - 1, xx - 2)
                        out.append(sy >= 0 && sy < 3 && sx >= 0 && sx < 4 ? x[0][p * 12 + sy * 4 + sx] : 0)
                    }
                }
            }
            return out
        }
    }

    @Test func upsampleNearest() {
        GradCheck(shapes: [[2, 3, 2, 3]]).run({ $0[0].upsampleNearest2x() }) { x in
            var out: [Double] = []
            for p in 0..<6 { for y in 0..<4 { for xx in 0..<6 { out.append(x[0][p * 6 + (y / 2) * 3 + xx / 2]) } } }
            return out
        }
    }
}

@Suite struct MatmulTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func batchedProductsInEveryLayout(transposeA: Bool, transposeB: Bool) {
        let (batch, m, k, n) = (3, 4, 5, 2)
        let aShape = transposeA ? [batch, k, m] : [batch, m, k]
        for shared in [false, true] {
            let bShape: [Int] = (shared ? [] : [batch]) + (transposeB ? [n, k] : [k, n])
            GradCheck(shapes: [aShape, bShape]).run({
                $0[0].matmul($0[1], transposeA: transposeA, transposeB: transposeB)
            }) { x in
                let a = transposeA ? Reference.transpose(x[0], batch: batch, rows: k, cols: m) : x[0]
                let b = transposeB ? Reference.transpose(x[1], batch: shared ? 1 : batch, rows: n, cols: k) : x[1]
                return Reference.matmul(a, b, batch: batch, m: m, k: k, n: n, sharedB: shared)
            }
        }
    }

    @Test func linearWithAndWithoutBias() {
        GradCheck(shapes: [[2, 3, 5], [4, 5], [4]]).run({ $0[0].linear($0[1], $0[2]) }) { x in
            let y = Reference.matmul(
                x[0], Reference.transpose(x[1], batch: 1, rows: 4, cols: 5), batch: 1, m: 6, k: 5, n: 4, sharedB: true)
            return y.enumerated().map { $0.element + x[2][$0.offset % 4] }
        }
        GradCheck(shapes: [[3, 5], [4, 5]], frozen: [1]).run({ $0[0].linear($0[1]) }) { x in
            Reference.matmul(
                x[0], Reference.transpose(x[1], batch: 1, rows: 4, cols: 5), batch: 1, m: 3, k: 5, n: 4, sharedB: true)
        }
    }
}

@Suite struct ConvolutionTests {
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 1, 0), (3, 1, 0)])
    func conv2d(kernel: Int, stride: Int, padding: Int) {
        let (n, cin, h, w, cout) = (2, 3, 5, 6, 4)
        GradCheck(shapes: [[n, cin, h, w], [cout, cin, kernel, kernel], [cout]])
            .run({ $0[0].conv2d($0[1], $0[2], stride: stride, padding: padding) }) { x in
                Reference.conv2d(
                    x[0], x[1], x[2], n: n, cin: cin, h: h, wd: w, cout: cout, kh: kernel, kw: kernel,
                    stride: stride, padding: padding)
            }
    }

    @Test(arguments: [1, 40])
    func tilesOfOutputRowsGiveTheSameResult(columnElements: Int) {
        let (n, cin, h, w, cout) = (2, 3, 7, 5, 4)
        GradCheck(shapes: [[n, cin, h, w], [cout, cin, 3, 3], [cout]])
            .run({ $0[0].conv2d($0[1], $0[2], stride: 2, padding: 1, columnElements: columnElements) }) { x in
                Reference.conv2d(
                    x[0], x[1], x[2], n: n, cin: cin, h: h, wd: w, cout: cout, kh: 3, kw: 3, stride: 2, padding: 1)
            }
        GradCheck(shapes: [[n, cin, h, w], [cout, cin, 3, 3], [cout]])
            .run({ $0[0].conv2d($0[1], $0[2], padding: 1, columnElements: columnElements) }) { x in
                Reference.conv2d(
                    x[0], x[1], x[2], n: n, cin: cin, h: h, wd: w, cout: cout, kh: 3, kw: 3, stride: 1, padding: 1)
            }
    }

    @Test func frozenWeightsGetNoGradient() {
        GradCheck(shapes: [[1, 2, 4, 4], [3, 2, 3, 3], [3]], frozen: [1, 2])
            .run({ $0[0].conv2d($0[1], $0[2], padding: 1) }) { x in
                Reference.conv2d(
                    x[0], x[1], x[2], n: 1, cin: 2, h: 4, wd: 4, cout: 3, kh: 3, kw: 3, stride: 1, padding: 1)
            }
    }
}

@Suite struct NormalizationTests {
    @Test func layerNorm() {
        GradCheck(shapes: [[2, 3, 7], [7], [7]]).run({ $0[0].layerNorm(weight: $0[1], bias: $0[2]) }) { x in
            Reference.normalize(x[0], groups: 6, size: 7, weight: x[1], bias: x[2], eps: 1e-5) { $0 % 7 }
        }
        GradCheck(shapes: [[4, 5]]).run({ $0[0].layerNorm(weight: nil, bias: nil, eps: 1e-6) }) { x in
            Reference.normalize(x[0], groups: 4, size: 5, weight: nil, bias: nil, eps: 1e-6) { $0 % 5 }
        }
    }

    @Test func groupNorm() {
        let (n, c, h, w, groups) = (2, 6, 3, 2, 3)
        GradCheck(shapes: [[n, c, h, w], [c], [c]]).run({
            $0[0].groupNorm(groups: groups, weight: $0[1], bias: $0[2], eps: 1e-6)
        }) { x in
            Reference.normalize(
                x[0], groups: n * groups, size: (c / groups) * h * w, weight: x[1], bias: x[2], eps: 1e-6
            ) {
                ($0 / (h * w)) % c
            }
        }
    }

    @Test func crossEntropy() {
        let targets = [2, 0, 4, 1]
        GradCheck(shapes: [[4, 5]]).run({ $0[0].crossEntropy(targets) }) { x in
            let p = Reference.softmax(x[0], rows: 4, cols: 5)
            return [targets.enumerated().map { -log(p[$0.offset * 5 + $0.element]) }.reduce(0, +) / 4]
        }
    }

    @Test func l2Normalized() {
        GradCheck(shapes: [[3, 6]]).run({ $0[0].l2Normalized() }) { x in
            (0..<3).flatMap { r -> [Double] in
                let row = x[0][(r * 6)..<((r + 1) * 6)]
                let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
                return row.map { $0 / norm }
            }
        }
    }

    @Test func softmax() {
        GradCheck(shapes: [[3, 2, 9]]).run({ $0[0].softmax() }) { Reference.softmax($0[0], rows: 6, cols: 9) }
    }
}

@Suite struct AttentionTests {
    @Test(arguments: [(false, 5, 7), (true, 6, 6)])
    func attentionMatchesTheReference(causal: Bool, lq: Int, lk: Int) {
        let (batch, heads, d, dv) = (2, 2, 3, 4)
        for chunk in [nil, 1, 4] as [Int?] {
            GradCheck(shapes: [[batch, lq, heads * d], [batch, lk, heads * d], [batch, lk, heads * dv]])
                .run({ Tensor.attention($0[0], $0[1], $0[2], heads: heads, causal: causal, chunkRows: chunk) }) { x in
                    Reference.attention(
                        x[0], x[1], x[2], batch: batch, lq: lq, lk: lk, heads: heads, d: d, dv: dv, causal: causal)
                }
        }
    }

    @Test func headsWiderThanOneTileOfColumns() {
        // 50 and 33 channels per head: products of more than 48 columns, and a masked last vector.
        GradCheck(shapes: [[1, 5, 100], [1, 7, 100], [1, 7, 66]])
            .run({ Tensor.attention($0[0], $0[1], $0[2], heads: 2, chunkRows: 4) }) { x in
                Reference.attention(x[0], x[1], x[2], batch: 1, lq: 5, lk: 7, heads: 2, d: 50, dv: 33, causal: false)
            }
    }

    @Test func crossAttentionToAFrozenQuery() {
        // Textual inversion's case: gradients flow to keys and values (the conditioning) only.
        GradCheck(shapes: [[1, 8, 4], [1, 3, 4], [1, 3, 4]], frozen: [0])
            .run({ Tensor.attention($0[0], $0[1], $0[2], heads: 2) }) { x in
                Reference.attention(x[0], x[1], x[2], batch: 1, lq: 8, lk: 3, heads: 2, d: 2, dv: 2, causal: false)
            }
    }

    @Test func emptyQueriesAndRowsOfNaN() {
        var generator = RandomGenerator(seed: 9)
        let k = Tensor.randn([1, 5, 4], using: &generator)
        let v = Tensor.randn([1, 5, 4], using: &generator)
        #expect(Tensor.attention(Tensor(zeros: [1, 0, 4]), k, v, heads: 2).shape == [1, 0, 4])
        var q = Tensor.randn([1, 3, 4], using: &generator).scalars
        for j in 0..<4 { q[4 + j] = .nan }
        let out = Tensor.attention(Tensor(q, shape: [1, 3, 4]), k, v, heads: 2).scalars
        #expect(
            out[4..<8].allSatisfy(\.isNaN) && !out[0..<4].contains(where: \.isNaN)
                && !out[8..<12].contains(where: \.isNaN))
    }

    @Test func chunkingGivesTheSameResult() {
        var generator = RandomGenerator(seed: 7)
        let q = Tensor.randn([1, 64, 16], using: &generator)
        let k = Tensor.randn([1, 64, 16], using: &generator)
        let v = Tensor.randn([1, 64, 16], using: &generator)
        let whole = Tensor.attention(q, k, v, heads: 2, chunkRows: 64).scalars.map(Double.init)
        let chunked = Tensor.attention(q, k, v, heads: 2, chunkRows: 5).scalars.map(Double.init)
        #expect(relativeError(chunked, whole) < 1e-6)
    }

    @Test func meterCountsEachProductOnce() {
        // Forward runs QKᵀ and PV; backward recomputes QKᵀ and runs dV, dP, dQ and dK: 2 and 5 products
        // of 2·Lq·Lk·D operations per head, whatever the blocks and threads.
        var generator = RandomGenerator(seed: 9)
        let (lq, lk, heads, d) = (200, 150, 2, 24)
        let q = Tensor.randn([1, lq, heads * d], using: &generator, requiresGrad: true)
        let k = Tensor.randn([1, lk, heads * d], using: &generator, requiresGrad: true)
        let v = Tensor.randn([1, lk, heads * d], using: &generator, requiresGrad: true)
        let meter = ProductMeter()
        let out = Tensor.attention(q, k, v, heads: heads, chunkRows: 32, meter: meter)
        let product = 2.0 * Double(heads * lq * lk * d)
        #expect(meter.totals.flops == 2 * product)
        #expect(meter.totals.threadSeconds > 0)
        meter.reset()
        out.sum().backward()
        #expect(meter.totals.flops == 5 * product)
        #expect(
            Tensor.attention(q, k, v, heads: heads, chunkRows: 32).scalars == out.scalars, "metering changes nothing")
    }

    @Test func blocksOnSeveralThreadsGiveTheGradientsOfOne() {
        // Big enough that the blocks are shared among the threads, whose dK and dV parts are summed.
        var generator = RandomGenerator(seed: 8)
        // Three heads of 16 blocks: on two threads a run ends inside the second head, whose dK and dV
        // then come from both runs.
        let shapes = [[1, 256, 96], [1, 192, 96], [1, 192, 72]]
        let inputs = shapes.map { Tensor.randn($0, using: &generator) }
        let seed = Tensor.randn([1, 256, 72], using: &generator)
        func gradients() -> [[Double]] {
            let leaves = inputs.map { Tensor($0.scalars, shape: $0.shape, requiresGrad: true) }
            (Tensor.attention(leaves[0], leaves[1], leaves[2], heads: 3, chunkRows: 16) * seed).sum().backward()
            return leaves.map { $0.grad!.scalars.map(Double.init) }
        }
        let shared = gradients()
        let alone = Threads.serial { gradients() }
        for (a, b) in zip(shared, alone) { #expect(relativeError(a, b) < 1e-5) }
    }
}

@Suite struct EmbeddingTests {
    @Test func replacingRows() {
        GradCheck(shapes: [[5, 3], [2, 3]]).run({ $0[0].replacingRows([3, 1], with: $0[1]) }) { x in
            var out = x[0]
            for j in 0..<3 {
                out[9 + j] = x[1][j]
                out[3 + j] = x[1][3 + j]
            }
            return out
        }
        GradCheck(shapes: [[5, 3], [1, 3]], frozen: [0]).run({ $0[0].replacingRows([4], with: $0[1]) }) { x in
            var out = x[0]
            for j in 0..<3 { out[12 + j] = x[1][j] }
            return out
        }
    }

    @Test func lookupAndSparseGradient() {
        let ids = IndexTensor([3, 0, 3, 5], shape: [2, 2])
        GradCheck(shapes: [[7, 3]]).run({ $0[0].embedding(ids) }) { x in
            var out: [Double] = []
            for id in ids.values { out += x[0][(id * 3)..<(id * 3 + 3)] }
            return out
        }
        let table = Tensor(zeros: [7, 3], requiresGrad: true)
        table.embedding(ids).sum().backward()
        let rows = (0..<7).filter { r in table.grad!.scalars[(r * 3)..<(r * 3 + 3)].contains { $0 != 0 } }
        #expect(rows == [0, 3, 5])
    }
}
