//! The progress page at `GET /campaign`: what a commune official opens on a phone
//! before sending the day's figures upward.
//!
//! Plain HTML rendered on the server: no script, no external resources, a few
//! kilobytes of inline style, readable on a 360-pixel screen and by a screen reader
//! (headings per area, tables with row headers, a `<progress>` bar with a text
//! equivalent). Labels are Vietnamese first, English second. Every figure sits in an
//! element with a `data-field` attribute naming its JSON field, so a test can check
//! the page against `GET /v1/campaign/progress`.

use std::fmt::Write as _;

use super::{AreaProgress, Channel, Level, Progress, ProgressQuery};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value.
fn query_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Small, high-contrast, single-column; system fonts (Vietnamese diacritics render
/// in every phone's default font).
const STYLE: &str = "\
body{margin:0;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#111;background:#fff}\
main{max-width:40rem;margin:0 auto;padding:.75rem}\
h1{font-size:1.3rem;margin:.25rem 0 .5rem}h2{font-size:1.1rem;margin:0 0 .25rem}\
.en{color:#444;font-weight:normal}\
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:.5rem 0 1rem}\
label{display:flex;flex-direction:column;font-size:.9rem}\
input,button{font:inherit;padding:.35rem .5rem;border:1px solid #555;border-radius:.3rem}\
button{background:#0b4f9c;color:#fff;border-color:#0b4f9c}\
nav{display:flex;justify-content:space-between;margin:.5rem 0}a{color:#0b4f9c}\
section{border:1px solid #bbb;border-radius:.4rem;padding:.6rem;margin:.75rem 0}\
table{border-collapse:collapse;width:100%}th,td{padding:.2rem .3rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
td{text-align:right;font-variant-numeric:tabular-nums}\
.met{color:#0a5d1a;font-weight:bold}.short{color:#8a1c00;font-weight:bold}\
progress{width:100%;height:1rem}.level{font-size:.85rem;color:#444;font-weight:normal}";

fn head(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(out, "<title>{}</title>", escape(title));
    let _ = write!(out, "<style>{STYLE}</style></head><body><main>");
}

/// `vi` then `en`, the English in a span marked as such for screen readers.
fn label(vi: &str, en: &str) -> String {
    format!("{vi} <span class=\"en\" lang=\"en\">/ {en}</span>")
}

fn level_name(level: Level) -> String {
    match level {
        Level::Commune => label("Xã / phường", "Commune"),
        Level::Hamlet => label("Thôn / ấp / tổ dân phố", "Hamlet"),
        Level::Organisation => label("Tổ chức", "Organisation"),
    }
}

fn channel_name(channel: Channel) -> String {
    match channel {
        Channel::AndroidAuto => label("Android tự động", "Android auto"),
        Channel::AndroidManual => label("Android thủ công", "Android manual"),
        Channel::IosManual => label("iPhone thủ công", "iOS manual"),
        Channel::Desktop => label("Máy tính", "Desktop"),
        Channel::Other => label("Khác", "Other"),
    }
}

fn form(out: &mut String, date: &str, area: &str) {
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/campaign\">\
         <label>{}<input type=\"date\" name=\"date\" value=\"{}\" required></label>\
         <label>{}<input type=\"text\" name=\"area\" value=\"{}\" placeholder=\"5755 | Ba Vì/Tản Lĩnh\"></label>\
         <button type=\"submit\">Xem <span lang=\"en\">/ Show</span></button></form>",
        label("Ngày", "Date"),
        escape(date),
        label("Khu vực", "Area"),
        escape(area),
    );
}

fn row(out: &mut String, header: &str, field: &str, value: impl std::fmt::Display) {
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{header}</th><td data-field=\"{field}\">{value}</td></tr>"
    );
}

fn area_section(out: &mut String, i: usize, a: &AreaProgress) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"a{i}\" data-area=\"{}\" data-level=\"{}\">\
         <h2 id=\"a{i}\">{} <span class=\"level\">({})</span></h2>",
        escape(&a.label),
        match a.level {
            Level::Commune => "commune",
            Level::Hamlet => "hamlet",
            Level::Organisation => "organisation",
        },
        escape(&a.label),
        level_name(a.level),
    );
    if let (Some(target), Some(met)) = (a.target, a.met) {
        let (class, text) = if met {
            ("met", label("✓ Đạt chỉ tiêu", "Target met"))
        } else {
            ("short", label("✗ Chưa đạt", "Not met yet"))
        };
        let _ = write!(
            out,
            "<p class=\"{class}\" data-field=\"met\" data-value=\"{met}\">{text}: \
             {} / {target}</p><progress max=\"{target}\" value=\"{}\" aria-hidden=\"true\"></progress>",
            a.participants,
            a.participants.min(target),
        );
    }
    out.push_str("<table><tbody>");
    row(
        out,
        &label("Người tham gia", "Participants"),
        "participants",
        a.participants,
    );
    match a.target {
        Some(t) => row(out, &label("Chỉ tiêu", "Target"), "target", t),
        None => row(out, &label("Chỉ tiêu", "Target"), "target", "—"),
    }
    row(
        out,
        &label("Lượt đo hợp lệ qua di động", "Valid cellular samples"),
        "samples",
        a.samples,
    );
    row(
        out,
        &label("Lượt đo không tính", "Samples not counted"),
        "not_counted",
        a.not_counted,
    );
    row(
        out,
        &label("Lượt đo đã nhận", "Samples received"),
        "received",
        a.received,
    );
    row(
        out,
        &label("Lượt đo bị từ chối", "Samples rejected"),
        "rejected",
        a.rejected,
    );
    out.push_str("</tbody></table>");
    if !a.rejections.is_empty() {
        // Why the count is lower than people say: the commonest reasons, as codes an
        // official can look up in docs/trust.md, with their English meaning.
        let _ = write!(
            out,
            "<p class=\"level\">{}</p><ul data-field=\"rejections\">",
            label("Lý do từ chối", "Why samples were rejected")
        );
        for r in &a.rejections {
            let _ = write!(
                out,
                "<li data-reason=\"{}\"><code>{}</code> <span lang=\"en\">{}</span>: {}</li>",
                r.reason.as_str(),
                r.reason.as_str(),
                escape(r.reason.meaning()),
                r.samples
            );
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<table><caption class=\"level\">{}</caption><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        label("Theo thiết bị", "By platform"),
        label("Thiết bị", "Platform"),
        label("Người", "People"),
        label("Lượt đo", "Samples"),
    );
    for channel in Channel::ALL {
        let c = a.split.get(channel);
        let key = channel.key();
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td data-field=\"split.{key}.participants\">{}</td>\
             <td data-field=\"split.{key}.samples\">{}</td></tr>",
            channel_name(channel),
            c.participants,
            c.samples
        );
    }
    out.push_str("</tbody></table></section>");
}

/// The page for `p`.
pub fn render(p: &Progress) -> String {
    let mut out = String::with_capacity(4096 + 2048 * p.areas.len());
    let date = p.date.format("%Y-%m-%d").to_string();
    head(
        &mut out,
        &format!("Tiến độ chiến dịch / Campaign progress {date}"),
    );
    let _ = write!(
        out,
        "<h1>Tiến độ đo tốc độ di động <span class=\"en\" lang=\"en\">/ Campaign progress</span></h1>"
    );
    let area = p.area.as_deref().unwrap_or_default();
    form(&mut out, &date, area);
    let link = |d: Option<chrono::NaiveDate>| {
        d.map(|d| {
            let mut href = format!("/campaign?date={}", d.format("%Y-%m-%d"));
            if !area.is_empty() {
                href.push_str("&area=");
                href.push_str(&query_value(area));
            }
            escape(&href)
        })
    };
    out.push_str("<nav>");
    if let Some(prev) = link(p.date.pred_opt()) {
        let _ = write!(
            out,
            "<a href=\"{prev}\">← {}</a>",
            label("Hôm trước", "Previous day")
        );
    }
    if let Some(next) = link(p.date.succ_opt()) {
        let _ = write!(
            out,
            "<a href=\"{next}\">{} →</a>",
            label("Hôm sau", "Next day")
        );
    }
    out.push_str("</nav>");
    let _ = write!(
        out,
        "<p>{}: <strong data-field=\"date\">{date}</strong> ({})",
        label("Ngày", "Date"),
        escape(&p.time_zone)
    );
    if !area.is_empty() {
        let _ = write!(
            out,
            " · {}: <strong data-field=\"area\">{}</strong>",
            label("Khu vực", "Area"),
            escape(area)
        );
    }
    out.push_str("</p>");
    out.push_str("<section aria-labelledby=\"totals\" data-area=\"\" data-level=\"totals\">");
    let _ = write!(
        out,
        "<h2 id=\"totals\">{}</h2><table><tbody>",
        label("Tổng cộng", "Totals")
    );
    row(
        &mut out,
        &label("Người tham gia", "Participants"),
        "totals.participants",
        p.totals.participants,
    );
    row(
        &mut out,
        &label("Lượt đo hợp lệ qua di động", "Valid cellular samples"),
        "totals.samples",
        p.totals.samples,
    );
    row(
        &mut out,
        &label("Lượt đo không tính", "Samples not counted"),
        "totals.not_counted",
        p.totals.not_counted,
    );
    if p.area.is_none() {
        row(
            &mut out,
            &label("Lượt đo chưa ghi khu vực", "Samples without an area"),
            "unassigned.samples",
            p.unassigned.samples,
        );
    }
    out.push_str("</tbody></table></section>");
    if p.areas.is_empty() {
        let _ = write!(
            out,
            "<p>{}</p>",
            label(
                "Chưa có lượt đo nào trong ngày này.",
                "No samples on this day yet."
            )
        );
    }
    for (i, a) in p.areas.iter().enumerate() {
        area_section(&mut out, i, a);
    }
    let _ = writeln!(
        out,
        "<p class=\"level\">{}</p></main></body></html>",
        label(
            "Người tham gia: số cài đặt có ít nhất một lượt đo hợp lệ qua mạng di động trong ngày; không định danh ai.",
            "Participants: installs with at least one valid cellular sample that day; nobody is identified."
        )
    );
    out
}

/// A page saying what is wrong with the query, with the form to fix it.
pub fn render_error(query: &ProgressQuery, message: &str) -> String {
    let mut out = String::new();
    head(&mut out, "Tiến độ chiến dịch / Campaign progress");
    let _ = write!(
        out,
        "<h1>Tiến độ đo tốc độ di động <span class=\"en\" lang=\"en\">/ Campaign progress</span></h1>\
         <p role=\"alert\" class=\"short\">{}: {}</p>",
        label("Không đọc được yêu cầu", "Cannot read the request"),
        escape(message)
    );
    form(
        &mut out,
        query.date.as_deref().unwrap_or_default(),
        query.area.as_deref().unwrap_or_default(),
    );
    out.push_str("</main></body></html>\n");
    out
}
