import Foundation
import Numerics
import Testing

@testable import Training

@Suite struct SceneLayoutTests {
    @Test func captionsNameSizePlaceAndBackground() {
        let crab = EmojiSubject(codePoint: 0x1F980, name: "crab")
        let small = SceneLayout(scale: 0.45, x: 0, y: 0.5, background: 2, lower: nil)
        #expect(SceneGenerator.caption(crab, layout: small, side: 32) == "a crab on a yellow background, small, left")
        let large = SceneLayout(scale: 0.85, x: 1, y: 1, background: 5, lower: 0)
        #expect(
            SceneGenerator.caption(crab, layout: large, side: 32)
                == "a crab on a blue and red background, large, center")
        let corner = SceneLayout(scale: 0.6, x: 1, y: 0, background: 11, lower: nil)
        #expect(
            SceneGenerator.caption(crab, layout: corner, side: 32) == "a crab on a white background, medium, top right")
    }
}
