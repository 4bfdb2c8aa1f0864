// `application/x-www-form-urlencoded` as the OAuth 2.0 endpoints read it: a parameter sent twice is reported, and
// the values re-encoded read back the same.
import AppLinksHTTPInput
import Foundation
import FuzzDriver

fuzz { data in
    let form = FormURLEncoded(data)
    let pairs = form.values.sorted { $0.key < $1.key }
    let again = pairs.map { FormURLEncoded.encode($0.key) + "=" + FormURLEncoded.encode($0.value) }.joined(separator: "&")
    let reread = FormURLEncoded(Data(again.utf8))
    expect(reread.values == form.values, "values changed through \(again.debugDescription)")
    expect(reread.duplicates.isEmpty, "re-encoding made a duplicate")
    expect(form.duplicates.allSatisfy { form.values[$0] != nil }, "a duplicate that has no first value")
    expect(again.utf8.allSatisfy { $0 < 0x80 }, "the encoding is not ASCII")
    let ordered = FormURLEncoded.pairs(data)
    expect(Set(ordered.map(\.name)) == Set(form.values.keys), "the pairs name other parameters than the values")
    let repeated = Set(Dictionary(grouping: ordered, by: \.name).filter { $0.value.count > 1 }.keys)
    expect(repeated == form.duplicates, "the pairs repeat other names than the duplicates")
}
