import Testing

@testable import Jupyter

@Suite struct ProgressTimingTests {
    @Test func durationsReadAsPeopleWriteThem() {
        #expect(ProgressDisplay.duration(44.6) == "45s")
        #expect(ProgressDisplay.duration(125) == "2m 05s")
        #expect(ProgressDisplay.duration(3725) == "1h 02m")
    }
}
