//! `ispeed campaign stats`: a collector's quality statistics for one area and period,
//! as a table or as CSV (one row per operator × technology).

use std::fmt::Write as _;

use clap::Args;
use ispeed_spec::stats::{Percentiles, Stats};

use crate::text::csv_field;

/// Arguments of `ispeed campaign stats`.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Base URL of the collector (reads GET {URL}/v1/stats).
    #[arg(long, value_name = "URL")]
    pub collector: String,
    /// Official code: a province in two digits (19), a commune in five (05755).
    #[arg(long, value_name = "CODE")]
    pub area: String,
    /// A month (2026-11) or a day (2026-11-03).
    #[arg(long, value_name = "P")]
    pub period: String,
    /// Only this operator (MCC-MNC, 452-04).
    #[arg(long, value_name = "MCC-MNC")]
    pub operator: Option<String>,
    /// CSV (one row per operator and technology) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

/// `ispeed campaign stats`.
pub async fn run(args: StatsArgs) -> Result<(), String> {
    let stats = fetch(
        &args.collector,
        &args.area,
        &args.period,
        args.operator.as_deref(),
    )
    .await?;
    if args.csv {
        print!("{}", csv(&stats));
    } else {
        print!("{}", table(&stats));
    }
    Ok(())
}

/// Reads the statistics of `area` and `period` from the collector at `base`.
pub async fn fetch(
    base: &str,
    area: &str,
    period: &str,
    operator: Option<&str>,
) -> Result<Stats, String> {
    let mut query = vec![("area", area), ("period", period)];
    query.extend(operator.map(|o| ("operator", o)));
    let url = crate::collector_api::url(base, ispeed_spec::routes::STATS, &query)?;
    crate::collector_api::get(url, "statistics").await
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.1}"))
}

fn triple(p: &Percentiles) -> [String; 3] {
    [figure(p.p10), figure(p.p50), figure(p.p90)]
}

/// The CSV header: the JSON names, the percentiles flattened with `_`.
pub const CSV_HEADER: &str = "area,period,operator,operator_name,technology,samples,participants,rated,\
download_mbps_p10,download_mbps_p50,download_mbps_p90,upload_mbps_p10,upload_mbps_p50,upload_mbps_p90,\
latency_ms_p10,latency_ms_p50,latency_ms_p90,share_at_or_above";

/// One row per published cell.
pub fn csv(s: &Stats) -> String {
    let mut out = format!("{CSV_HEADER}\r\n");
    for c in &s.cells {
        let figures: Vec<String> = [&c.download_mbps, &c.upload_mbps, &c.latency_ms]
            .into_iter()
            .flat_map(triple)
            .collect();
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{:.4}\r\n",
            s.area,
            s.period,
            csv_field(&c.operator),
            csv_field(c.operator_name.as_deref().unwrap_or_default()),
            c.technology,
            c.samples,
            c.participants,
            if c.rated { "yes" } else { "no" },
            figures.join(","),
            c.share_at_or_above
        );
    }
    out
}

/// A table for a terminal.
pub fn table(s: &Stats) -> String {
    let mut out = format!(
        "Quality statistics {} ({}, {} {}): download and upload Mbit/s, latency ms, p10 / p50 / p90\n",
        s.period,
        s.area_name.as_deref().unwrap_or_default(),
        s.area_level,
        s.area
    );
    let titles = [
        "Operator", "Tech", "Samples", "People", "Rated", "Download", "Upload", "Latency", "Share",
    ];
    let rows: Vec<Vec<String>> = s
        .cells
        .iter()
        .map(|c| {
            let name = c
                .operator_name
                .as_deref()
                .map_or_else(|| c.operator.clone(), |n| format!("{n} {}", c.operator));
            vec![
                name,
                c.technology.clone(),
                c.samples.to_string(),
                c.participants.to_string(),
                if c.rated { "yes" } else { "no" }.to_owned(),
                triple(&c.download_mbps).join(" / "),
                triple(&c.upload_mbps).join(" / "),
                triple(&c.latency_ms).join(" / "),
                format!("{:.0} %", c.share_at_or_above * 100.0),
            ]
        })
        .collect();
    out.push_str(&crate::text::aligned(&titles, &rows, 2));
    let _ = writeln!(
        out,
        "Cells under {} samples are not shown; rated from {} samples; share: downloads at or above {} Mbit/s; \
         percentiles within {:.0} %.",
        s.min_samples,
        s.rating_threshold,
        s.threshold_mbps,
        s.relative_error * 100.0
    );
    out
}
