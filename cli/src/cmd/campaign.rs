//! `ispeed campaign`: the day's progress table an official sends upward
//! (`report`), and this install's campaign area (`area`), chosen from the official
//! catalogue (`area --search`).

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use ispeed_core::areas::{self, OfficialArea};
use ispeed_spec::campaign::{AreaProgress, Channel, Level, Progress};

use crate::db::DbArg;
use crate::text::csv_field;

/// Arguments of `ispeed campaign`.
#[derive(Debug, Clone, Args)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub command: CampaignCommand,
}

/// Subcommands of `ispeed campaign`.
#[derive(Debug, Clone, Subcommand)]
pub enum CampaignCommand {
    /// Print a collector's progress per area for one day.
    Report(ReportArgs),
    /// Show this install's id and campaign area, or change the area.
    Area(AreaArgs),
    /// Print a collector's quality statistics for one area and period.
    Stats(super::stats::StatsArgs),
}

/// Arguments of `ispeed campaign report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Base URL of the collector (reads GET {URL}/v1/campaign/progress).
    #[arg(long, value_name = "URL")]
    pub collector: String,
    /// Local day, YYYY-MM-DD [default: today in the campaign's time zone].
    #[arg(long, value_name = "D")]
    pub date: Option<String>,
    /// Only the areas whose path contains this one, e.g. "Ba Vì/Tản Lĩnh", or a commune
    /// code (5755: its official province and commune).
    #[arg(long, value_name = "A")]
    pub area: Option<String>,
    /// CSV (one row per area) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

/// Arguments of `ispeed campaign area`.
#[derive(Debug, Clone, Args)]
pub struct AreaArgs {
    /// Replace the area with this one (same forms as `measure --area`: a commune code
    /// such as 5755, "code=5755,hamlet=Thôn 3", or names).
    #[arg(long, value_name = "SPEC", conflicts_with = "clear")]
    pub set: Option<String>,
    /// Search the official catalogue of provinces and communes (accents and case
    /// ignored) and print each match with its code and province; touches no store.
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["set", "clear"])]
    pub search: Option<String>,
    /// With --search: at most this many matches.
    #[arg(long, value_name = "N", default_value_t = 20, requires = "search")]
    pub limit: u32,
    /// With --search: print the matches as a JSON array.
    #[arg(long, requires = "search")]
    pub json: bool,
    /// Forget the area.
    #[arg(long)]
    pub clear: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// `ispeed campaign`.
pub async fn run(args: CampaignArgs) -> Result<(), String> {
    match args.command {
        CampaignCommand::Report(a) => report(a).await,
        CampaignCommand::Area(a) => area(a),
        CampaignCommand::Stats(a) => super::stats::run(a).await,
    }
}

async fn report(args: ReportArgs) -> Result<(), String> {
    let progress = fetch(&args.collector, args.date.as_deref(), args.area.as_deref()).await?;
    if args.csv {
        print!("{}", csv(&progress));
    } else {
        print!("{}", table(&progress));
    }
    Ok(())
}

fn area(args: AreaArgs) -> Result<(), String> {
    if let Some(text) = &args.search {
        let found = areas::search_areas(text, args.limit);
        if args.json {
            println!("{}", search_json(&found));
        } else {
            print!("{}", search_table(text, &found));
        }
        return Ok(());
    }
    let store = args.db.open()?;
    if let Some(spec) = &args.set {
        let area = areas::parse_area(spec).map_err(|e| e.to_string())?;
        store.set_area(area).map_err(|e| e.to_string())?;
    }
    if args.clear {
        store.clear_area().map_err(|e| e.to_string())?;
    }
    let participant = store.participant().map_err(|e| e.to_string())?;
    println!("install id: {}", participant.install_id);
    match participant.area {
        Some(a) => match a.code {
            Some(code) => println!("area:       {a} (code {code})"),
            None => println!("area:       {a}"),
        },
        None => println!("area:       (none)"),
    }
    Ok(())
}

/// Matches of `area --search` as a table: code, level, name, province.
fn search_table(text: &str, found: &[OfficialArea]) -> String {
    if found.is_empty() {
        return format!("no province or commune matches {text:?}\n");
    }
    let width = found
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for a in found {
        let pad = width.saturating_sub(a.name.chars().count());
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:>5}  {:<8}  {}{}  {}",
            a.code,
            a.level,
            a.name,
            " ".repeat(pad),
            a.province_name
        );
    }
    out
}

/// Matches of `area --search --json`: one object per match.
fn search_json(found: &[OfficialArea]) -> serde_json::Value {
    found
        .iter()
        .map(|a| {
            serde_json::json!({
                "level": a.level,
                "code": a.code,
                "name": a.name,
                "province_code": a.province_code,
                "province_name": a.province_name,
                "label": a.label,
            })
        })
        .collect()
}

/// Reads the progress of `date` (today when `None`) from the collector at `base`.
pub async fn fetch(base: &str, date: Option<&str>, area: Option<&str>) -> Result<Progress, String> {
    let mut query = Vec::new();
    query.extend(date.map(|d| ("date", d)));
    query.extend(area.map(|a| ("area", a)));
    let url = crate::collector_api::url(base, ispeed_spec::routes::CAMPAIGN_PROGRESS, &query)?;
    crate::collector_api::get(url, "campaign progress").await
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Commune => "commune",
        Level::Hamlet => "hamlet",
        Level::Organisation => "organisation",
    }
}

fn met_name(a: &AreaProgress) -> &'static str {
    match a.met {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

/// Column titles of the split, in [`Channel::ALL`] order.
const CHANNEL_TITLES: [&str; 5] = [
    "Android auto",
    "Android manual",
    "iOS manual",
    "Desktop",
    "Other",
];

/// The table for a terminal or a chat message: one line per area, participants by
/// platform on the right.
pub fn table(p: &Progress) -> String {
    let mut out = String::new();
    let _ = write!(out, "Campaign progress {} ({})", p.date, p.time_zone);
    if let Some(a) = &p.area {
        let _ = write!(out, ", area {a}");
    }
    out.push('\n');
    let head = [
        "Area",
        "Level",
        "Participants",
        "Target",
        "Met",
        "Samples",
        "Not counted",
    ];
    let mut rows: Vec<Vec<String>> = p
        .areas
        .iter()
        .map(|a| {
            let mut r = vec![
                a.label.clone(),
                level_name(a.level).to_owned(),
                a.participants.to_string(),
                a.target.map_or("-".to_owned(), |t| t.to_string()),
                met_name(a).to_owned(),
                a.samples.to_string(),
                a.not_counted.to_string(),
            ];
            r.extend(
                Channel::ALL
                    .iter()
                    .map(|c| a.split.get(*c).participants.to_string()),
            );
            r
        })
        .collect();
    let total = |name: &str, c: &ispeed_spec::campaign::Counts| {
        let mut r = vec![
            name.to_owned(),
            String::new(),
            c.participants.to_string(),
            String::new(),
            String::new(),
            c.samples.to_string(),
            c.not_counted.to_string(),
        ];
        r.extend(std::iter::repeat_n(String::new(), CHANNEL_TITLES.len()));
        r
    };
    if p.area.is_none() {
        rows.push(total("Without area", &p.unassigned));
    }
    rows.push(total("Total", &p.totals));
    let titles: Vec<&str> = head.iter().chain(CHANNEL_TITLES.iter()).copied().collect();
    // Names left-aligned, figures right-aligned.
    out.push_str(&crate::text::aligned(&titles, &rows, 2));
    out.push_str(
        "Participants: installs with at least one valid cellular sample that day; the platform \
         columns count participants.\n",
    );
    out
}

/// One row per area, then the rows `Without area` and `Total`.
pub fn csv(p: &Progress) -> String {
    let mut out = String::from("date,level,area,participants,target,met,samples,not_counted");
    for c in Channel::ALL {
        let _ = write!(out, ",{0}_participants,{0}_samples", c.key());
    }
    out.push_str("\r\n");
    let date = p.date.to_string();
    for a in &p.areas {
        let _ = write!(
            out,
            "{date},{},{},{},{},{},{},{}",
            level_name(a.level),
            csv_field(&a.label),
            a.participants,
            a.target.map_or(String::new(), |t| t.to_string()),
            a.met.map_or("", |m| if m { "yes" } else { "no" }),
            a.samples,
            a.not_counted
        );
        for c in Channel::ALL {
            let n = a.split.get(c);
            let _ = write!(out, ",{},{}", n.participants, n.samples);
        }
        out.push_str("\r\n");
    }
    let mut total = |level: &str, c: &ispeed_spec::campaign::Counts| {
        let _ = write!(
            out,
            "{date},{level},,{},,,{},{}{}\r\n",
            c.participants,
            c.samples,
            c.not_counted,
            ",".repeat(2 * Channel::ALL.len())
        );
    };
    if p.area.is_none() {
        total("without_area", &p.unassigned);
    }
    total("total", &p.totals);
    out
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use ispeed_spec::campaign::{ChannelCount, Counts, Split};

    use super::*;

    fn progress() -> Progress {
        let row = |level, path: &[&str], participants, target: Option<u32>| AreaProgress {
            level,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            label: path.join(" / "),
            participants,
            samples: participants * 2,
            not_counted: 1,
            target,
            met: target.map(|t| participants >= t),
            split: Split {
                android_auto: ChannelCount {
                    participants,
                    samples: participants * 2,
                },
                ..Split::default()
            },
            received: participants * 2 + 1,
            rejected: 0,
            rejections: Vec::new(),
        };
        Progress {
            date: NaiveDate::from_ymd_opt(2026, 5, 4).expect("date"),
            time_zone: "Asia/Ho_Chi_Minh".to_owned(),
            from: Utc
                .with_ymd_and_hms(2026, 5, 3, 17, 0, 0)
                .single()
                .expect("from"),
            to: Utc
                .with_ymd_and_hms(2026, 5, 4, 17, 0, 0)
                .single()
                .expect("to"),
            area: None,
            areas: vec![
                row(
                    Level::Commune,
                    &["Hà Nội", "Ba Vì", "Tản Lĩnh"],
                    31,
                    Some(300),
                ),
                row(
                    Level::Hamlet,
                    &["Hà Nội", "Ba Vì", "Tản Lĩnh", "Thôn 1"],
                    31,
                    Some(30),
                ),
                row(Level::Organisation, &["Trường \"A\", cơ sở 2"], 2, None),
            ],
            totals: Counts {
                participants: 34,
                samples: 70,
                not_counted: 3,
            },
            unassigned: Counts {
                participants: 1,
                samples: 2,
                not_counted: 0,
            },
        }
    }

    #[test]
    fn the_table_has_a_line_per_area_and_aligned_figures() {
        let t = table(&progress());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Campaign progress 2026-05-04 (Asia/Ho_Chi_Minh)");
        assert!(lines[1].starts_with("Area"), "{t}");
        assert_eq!(lines.len(), 2 + 3 + 2 + 1, "{t}");
        let thon = lines[3];
        assert!(
            thon.starts_with("Hà Nội / Ba Vì / Tản Lĩnh / Thôn 1  hamlet"),
            "{thon}"
        );
        let cells: Vec<&str> = thon
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells[2..7], ["31", "30", "yes", "62", "1"], "{thon}");
        assert!(lines[5].starts_with("Without area"), "{t}");
        assert!(lines[6].starts_with("Total"), "{t}");
        // Right-aligned figures end in the same column.
        let col = |l: &str, n: &str| l.find(n).map(|i| l[..i + n.len()].chars().count());
        assert_eq!(col(lines[2], " 300"), col(lines[4], "   -"));
    }

    #[test]
    fn the_csv_quotes_names_and_has_one_row_per_area_and_totals() {
        let c = csv(&progress());
        let lines: Vec<&str> = c.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1 + 3 + 2);
        let width = lines[0].split(',').count();
        assert_eq!(width, 8 + 10);
        assert_eq!(
            lines[2],
            "2026-05-04,hamlet,Hà Nội / Ba Vì / Tản Lĩnh / Thôn 1,31,30,yes,62,1,31,62,0,0,0,0,0,0,0,0"
        );
        assert!(
            lines[3].contains(",\"Trường \"\"A\"\", cơ sở 2\",2,,,4,1,"),
            "{}",
            lines[3]
        );
        assert_eq!(
            lines[4],
            format!("2026-05-04,without_area,,1,,,2,0{}", ",".repeat(10))
        );
        assert_eq!(lines[5].split(',').count(), width);
    }
}
