//! The statistics page at `GET /stats?area=CODE&period=YYYY-MM`: for officials and the
//! public, per operator and technology, the median download with its 10th-90th
//! percentile range drawn as a bar, the upload and latency, the sample counts and
//! whether the cell is rated; a province lists its communes to drill down.
//!
//! Plain HTML and inline SVG rendered on the server (no script, no external
//! resource), Vietnamese first and English second, as the campaign page. Every figure
//! carries a `data-field` naming its JSON field in `GET /v1/stats`, so a test can
//! compare the page with the API.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::areas::{self, AreaLevel};
use super::http::{Checked, answer, check};
use super::{Period, Stats, StatsCell, StatsQuery};
use crate::campaign::page::escape;
use crate::{Collector, campaign};

const STYLE: &str = "\
body{margin:0;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#111;background:#fff}\
main{max-width:62rem;margin:0 auto;padding:.75rem}\
h1{font-size:1.3rem;margin:.25rem 0 .5rem}h2{font-size:1.1rem;margin:.75rem 0 .25rem}\
.en{color:#444;font-weight:normal}\
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:.5rem 0 1rem}\
label{display:flex;flex-direction:column;font-size:.9rem}\
input,button{font:inherit;padding:.35rem .5rem;border:1px solid #555;border-radius:.3rem}\
button{background:#0b4f9c;color:#fff;border-color:#0b4f9c}a{color:#0b4f9c}\
table{border-collapse:collapse;width:100%}th,td{padding:.25rem .35rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.rated{color:#0a5d1a;font-weight:bold}.unrated{color:#8a1c00}\
.error{border:1px solid #8a1c00;padding:.5rem;border-radius:.3rem}svg{display:block}";

/// Width of the chart, px.
const CHART_W: f64 = 220.0;

fn label(vi: &str, en: &str) -> String {
    format!("{vi} <span class=\"en\" lang=\"en\">/ {en}</span>")
}

fn head(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        out,
        "<title>{}</title><style>{STYLE}</style></head><body><main>",
        escape(title)
    );
    let _ = write!(
        out,
        "<h1>{}</h1>",
        label("Chất lượng di động", "Mobile broadband quality")
    );
}

fn form(out: &mut String, area: &str, period: &str) {
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/stats\"><label>{} <input name=\"area\" value=\"{}\" inputmode=\"numeric\"></label>\
         <label>{} <input name=\"period\" value=\"{}\" placeholder=\"2026-11\"></label>\
         <button type=\"submit\">Xem <span lang=\"en\">/ Show</span></button></form>",
        label("Mã địa bàn", "Area code"),
        escape(area),
        label("Kỳ", "Period"),
        escape(period)
    );
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

/// The download bar: p10 to p90 as a band, p50 as a mark, on a scale to `max`.
fn chart(c: &StatsCell, max: f64) -> String {
    let x = |v: f64| (v / max * (CHART_W - 10.0)).clamp(0.0, CHART_W - 10.0) + 5.0;
    let d = c.download_mbps;
    match (d.p10, d.p50, d.p90) {
        (Some(lo), Some(mid), Some(hi)) => format!(
            "<small>{lo:.1} – {hi:.1}</small><svg width=\"{CHART_W}\" height=\"22\" role=\"img\" aria-label=\"p10 {lo:.1}, p50 {mid:.1}, p90 {hi:.1} Mbit/s\">\
             <line x1=\"5\" y1=\"11\" x2=\"{w}\" y2=\"11\" stroke=\"#ccc\"/>\
             <rect x=\"{a:.1}\" y=\"5\" width=\"{b:.1}\" height=\"12\" fill=\"#9cc3ee\"/>\
             <rect x=\"{m:.1}\" y=\"2\" width=\"3\" height=\"18\" fill=\"#0b4f9c\"/></svg>",
            w = CHART_W - 5.0,
            a = x(lo),
            b = (x(hi) - x(lo)).max(1.0),
            m = x(mid) - 1.5,
        ),
        _ => String::new(),
    }
}

fn cells_table(out: &mut String, s: &Stats) {
    if s.cells.is_empty() {
        let _ = write!(
            out,
            "<p data-field=\"cells\">{}</p>",
            label(
                &format!(
                    "Chưa có số liệu công bố (mỗi nhóm cần ít nhất {} mẫu).",
                    s.min_samples
                ),
                &format!(
                    "No published figures yet (a cell needs at least {} samples).",
                    s.min_samples
                ),
            )
        );
        return;
    }
    let max = s
        .cells
        .iter()
        .filter_map(|c| c.download_mbps.p90)
        .fold(1.0_f64, f64::max);
    let _ = write!(
        out,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        label("Nhà mạng", "Operator"),
        label("Công nghệ", "Technology"),
        label("Tải xuống (Mbit/s) p10–p50–p90", "Download (Mbit/s)"),
        label("Trung vị", "Median"),
        label("Tải lên", "Upload"),
        label("Độ trễ (ms)", "Latency (ms)"),
        label("Mẫu / người", "Samples / people"),
        label(
            &format!("Xếp hạng (≥ {} mẫu)", s.rating_threshold),
            &format!("Rated (≥ {})", s.rating_threshold)
        ),
    );
    for c in &s.cells {
        let name = c
            .operator_name
            .as_deref()
            .map_or_else(|| c.operator.clone(), |n| format!("{n} ({})", c.operator));
        let rated = if c.rated {
            format!("<span class=\"rated\">{}</span>", label("Đủ", "Rated"))
        } else {
            format!(
                "<span class=\"unrated\">{}</span>",
                label("Chưa", "Not yet")
            )
        };
        let _ = write!(
            out,
            "<tr data-operator=\"{op}\" data-technology=\"{tech}\"><th>{name}</th><td>{tech}</td><td>{chart}</td>\
             <td class=\"n\" data-field=\"download_mbps.p50\">{d50}</td><td class=\"n\" data-field=\"upload_mbps.p50\">{u50}</td>\
             <td class=\"n\" data-field=\"latency_ms.p50\">{l50}</td>\
             <td class=\"n\"><span data-field=\"samples\">{n}</span> / <span data-field=\"participants\">{p}</span></td>\
             <td data-field=\"rated\" data-value=\"{r}\">{rated}</td></tr>",
            op = escape(&c.operator),
            tech = escape(&c.technology),
            name = escape(&name),
            chart = chart(c, max),
            d50 = figure(c.download_mbps.p50),
            u50 = figure(c.upload_mbps.p50),
            l50 = figure(c.latency_ms.p50),
            n = c.samples,
            p = c.participants,
            r = c.rated,
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        "<p>{}</p>",
        label(
            &format!(
                "Thanh: khoảng p10–p90 của tốc độ tải xuống, vạch: trung vị. Sai số tương đối ≤ {:.0} %.",
                s.relative_error * 100.0
            ),
            &format!(
                "Bar: 10th–90th percentile of download, mark: median. Relative error ≤ {:.0} %.",
                s.relative_error * 100.0
            )
        )
    );
}

/// Links to the areas below (communes of a province) or, with no area, the provinces;
/// with the published samples of each where known.
fn drill_down(
    out: &mut String,
    heading: String,
    level: AreaLevel,
    areas: &[(u32, String)],
    period: &str,
    samples: &BTreeMap<u32, u64>,
) {
    let _ = write!(out, "<h2>{heading}</h2><ul>");
    for (code, name) in areas {
        let count = samples.get(code).map_or_else(String::new, |n| {
            format!(
                " – <span data-field=\"samples\">{n}</span> {}",
                label("mẫu", "samples")
            )
        });
        let _ = write!(
            out,
            "<li><a href=\"/stats?area={q}&amp;period={}\">{} ({q})</a>{count}</li>",
            escape(period),
            escape(name),
            q = areas::query_code(*code, level),
        );
    }
    out.push_str("</ul>");
}

/// The page of an answered query; `below` holds the published samples of the
/// communes of a province.
pub fn render(q: &Checked, s: &Stats, below: &BTreeMap<u32, u64>) -> String {
    let mut out = String::new();
    head(&mut out, &format!("{} – {}", q.name, s.period));
    form(&mut out, &areas::query_code(q.area, q.level), &s.period);
    let level = match q.level {
        AreaLevel::Commune => label("Xã/phường", "Commune"),
        AreaLevel::Province => label("Tỉnh/thành phố", "Province"),
    };
    let _ = write!(
        out,
        "<h2><span data-field=\"area_name\">{}</span> <span class=\"en\">({level}, {})</span> · <span data-field=\"period\">{}</span></h2>",
        escape(&q.name),
        areas::query_code(q.area, q.level),
        escape(&s.period)
    );
    cells_table(&mut out, s);
    match q.level {
        AreaLevel::Province => drill_down(
            &mut out,
            label("Các xã, phường", "Communes"),
            AreaLevel::Commune,
            &areas::communes_of(q.area),
            &s.period,
            below,
        ),
        AreaLevel::Commune => {
            if let Some(p) = areas::province_of(q.area) {
                let _ = write!(
                    out,
                    "<p><a href=\"/stats?area={p}&amp;period={}\">{}</a></p>",
                    escape(&s.period),
                    label("↑ Cả tỉnh", "↑ Whole province")
                );
            }
        }
    }
    out.push_str("</main></body></html>");
    out
}

/// The page with no area chosen: the provinces to start from.
pub fn render_index(period: &str) -> String {
    let mut out = String::new();
    head(&mut out, "i-Speed");
    form(&mut out, "", period);
    drill_down(
        &mut out,
        label("Tỉnh, thành phố", "Provinces"),
        AreaLevel::Province,
        &areas::provinces(),
        period,
        &BTreeMap::new(),
    );
    out.push_str("</main></body></html>");
    out
}

/// The page of a refused query.
pub fn render_error(query: &StatsQuery, message: &str) -> String {
    let mut out = String::new();
    head(&mut out, "i-Speed");
    form(
        &mut out,
        query.area.as_deref().unwrap_or_default(),
        query.period.as_deref().unwrap_or_default(),
    );
    let _ = write!(
        out,
        "<p class=\"error\" role=\"alert\">{}</p>",
        escape(message)
    );
    out.push_str("</main></body></html>");
    out
}

/// Per commune of the province `q` names, the samples of its published cells
/// (cells under the minimum count for nothing, as everywhere public).
async fn communes_samples(
    collector: &Collector,
    q: &Checked,
) -> Result<BTreeMap<u32, u64>, crate::store::StoreError> {
    let codes: Vec<u32> = areas::communes_of(q.area).iter().map(|c| c.0).collect();
    let cells = collector
        .store()
        .stats_cells(&q.period.key(), AreaLevel::Commune.code(), &codes, None)
        .await?;
    let mut out = BTreeMap::new();
    for (k, c) in cells {
        if c.samples >= collector.stats().min_samples {
            *out.entry(k.area).or_default() += c.samples;
        }
    }
    Ok(out)
}

/// `GET /stats[?area=CODE&period=YYYY-MM]`.
pub async fn stats_page(
    State(collector): State<Arc<Collector>>,
    Query(mut query): Query<StatsQuery>,
) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let today = campaign::today(collector.campaign());
    if query.period.as_deref().is_none_or(|p| p.trim().is_empty()) {
        query.period = Some(Period::Month(today).key());
    }
    if query.area.as_deref().is_none_or(|a| a.trim().is_empty()) {
        let period = query.period.clone().unwrap_or_default();
        return (headers, render_index(&period)).into_response();
    }
    let checked = match check(&query, today) {
        Ok(c) => c,
        Err(b) => {
            return (
                StatusCode::BAD_REQUEST,
                headers,
                render_error(&query, &b.message),
            )
                .into_response();
        }
    };
    let below = match checked.level {
        AreaLevel::Province => communes_samples(&collector, &checked).await,
        AreaLevel::Commune => Ok(BTreeMap::new()),
    };
    match answer(&collector, &checked)
        .await
        .and_then(|s| below.map(|b| (s, b)))
    {
        Ok((s, below)) => (headers, render(&checked, &s, &below)).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            headers,
            render_error(&query, &e.to_string()),
        )
            .into_response(),
    }
}
