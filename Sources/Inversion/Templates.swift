/// What a concept is trained with: textual inversion's prompt templates for an object or a style (from
/// the original implementation), or each image's own caption. `{}` stands for the placeholder.
public enum ConceptKind: String, Sendable, CaseIterable {
    case object, style, captions

    /// The fixed templates of `object` and `style`; none for `captions`, whose prompts come with the images.
    public var templates: [String] {
        switch self {
        case .captions:
            return []
        case .object:
            return [
                "a photo of a {}", "a rendering of a {}", "a cropped photo of the {}", "the photo of a {}",
                "a photo of a clean {}", "a photo of a dirty {}", "a dark photo of the {}", "a photo of my {}",
                "a photo of the cool {}", "a close-up photo of a {}", "a bright photo of the {}",
                "a cropped photo of a {}", "a photo of the {}", "a good photo of the {}", "a photo of one {}",
                "a close-up photo of the {}", "a rendition of the {}", "a photo of the clean {}",
                "a rendition of a {}", "a photo of a nice {}", "a good photo of a {}", "a photo of the nice {}",
                "a photo of the small {}", "a photo of the weird {}", "a photo of the large {}",
                "a photo of a cool {}", "a photo of a small {}"
            ]
        case .style:
            return [
                "a painting in the style of {}", "a rendering in the style of {}",
                "a cropped painting in the style of {}",
                "the painting in the style of {}", "a clean painting in the style of {}",
                "a dirty painting in the style of {}", "a dark painting in the style of {}",
                "a picture in the style of {}", "a cool painting in the style of {}",
                "a close-up painting in the style of {}", "a bright painting in the style of {}",
                "a good painting in the style of {}", "a close-up painting in the style of {}",
                "a rendition in the style of {}", "a nice painting in the style of {}",
                "a small painting in the style of {}", "a weird painting in the style of {}",
                "a large painting in the style of {}"
            ]
        }
    }
}
