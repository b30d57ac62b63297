//! Plain-text output shared by the commands that print a collector's figures:
//! aligned terminal tables and CSV fields.

/// `titles` and `rows` as aligned columns two spaces apart, one `\n`-ended line each,
/// trailing spaces trimmed: the first `left` columns (names) left-aligned, the rest
/// (figures) right-aligned.
pub fn aligned(titles: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([titles[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..titles.len()).map(width).collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
            if i < left {
                l.push_str(c);
                l.push_str(&pad);
            } else {
                l.push_str(&pad);
                l.push_str(c);
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut titles.iter().copied());
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    out
}

/// A CSV field, quoted when it needs to be (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_align_left_and_figures_right() {
        let rows = vec![
            vec!["Tản Lĩnh".to_owned(), "7".to_owned()],
            vec!["X".to_owned(), "1234".to_owned()],
        ];
        assert_eq!(
            aligned(&["Area", "N"], &rows, 1),
            "Area         N\nTản Lĩnh     7\nX         1234\n"
        );
    }

    #[test]
    fn only_fields_that_need_it_are_quoted() {
        assert_eq!(csv_field("Viettel"), "Viettel");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
