import AppLinksCore
import Testing

@Suite("text escaping works on scalars")
struct TextEscapingTests {
    @Test("a special character followed by a combining mark is escaped like any other")
    func combiningMarks() {
        #expect(TextEscaping.xml("<\u{301}a&\u{301}\"\u{301}>") == "&lt;\u{301}a&amp;\u{301}&quot;\u{301}&gt;")
        #expect(TextEscaping.backslashed("a\\\u{7A6}c\\", []) == "a\\\\\u{7A6}c\\\\")
        #expect(TextEscaping.backslashed("50%\u{301}_\u{301}", ["%", "_"]) == "50\\%\u{301}\\_\u{301}")
        #expect(TextEscaping.backslashed("\"\u{301}", ["\""]).unicodeScalars.map(\.value) == [0x5C, 0x22, 0x301])
    }

    @Test("a string with nothing to escape comes back as it is")
    func unchanged() {
        #expect(TextEscaping.xml("plain e\u{301} 😀") == "plain e\u{301} 😀")
        #expect(TextEscaping.replacing("abc") { _ in nil } == "abc")
    }
}
