import Testing

@testable import Training

@Suite struct RecipeTests {
    /// `train unet --channels` changes the block widths and nothing else of the recipe's UNet.
    @Test func otherChannelsKeepTheRestOfTheUNet() throws {
        let wider = try Recipe.unet(channels: "128, 128,128")
        #expect(wider["block_out_channels"] as? [Int] == [128, 128, 128])
        let rest = { (config: [String: Any]) in config.filter { $0.key != "block_out_channels" }.mapValues { "\($0)" } }
        #expect(rest(wider) == rest(Recipe.unet))
    }

    @Test(arguments: ["96,128", "96,128,128,128", "96,,128", "96,100,128", "0,128,128", "wide"])
    func widthsThatCannotBuildTheUNetAreRefused(_ text: String) {
        #expect(throws: TrainingError.self) { try Recipe.unet(channels: text) }
    }
}
