import Foundation
import Testing

@testable import Numerics

/// A frozen model's batch loss computed in shares on several threads equals the whole batch's.
@Suite struct BatchSharesTests {
    @Test(arguments: [1, 2, 3, 5])
    func sharesGiveTheWholeBatchsLossAndGradient(shares: Int) {
        let block = TinyBlock(seed: 3, trainable: false)
        var g = RandomGenerator(seed: 8)
        let x = Tensor.randn([5, 4, 6, 6], using: &g)
        let target = Tensor.randn([5, 8, 12, 12], using: &g)
        let context = Tensor.randn([5, 7, 6], using: &g)

        let leaf = context.detached()
        leaf.requiresGrad = true
        let whole = Tensor.mse(block(x, context: leaf), target)
        whole.backward()
        let expected = leaf.grad!.scalars

        let (loss, gradient) = batchMeanLoss(of: context, shares: shares) { c, range in
            // The shares split the threads between them.
            #expect(shares == 1 || Threads.count == max(1, Threads.configured / min(shares, 5)))
            return Tensor.mse(block(x.batchRows(range), context: c), target.batchRows(range))
        }
        #expect(abs(loss - whole.item) <= 1e-5 * whole.item)
        #expect(gradient.shape == context.shape)
        let error = zip(gradient.scalars, expected).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +).squareRoot()
        let norm = expected.map { Double($0 * $0) }.reduce(0, +).squareRoot()
        #expect(error <= 1e-5 * norm)
        #expect(context.grad == nil, "the input itself is left alone")
    }

    @Test func inferenceInSharesEqualsTheWholeBatch() {
        let block = TinyBlock(seed: 4)  // trainable: the shares must still record nothing
        var g = RandomGenerator(seed: 9)
        let x = Tensor.randn([3, 4, 6, 6], using: &g)
        let context = Tensor.randn([3, 7, 6], using: &g)
        let whole = withoutGradients { block(x, context: context) }
        let shared = inBatchShares(3, shares: 2) { range in block(x.batchRows(range), context: context.batchRows(range))
        }
        #expect(shared.shape == whole.shape && !shared.needsGrad)
        let error = zip(shared.scalars, whole.scalars).map { abs($0 - $1) }.max()!
        #expect(error <= 1e-5 * whole.scalars.map(abs).max()!)
    }

    @Test func limitsArePerThreadAndRestored() {
        let configured = Threads.configured
        Threads.serial {
            #expect(Threads.count == 1)
            Threads.limited(to: 4) { #expect(Threads.count == min(4, configured)) }
            #expect(Threads.count == 1)
        }
        #expect(Threads.count == configured)
    }

    /// A loss is differentiated even when asked for inside `withoutGradients` (as a sampling loop might).
    @Test func oneShareRecordsGradientsToo() {
        let context = Tensor([1, 2, 3, 4], shape: [1, 4])
        let (loss, gradient) = withoutGradients {
            batchMeanLoss(of: context, shares: 1) { c, _ in (c * c).mean() }
        }
        #expect(abs(loss - 7.5) < 1e-6)
        #expect(gradient.scalars == [0.5, 1, 1.5, 2])
    }
}
