import CKernels
import Foundation

/// Scaled dot-product attention over several heads, in blocks of query rows.
///
/// Only queries, keys, values, the output and one log-sum-exp per query row are kept for backward;
/// the attention probabilities are recomputed block by block there. So a 4096-token self-attention
/// never holds its 4096² probability matrix (512 MiB for 8 heads), forward or backward. The block
/// size does not change the output or dQ; dK and dV sum over blocks, so their last bits depend on
/// the block size and the thread count (never on timing).
///
/// A block (one head, some query rows) is the unit of parallel work: each thread takes a run of
/// blocks and does their products whole, on scores that stay in its core's cache between the
/// products and the softmax. The products are `PackedProducts`, with the head's keys and values
/// packed once per run; in backward the long side of dK and dV products is the keys (dKᵀ, dVᵀ
/// gathered over the head's blocks). Splitting each thin product (k = 40, n = 77) over the
/// threads through sgemm instead, with scores of many megabytes, ran at 13–47% of the sgemm peak.
public enum AttentionTuning {
    /// Scores held per block (64 query rows of 4096 keys, 1 MiB): its scores and in backward their
    /// gradient stay within a core's L2 cache.
    nonisolated(unsafe) public static var chunkElements = 1 << 18
}

extension Tensor {
    /// - Parameters: q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv]; `causal` masks keys after each
    ///   query (Lq = Lk). Returns [B, Lq, H·Dv]. `chunkRows` bounds the rows of probabilities held at once;
    ///   `meter` counts the products' work and time, forward and backward (for benchmarks).
    public static func attention(
        _ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, causal: Bool = false,
        chunkRows: Int? = nil, meter: ProductMeter? = nil
    ) -> Tensor {
        precondition(q.rank == 3 && k.rank == 3 && v.rank == 3, "attention: expects [B, L, C] inputs")
        let (batch, lq, hd) = (q.shape[0], q.shape[1], q.shape[2])
        let (lk, hdv) = (k.shape[1], v.shape[2])
        precondition(
            k.shape[0] == batch && v.shape[0] == batch && k.shape[2] == hd && v.shape[1] == lk,
            "attention: shapes \(q.shape), \(k.shape), \(v.shape) do not fit")
        precondition(hd % heads == 0 && hdv % heads == 0, "attention: \(hd) channels do not split into \(heads) heads")
        precondition(!causal || lq == lk, "attention: a causal mask needs as many queries as keys")
        let blocks = AttentionBlocks(batch: batch, heads: heads, lq: lq, lk: lk, hd: hd, hdv: hdv, chunkRows: chunkRows)
        let (d, dv, scale) = (blocks.d, blocks.dv, blocks.scale)
        let out = Tensor(uninitialized: [batch, lq, hdv])
        let logSumExp = UnsafeMutablePointer<Float>.allocate(capacity: batch * heads * lq)

        blocks.forEachRun { run, _ in
            let work = AttentionWorkspace(blocks)
            defer { work.release() }
            for block in run {
                let (b, h, r0, rows) = blocks.locate(block)
                let kb = k.data + b * lk * hd + h * d
                let vb = v.data + b * lk * hdv + h * dv
                if work.packedHead != b * heads + h {
                    work.packedHead = b * heads + h
                    PackedProducts.pack(kb, ld: hd, rows: lk, cols: d, transpose: true, into: work.keysT, meter: meter)
                    PackedProducts.pack(vb, ld: hdv, rows: lk, cols: dv, into: work.values, meter: meter)
                }
                let qc = q.data + (b * lq + r0) * hd + h * d
                let scores = work.scores
                let ld = work.ld
                PackedProducts.product(
                    m: rows, n: lk, depth: d, alpha: scale, a: qc, aRow: hd, aDepth: 1, b: work.keysT, ldb: ld,
                    c: scores, ldc: ld, meter: meter)
                let lse = logSumExp + (b * heads + h) * lq + r0
                let oc = out.data + (b * lq + r0) * hdv + h * dv
                if causal {
                    for i in 0..<rows {
                        for j in (r0 + i + 1)..<max(lk, r0 + i + 1) { scores[i * ld + j] = -.infinity }
                    }
                }
                let inverse = work.rowFactors
                VectorMath.softmaxRows(scores, rows: rows, n: lk, ld: ld, logSumExp: lse, inverse: inverse)
                // O = softmax · V, normalising the Dv outputs of each row instead of its Lk weights.
                PackedProducts.product(
                    m: rows, n: dv, depth: lk, a: scores, aRow: ld, aDepth: 1, b: work.values,
                    ldb: PackedProducts.leadingDimension(dv), c: oc, ldc: hdv, meter: meter)
                gk_scale_rows(oc, rows, dv, hdv, inverse)
            }
        }

        // The closure keeps the output's memory, not the output tensor, which owns the closure.
        let outStorage = out.storage
        let savedLogSumExp = LogSumExp(logSumExp)
        return out.recording("attention", [q, k, v]) { g, needs in
            let dq = needs[0] ? Tensor(uninitialized: q.shape) : nil
            let dk = needs[1] ? Tensor(zeros: k.shape) : nil
            let dv_ = needs[2] ? Tensor(zeros: v.shape) : nil
            // dK and dV sum over every query block of their head: each run of blocks after the first
            // adds into its own buffers, summed in run order at the end (deterministic for a thread count).
            let partials = PartialSums(dk: dk, dv: dv_)
            blocks.forEachRun { run, index in
                let work = AttentionWorkspace(blocks)
                defer { work.release() }
                let (dkOut, dvOut) = partials.buffers(for: index)
                let probabilities = work.scores
                let dp = work.scoreGradients
                let ld = work.ld
                // dKᵀ and dVᵀ of the current head gather over its blocks (as products whose long side
                // is the keys), and are added into dK and dV when the head is done.
                func flush() {
                    guard work.packedHead >= 0 else { return }
                    let (b, h) = (work.packedHead / heads, work.packedHead % heads)
                    if let dkOut {
                        PackedProducts.addTransposed(
                            work.keyGradientsT, lds: ld, rows: d, cols: lk, to: dkOut + b * lk * hd + h * d, ldd: hd,
                            meter: meter)
                    }
                    if let dvOut {
                        PackedProducts.addTransposed(
                            work.valueGradientsT, lds: ld, rows: dv, cols: lk, to: dvOut + b * lk * hdv + h * dv,
                            ldd: hdv, meter: meter)
                    }
                }
                for block in run {
                    let (b, h, r0, rows) = blocks.locate(block)
                    let kb = k.data + b * lk * hd + h * d
                    let vb = v.data + b * lk * hdv + h * dv
                    if work.packedHead != b * heads + h {
                        flush()
                        work.packedHead = b * heads + h
                        PackedProducts.pack(
                            kb, ld: hd, rows: lk, cols: d, transpose: true, into: work.keysT, meter: meter)
                        PackedProducts.pack(kb, ld: hd, rows: lk, cols: d, into: work.keys, meter: meter)
                        PackedProducts.pack(
                            vb, ld: hdv, rows: lk, cols: dv, transpose: true, into: work.valuesT, meter: meter)
                        work.keyGradientsT.update(repeating: 0, count: d * ld)
                        work.valueGradientsT.update(repeating: 0, count: dv * ld)
                    }
                    let qc = q.data + (b * lq + r0) * hd + h * d
                    let gc = g.data + (b * lq + r0) * hdv + h * dv
                    let oc = outStorage.base + (b * lq + r0) * hdv + h * dv
                    let lse = savedLogSumExp.values + (b * heads + h) * lq + r0
                    // P = exp(scale·QKᵀ − lse), recomputed.
                    PackedProducts.product(
                        m: rows, n: lk, depth: d, alpha: scale, a: qc, aRow: hd, aDepth: 1, b: work.keysT, ldb: ld,
                        c: probabilities, ldc: ld, meter: meter)
                    gk_softmax_recompute_rows(probabilities, rows, lk, ld, lse, causal ? r0 : -1)
                    if dvOut != nil {
                        // dVᵀ += dOᵀ · P
                        PackedProducts.product(
                            m: dv, n: lk, depth: rows, a: gc, aRow: 1, aDepth: hdv, b: probabilities, ldb: ld,
                            accumulate: true, c: work.valueGradientsT, ldc: ld, meter: meter)
                    }
                    guard dq != nil || dkOut != nil else { continue }
                    // dP = dO · Vᵀ; dS = P ∘ (dP − rowsum(dO ∘ O)).
                    PackedProducts.product(
                        m: rows, n: lk, depth: dv, a: gc, aRow: hdv, aDepth: 1, b: work.valuesT, ldb: ld,
                        c: dp, ldc: ld, meter: meter)
                    gk_softmax_backward_rows(probabilities, dp, rows, lk, ld, gc, oc, dv, hdv)
                    if let dq {
                        // dQ = scale · dS · K
                        PackedProducts.product(
                            m: rows, n: d, depth: lk, alpha: scale, a: dp, aRow: ld, aDepth: 1, b: work.keys,
                            ldb: PackedProducts.leadingDimension(d),
                            c: dq.data + (b * lq + r0) * hd + h * d, ldc: hd, meter: meter)
                    }
                    if dkOut != nil {
                        // dKᵀ += scale · Qᵀ · dS
                        PackedProducts.product(
                            m: d, n: lk, depth: rows, alpha: scale, a: qc, aRow: 1, aDepth: hd, b: dp, ldb: ld,
                            accumulate: true, c: work.keyGradientsT, ldc: ld, meter: meter)
                    }
                }
                flush()
            }
            partials.sum()
            return [dq, dk, dv_]
        }
    }
}

/// One thread's scratch for a run of blocks: the block's scores (and their gradient), the current
/// head's keys and values packed for `PackedProducts`, and in backward its dKᵀ and dVᵀ.
private final class AttentionWorkspace {
    /// The leading dimension of everything that runs along the keys.
    let ld: Int
    let scores, scoreGradients: UnsafeMutablePointer<Float>
    /// Kᵀ (D × Lk); V (Lk × Dv) in forward; K (Lk × D), Vᵀ (Dv × Lk), dKᵀ and dVᵀ in backward.
    let keysT, values, keys, valuesT, keyGradientsT, valueGradientsT: UnsafeMutablePointer<Float>
    /// One number per query row of a block (1/sum in forward).
    let rowFactors: UnsafeMutablePointer<Float>
    /// The head (b · heads + h) whose keys and values are packed.
    var packedHead = -1
    private var all: [UnsafeMutablePointer<Float>] = []

    init(_ blocks: AttentionBlocks) {
        let (lk, d, dv, rows) = (blocks.lk, blocks.d, blocks.dv, blocks.rowsPerBlock)
        ld = PackedProducts.leadingDimension(lk)
        var all: [UnsafeMutablePointer<Float>] = []
        // Every buffer at full size in both passes (a few MiB): none is a trap for a later edit.
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            all.append(p)
            return p
        }
        scores = buffer(rows * ld)
        rowFactors = buffer(rows)
        keysT = buffer(d * ld)
        values = buffer(lk * PackedProducts.leadingDimension(dv))
        scoreGradients = buffer(rows * ld)
        keys = buffer(lk * PackedProducts.leadingDimension(d))
        valuesT = buffer(dv * ld)
        keyGradientsT = buffer(d * ld)
        valueGradientsT = buffer(dv * ld)
        self.all = all
    }

    func release() { for p in all { p.deallocate() } }
}

/// How an attention is cut into blocks of one head's query rows, and the runs of blocks the threads take.
struct AttentionBlocks {
    let batch: Int, heads: Int, lq: Int, lk: Int
    let d: Int, dv: Int, scale: Float
    let rowsPerBlock: Int, blocksPerHead: Int
    var count: Int { batch * heads * blocksPerHead }
    /// Multiply-adds of one block's products, forward.
    var blockWork: Int { rowsPerBlock * lk * (d + dv) }

    init(batch: Int, heads: Int, lq: Int, lk: Int, hd: Int, hdv: Int, chunkRows: Int?) {
        (self.batch, self.heads, self.lq, self.lk) = (batch, heads, lq, lk)
        (d, dv) = (hd / heads, hdv / heads)
        scale = 1 / Float(d).squareRoot()
        rowsPerBlock = max(1, min(lq, chunkRows ?? max(1, AttentionTuning.chunkElements / max(lk, 1))))
        blocksPerHead = (lq + rowsPerBlock - 1) / rowsPerBlock
    }

    /// Batch item, head, first query row and rows of block `index`.
    func locate(_ index: Int) -> (b: Int, h: Int, r0: Int, rows: Int) {
        let head = index / blocksPerHead
        let r0 = (index % blocksPerHead) * rowsPerBlock
        return (head / heads, head % heads, r0, min(rowsPerBlock, lq - r0))
    }

    /// Runs `body(blocks, run index)` on contiguous runs of blocks, one per thread, each run's
    /// products kept on its thread. Small attentions (CLIP's 77 tokens) stay on the calling thread.
    func forEachRun(_ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        let threads = min(Threads.count, count, max(1, count * blockWork / (1 << 20)))
        let per = (count + threads - 1) / threads
        let runs = (count + per - 1) / per
        if runs == 1 { return Threads.serial { body(0..<count, 0) } }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: runs) { index in
                Threads.serial { body((index * per)..<min(count, (index + 1) * per), index) }
            }
        }
    }
}

/// The forward pass's log-sum-exp per query row, freed with the backward closure that needs it.
private final class LogSumExp: @unchecked Sendable {
    let values: UnsafeMutablePointer<Float>
    init(_ values: UnsafeMutablePointer<Float>) { self.values = values }
    deinit { values.deallocate() }
}

/// dK and dV for each run of blocks: the first run writes into the gradients themselves, later runs
/// into zeroed buffers of their own that `sum` adds in, in run order.
private final class PartialSums {
    let dk: Tensor?, dv: Tensor?
    private var extra: [Int: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?)] = [:]
    private let lock = NSLock()

    init(dk: Tensor?, dv: Tensor?) { (self.dk, self.dv) = (dk, dv) }

    func buffers(for run: Int) -> (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) {
        if run == 0 { return (dk?.data, dv?.data) }
        func zeroed(_ t: Tensor?) -> UnsafeMutablePointer<Float>? {
            guard let t else { return nil }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: t.count)
            p.initialize(repeating: 0, count: t.count)
            return p
        }
        let pair = (zeroed(dk), zeroed(dv))
        lock.withLock { extra[run] = pair }
        return pair
    }

    func sum() {
        for run in extra.keys.sorted() {
            let (pk, pv) = extra[run]!
            for (target, part) in [(dk, pk), (dv, pv)] {
                guard let target, let part else { continue }
                let t = target.data
                for i in 0..<target.count { t[i] += part[i] }
                part.deallocate()
            }
        }
        extra = [:]
    }
}
