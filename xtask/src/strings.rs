//! `cargo xtask check-strings`: every error code the engine can return has a sentence
//! in English and Vietnamese in both apps.
//!
//! The codes come from the wire contract's list, `spec/src/codes.rs`, compiled into
//! this crate as a module (it depends on nothing), so the check and the engine can
//! never read two different lists. The four string sets are Android's
//! `res/values{,-vi}/strings.xml` (`error_<code>`) and iOS's
//! `{en,vi}.lproj/Localizable.strings` (`error.<code>`). A failure lists, per file,
//! the exact line to add. The iOS sets must also hold the reminder texts, by the keys
//! the engine plans them with (`core/src/session/routine.rs`). It fails when an
//! English text and its Vietnamese translation carry different format placeholders,
//! and on an unescaped quote in an Android string: no Android or iOS build runs here
//! to catch either.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{Result, workspace_root};

#[allow(dead_code)] // `is_known` serves the core's tests, not this check
#[path = "../../spec/src/codes.rs"]
mod codes;

use codes::{ERROR_CODES, ErrorCode};

/// The file of the `#[path]` above, from the workspace root, for messages.
const CODES_FILE: &str = "spec/src/codes.rs";

/// The non-blank texts of a string set, by key.
type Texts = BTreeMap<String, String>;

/// How a string set names its keys and what a line of it looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Android resources: `<string name="error_busy">…</string>`.
    AndroidXml,
    /// Apple `.strings`: `"error.busy" = "…";`.
    AppleStrings,
}

impl Format {
    /// The key under which a set holds the text of `code`.
    fn key(self, code: &str) -> String {
        match self {
            Format::AndroidXml => format!("error_{code}"),
            Format::AppleStrings => format!("error.{code}"),
        }
    }

    /// The line to add for `code`, with a placeholder for the text.
    fn line_to_add(self, code: &ErrorCode, language: &str) -> String {
        let key = self.key(code.code);
        let text = format!("({language}: {})", code.meaning);
        // Escaped as each format needs, so that the line can be pasted as it is.
        match self {
            Format::AndroidXml => {
                let text = text.replace('\'', "\\'").replace('"', "\\\"");
                format!("<string name=\"{key}\">{text}</string>")
            }
            Format::AppleStrings => {
                format!("\"{key}\" = \"{}\";", text.replace('"', "\\\""))
            }
        }
    }

    /// The texts a file of this format defines, blank ones left out.
    fn keys(self, text: &str) -> std::result::Result<Texts, String> {
        match self {
            Format::AndroidXml => android_keys(text),
            Format::AppleStrings => apple_keys(text),
        }
    }
}

/// One of the four string sets.
#[derive(Debug, Clone, Copy)]
struct StringSet {
    /// Path from the workspace root.
    path: &'static str,
    /// Language of its texts, as the failure message names it.
    language: &'static str,
    format: Format,
}

/// The four sets every code needs a text in.
const SETS: [StringSet; 4] = [
    StringSet {
        path: "android-bindings/android/src/main/res/values/strings.xml",
        language: "English",
        format: Format::AndroidXml,
    },
    StringSet {
        path: "android-bindings/android/src/main/res/values-vi/strings.xml",
        language: "Vietnamese",
        format: Format::AndroidXml,
    },
    StringSet {
        path: "ios-bindings/swift/Sources/IspeedShell/Resources/en.lproj/Localizable.strings",
        language: "English",
        format: Format::AppleStrings,
    },
    StringSet {
        path: "ios-bindings/swift/Sources/IspeedShell/Resources/vi.lproj/Localizable.strings",
        language: "Vietnamese",
        format: Format::AppleStrings,
    },
];

/// Checks the four sets of the workspace against the core's codes.
pub fn check() -> Result {
    let root = workspace_root();
    let loaded = SETS
        .iter()
        .map(|set| load(&root, set).map(|keys| (*set, keys)))
        .collect::<Result<Vec<_>>>()?;
    let routine = std::fs::read_to_string(root.join(ROUTINE_FILE))
        .map_err(|e| format!("check-strings: cannot read {ROUTINE_FILE}: {e}"))?;
    let reminder_keys = reminder_keys(&routine)?;
    let report = missing(ERROR_CODES, &loaded)
        + &missing_reminders(&reminder_keys, &loaded)
        + &mismatched_placeholders(&loaded);
    if report.is_empty() {
        eprintln!(
            "check-strings: {} error codes have English and Vietnamese texts in both apps, \
             {} reminder texts in the iOS app",
            ERROR_CODES.len(),
            reminder_keys.len()
        );
        Ok(())
    } else {
        Err(report)
    }
}

/// Where the engine names the text keys of the iOS reminders (`pub const KEY_*`).
const ROUTINE_FILE: &str = "core/src/session/routine.rs";

/// The reminder text keys the engine plans with: the values of its `pub const KEY_`
/// string constants. None found is an error (the file moved or changed shape).
fn reminder_keys(source: &str) -> Result<Vec<String>> {
    let keys: Vec<String> = source
        .lines()
        .filter(|l| l.trim_start().starts_with("pub const KEY_"))
        .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
        .collect();
    if keys.is_empty() {
        return Err(format!(
            "check-strings: no `pub const KEY_...: &str` reminder keys in {ROUTINE_FILE}"
        ));
    }
    Ok(keys)
}

/// The reminder texts an iOS string set lacks (notifications would show the raw key).
fn missing_reminders(keys: &[String], sets: &[(StringSet, Texts)]) -> String {
    let mut out = String::new();
    for (set, texts) in sets
        .iter()
        .filter(|(s, _)| s.format == Format::AppleStrings)
    {
        for key in keys.iter().filter(|k| !texts.contains_key(*k)) {
            out.push_str(&format!(
                "\n  {} ({}): add \"{key}\" = \"...\";",
                set.path, set.language
            ));
        }
    }
    if out.is_empty() {
        out
    } else {
        format!(
            "check-strings: reminder texts missing (the keys are the engine's, in \
             {ROUTINE_FILE}):{out}\n"
        )
    }
}

/// The keys one set defines.
fn load(root: &Path, set: &StringSet) -> Result<Texts> {
    let path = root.join(set.path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("check-strings: cannot read {}: {e}", set.path))?;
    set.format
        .keys(&text)
        .map_err(|e| format!("check-strings: {}: {e}", set.path))
}

/// What to add, file by file; empty when nothing is missing.
fn missing(codes: &[ErrorCode], sets: &[(StringSet, Texts)]) -> String {
    let mut out = String::new();
    let mut count = 0;
    for (set, keys) in sets {
        let absent: Vec<&ErrorCode> = codes
            .iter()
            .filter(|c| !keys.contains_key(&set.format.key(c.code)))
            .collect();
        if absent.is_empty() {
            continue;
        }
        count += absent.len();
        out.push_str(&format!("\n  {} ({}): add\n", set.path, set.language));
        for code in absent {
            out.push_str(&format!(
                "    {}\n",
                set.format.line_to_add(code, set.language)
            ));
        }
    }
    if count == 0 {
        return String::new();
    }
    format!(
        "check-strings: {count} missing error texts (the codes are listed in {CODES_FILE}; \
         write each in plain words a citizen understands, saying what to do):{out}"
    )
}

/// Texts whose English and Vietnamese versions (in the same app) do not carry the
/// same format placeholders: a missing or extra `%d` shows garbage, and on iOS a
/// `%@` fed an integer crashes the app. Empty when all agree.
fn mismatched_placeholders(sets: &[(StringSet, Texts)]) -> String {
    let mut out = String::new();
    for (english, english_texts) in sets.iter().filter(|(s, _)| s.language == "English") {
        let Some((vietnamese, vietnamese_texts)) = sets
            .iter()
            .find(|(s, _)| s.language == "Vietnamese" && s.format == english.format)
        else {
            continue;
        };
        for (key, en) in english_texts {
            let Some(vi) = vietnamese_texts.get(key) else {
                continue;
            };
            let (a, b) = (placeholders(en), placeholders(vi));
            if a != b {
                out.push_str(&format!(
                    "\n  {key}: {} has {a:?}, {} has {b:?}",
                    english.path, vietnamese.path
                ));
            }
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("check-strings: English and Vietnamese texts with different placeholders:{out}\n")
    }
}

/// The format placeholders of a text (`%1$s`, `%d`, `%@`, `%ld`), sorted; `%%` is
/// a literal percent sign.
fn placeholders(text: &str) -> Vec<String> {
    /// What may sit between `%` and the conversion: position (`1$`), flags, width,
    /// precision, and the length modifiers of C and Foundation (`%ld`, `%lld`).
    fn in_between(c: char) -> bool {
        c.is_ascii_digit() || "$-#+ 0,(.lhqztj".contains(c)
    }
    let mut found = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek().is_some_and(|&(_, n)| n == '%') {
            chars.next();
            continue;
        }
        let mut end = start + 1;
        for (i, n) in chars.by_ref() {
            end = i + n.len_utf8();
            // The conversion (`s`, `d`, `@`...) ends it; so does anything unexpected.
            if !in_between(n) {
                break;
            }
        }
        found.push(text[start..end].to_owned());
    }
    found.sort();
    found
}

/// Keys of an Android resources file with a non-blank text. Apostrophes and quotes
/// must be escaped there (aapt refuses the file otherwise, and no Android build runs
/// here), so an unescaped one is an error too.
fn android_keys(text: &str) -> std::result::Result<Texts, String> {
    let mut keys = Texts::new();
    let mut rest = text;
    while let Some(start) = rest.find("<string ") {
        rest = &rest[start..];
        let open_end = rest
            .find('>')
            .ok_or_else(|| "a <string> tag is not closed".to_owned())?;
        let tag = &rest[..open_end];
        let name = attribute(tag, "name").ok_or_else(|| format!("{tag}> has no name"))?;
        if tag.ends_with('/') {
            return Err(format!("<string name=\"{name}\"/> has no text"));
        }
        let body_start = open_end + 1;
        let body_len = rest[body_start..]
            .find("</string>")
            .ok_or_else(|| format!("<string name=\"{name}\"> is not closed"))?;
        let body = &rest[body_start..body_start + body_len];
        if let Some(bad) = unescaped_quote(body) {
            return Err(format!(
                "<string name=\"{name}\"> has an unescaped {bad}: write \\{bad}"
            ));
        }
        if !body.trim().is_empty() && keys.insert(name.to_owned(), body.to_owned()).is_some() {
            return Err(format!("<string name=\"{name}\"> is defined twice"));
        }
        rest = &rest[body_start + body_len..];
    }
    Ok(keys)
}

/// The value of `name="..."` in a tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// An apostrophe or double quote not preceded by a backslash, as aapt rejects them.
fn unescaped_quote(body: &str) -> Option<char> {
    let mut escaped = false;
    for c in body.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '\'' | '"' if !escaped => return Some(c),
            _ => escaped = false,
        }
    }
    None
}

/// Keys of an Apple `.strings` file (`"key" = "value";` lines, `/* */` and `//`
/// comments) with a non-blank value.
fn apple_keys(text: &str) -> std::result::Result<Texts, String> {
    let mut keys = Texts::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    loop {
        skip_blank_and_comments(&mut chars, &mut line)?;
        if chars.peek().is_none() {
            return Ok(keys);
        }
        let key = quoted(&mut chars, &mut line)?;
        skip_blank_and_comments(&mut chars, &mut line)?;
        if chars.next() != Some('=') {
            return Err(format!("line {line}: expected = after \"{key}\""));
        }
        skip_blank_and_comments(&mut chars, &mut line)?;
        let value = quoted(&mut chars, &mut line)?;
        skip_blank_and_comments(&mut chars, &mut line)?;
        if chars.next() != Some(';') {
            return Err(format!(
                "line {line}: expected ; after the value of \"{key}\""
            ));
        }
        if !value.trim().is_empty() && keys.insert(key.clone(), value).is_some() {
            return Err(format!("line {line}: \"{key}\" is defined twice"));
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Skips white space and comments, counting lines.
fn skip_blank_and_comments(
    chars: &mut Chars<'_>,
    line: &mut usize,
) -> std::result::Result<(), String> {
    loop {
        match chars.peek() {
            Some('\n') => {
                *line += 1;
                chars.next();
            }
            Some(c) if c.is_whitespace() => {
                chars.next();
            }
            Some('/') => {
                chars.next();
                match chars.next() {
                    Some('/') => {
                        for c in chars.by_ref() {
                            if c == '\n' {
                                *line += 1;
                                break;
                            }
                        }
                    }
                    Some('*') => {
                        let mut star = false;
                        loop {
                            match chars.next() {
                                Some('/') if star => break,
                                Some(c) => {
                                    star = c == '*';
                                    if c == '\n' {
                                        *line += 1;
                                    }
                                }
                                None => return Err(format!("line {line}: comment not closed")),
                            }
                        }
                    }
                    _ => return Err(format!("line {line}: stray /")),
                }
            }
            _ => return Ok(()),
        }
    }
}

/// A double-quoted string with backslash escapes, unescaped.
fn quoted(chars: &mut Chars<'_>, line: &mut usize) -> std::result::Result<String, String> {
    if chars.next() != Some('"') {
        return Err(format!("line {line}: expected a quoted string"));
    }
    let mut out = String::new();
    loop {
        match chars.next() {
            Some('"') => return Ok(out),
            Some('\\') => match chars.next() {
                Some('n') => out.push('\n'),
                Some(c) => out.push(c),
                None => break,
            },
            Some(c) => {
                if c == '\n' {
                    *line += 1;
                }
                out.push(c);
            }
            None => break,
        }
    }
    Err(format!("line {line}: string not closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace's four sets, as the check reads them.
    fn real_sets() -> Vec<(StringSet, Texts)> {
        let root = workspace_root();
        SETS.iter()
            .map(|set| {
                (
                    *set,
                    load(&root, set).expect("a string set of the workspace"),
                )
            })
            .collect()
    }

    #[test]
    fn the_workspace_has_every_code_in_every_set() {
        let report = missing(ERROR_CODES, &real_sets());
        assert!(report.is_empty(), "{report}");
    }

    #[test]
    fn reminder_keys_are_read_from_the_engine_and_a_missing_text_is_named() {
        let source = std::fs::read_to_string(workspace_root().join(ROUTINE_FILE))
            .expect("the routine module");
        let keys = reminder_keys(&source).expect("keys");
        assert!(keys.contains(&"reminder_first".to_owned()), "{keys:?}");
        let mut sets = real_sets();
        assert!(missing_reminders(&keys, &sets).is_empty());
        let ios_vi = sets
            .iter_mut()
            .find(|(s, _)| s.language == "Vietnamese" && s.format == Format::AppleStrings)
            .expect("the iOS Vietnamese set");
        ios_vi.1.remove("reminder_last");
        let report = missing_reminders(&keys, &sets);
        assert!(
            report.contains("vi.lproj") && report.contains("\"reminder_last\""),
            "{report}"
        );
        assert!(reminder_keys("no keys here").is_err());
    }

    #[test]
    fn the_workspace_texts_agree_on_placeholders() {
        let report = mismatched_placeholders(&real_sets());
        assert!(report.is_empty(), "{report}");
    }

    #[test]
    fn placeholders_are_found_and_a_lost_one_is_reported() {
        assert_eq!(placeholders("Latency %1$s ms"), ["%1$s"]);
        assert_eq!(placeholders("%d of %d, 100%% sure"), ["%d", "%d"]);
        assert_eq!(placeholders("Area: %@ (%ld)"), ["%@", "%ld"]);
        assert!(placeholders("no placeholder").is_empty());
        let mut sets = real_sets();
        let key = "today.count".to_owned();
        let vi = sets
            .iter_mut()
            .find(|(s, _)| s.language == "Vietnamese" && s.format == Format::AppleStrings)
            .expect("the iOS Vietnamese set");
        vi.1.insert(key.clone(), "Hôm nay: %d lần đo".to_owned());
        let report = mismatched_placeholders(&sets);
        assert!(report.contains("today.count"), "{report}");
        assert!(report.contains("vi.lproj"), "{report}");
    }

    #[test]
    fn removing_one_string_fails_naming_the_code_the_file_and_the_line_to_add() {
        for index in 0..SETS.len() {
            let mut sets = real_sets();
            let set = sets[index].0;
            let busy = set.format.key("busy");
            assert!(
                sets[index].1.remove(&busy).is_some(),
                "{} defines {busy}",
                set.path
            );
            let report = missing(ERROR_CODES, &sets);
            assert!(report.contains("1 missing error texts"), "{report}");
            assert!(report.contains(set.path), "{report}");
            let line = match set.format {
                Format::AndroidXml => "<string name=\"error_busy\">",
                Format::AppleStrings => "\"error.busy\" = \"",
            };
            assert!(report.contains(line), "{report}");
            assert!(
                report.contains("another measurement is running"),
                "{report}"
            );
            // Only that file is named.
            for other in SETS.iter().filter(|s| s.path != set.path) {
                assert!(!report.contains(other.path), "{report}");
            }
        }
    }

    #[test]
    fn a_blank_text_counts_as_missing() {
        let keys =
            android_keys(r#"<string name="error_busy"> </string><string name="a">x</string>"#)
                .expect("parses");
        assert_eq!(keys.into_keys().collect::<Vec<_>>(), ["a"]);
        let keys = apple_keys("\"error.busy\" = \"\";\n\"a\" = \"x\";").expect("parses");
        assert_eq!(keys.into_keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn android_quotes_must_be_escaped() {
        assert!(android_keys(r#"<string name="ok">the phone\'s data</string>"#).is_ok());
        let err = android_keys(r#"<string name="bad">the phone's data</string>"#)
            .expect_err("aapt would refuse it");
        assert!(err.contains("bad") && err.contains('\''), "{err}");
    }

    #[test]
    fn apple_strings_parse_with_comments_escapes_and_report_errors() {
        let text = "/* a\n comment */\n\"k.a\" = \"say \\\"hi\\\"\"; // trailing\n\"k.b\"=\"x\";";
        let keys = apple_keys(text).expect("parses");
        assert_eq!(keys.into_keys().collect::<Vec<_>>(), ["k.a", "k.b"]);
        let err = apple_keys("\"k\" = \"x\"\n\"j\" = \"y\";").expect_err("no ;");
        assert!(err.contains("line 2") && err.contains("\"k\""), "{err}");
        assert!(apple_keys("\"k\" = \"x\";\n\"k\" = \"y\";").is_err());
    }
}
