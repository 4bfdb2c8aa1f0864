// A plugin's descriptor_json, read by LinkTypeDescriptor.parse: whatever it accepts passes validate() and encodes to
// a descriptor that it accepts again, equal to the first.
import AppLinksCore
import AppLinksJSON
import Foundation
import FuzzDriver

fuzz { data in
    guard let descriptor = try? LinkTypeDescriptor.parse(data) else { return }
    do {
        try descriptor.validate()
        let again = try LinkTypeDescriptor.parse(try JSONCoding.encode(descriptor))
        expect(again == descriptor, "the descriptor reads back different")
    } catch {
        expect(false, "an accepted descriptor fails once encoded again: \(error)")
    }
}
