import Testing

@testable import Jupyter

@Suite struct ProgressTimingTests {
    @Test func durationsReadAsPeopleWriteThem() {
        #expect(ProgressText.duration(44.6) == "45s")
        #expect(ProgressText.duration(125) == "2m 05s")
        #expect(ProgressText.duration(3725) == "1h 02m")
    }

    /// The time left is the pace so far times the steps to go; at the end, the time taken.
    @Test func theLineShowsTheBarTheCountAndTheTimeLeft() {
        let going = ProgressText(title: "step", completed: 5, total: 20, note: "loss 0.1", elapsed: .seconds(10))
        #expect(going.line == "step [#######.......................] 5/20 (25%)  loss 0.1  ETA 30s")
        let done = ProgressText(title: "step", completed: 20, total: 20, elapsed: .seconds(125))
        #expect(done.line.hasSuffix("20/20 (100%)  in 2m 05s"))
        #expect(ProgressText(title: "x", completed: 0, total: 0, elapsed: .zero).count == "0/1 (0%)")
    }
}
