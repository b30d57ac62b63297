//! Folding Vietnamese text for comparison: what people type on any keyboard, with or
//! without accents, composed or combining, compares equal to the official name.
//!
//! `Xã Dân Tiến`, `xa dan tien`, `XÃ DÂN TIỂN` (a tone typed wrong) and the same
//! letters in decomposed form all fold to `xa dan tien`: Unicode canonical
//! decomposition (NFD) splits each letter from its tone and vowel marks, the marks are
//! dropped, `đ`/`Đ` (a letter of its own, not a `d` with a mark) becomes `d`, case is
//! lowered, and any run of punctuation or spaces becomes one space.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `text` folded: no accents, `đ` as `d`, lower case, words separated by one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn accents_case_and_spaces_fold_away() {
        assert_eq!(fold("Xã Dân Tiến"), "xa dan tien");
        assert_eq!(fold("  XÃ   DÂN-TIỂN "), "xa dan tien");
        assert_eq!(fold("Đắk Lắk"), "dak lak");
        assert_eq!(fold("đồng tháp"), "dong thap");
        // Decomposed input (combining marks typed separately).
        assert_eq!(fold("Xa\u{0303} Da\u{0302}n"), "xa dan");
        assert_eq!(fold(""), "");
        assert_eq!(fold(" ,. "), "");
    }
}
