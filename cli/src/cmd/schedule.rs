//! `ispeed schedule simulate`: the timeline a scheduling policy produces over scripted
//! days, with a fake clock, in milliseconds.

use chrono::{Duration, NaiveTime};
use clap::{Args, Subcommand, ValueEnum};
use ispeed_core::schedule::auto::AutoPolicy;
use ispeed_core::schedule::daily::DailyPolicy;
use ispeed_core::schedule::simulate::{Scenario, Timeline, simulate_auto, simulate_daily};

/// The scenario `--policy auto` uses without `--scenario`.
pub const DEFAULT_AUTO_SCENARIO: &str = include_str!("../../scenarios/auto.json");
/// The scenario `--policy daily` uses without `--scenario`.
pub const DEFAULT_DAILY_SCENARIO: &str = include_str!("../../scenarios/daily.json");

/// Arguments of `ispeed schedule`.
#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

/// Subcommands of `ispeed schedule`.
#[derive(Debug, Clone, Subcommand)]
pub enum ScheduleCommand {
    /// Print the timeline a policy produces over scripted days (fake clock).
    Simulate(SimulateArgs),
}

/// Which scheduler to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyKind {
    /// Android auto-measure.
    Auto,
    /// iOS three-a-day reminders.
    Daily,
}

/// Arguments of `ispeed schedule simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Policy to simulate.
    #[arg(long, value_enum)]
    pub policy: PolicyKind,
    /// Days to simulate, from local midnight of the first.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Starting time zone (IANA name); overrides the scenario's.
    #[arg(long)]
    pub tz: Option<String>,
    /// Scenario file (JSON, see cli/scenarios/README.md); a built-in one by default.
    #[arg(long)]
    pub scenario: Option<std::path::PathBuf>,
    /// Seed of the auto policy's random spacing.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the timeline as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ispeed schedule`.
pub async fn run(args: ScheduleArgs) -> Result<(), String> {
    match args.command {
        ScheduleCommand::Simulate(a) => simulate(a).await,
    }
}

async fn simulate(args: SimulateArgs) -> Result<(), String> {
    let text = match &args.scenario {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?,
        None => match args.policy {
            PolicyKind::Auto => DEFAULT_AUTO_SCENARIO.to_owned(),
            PolicyKind::Daily => DEFAULT_DAILY_SCENARIO.to_owned(),
        },
    };
    let scenario = Scenario::from_json(&text).map_err(|e| e.to_string())?;
    let tz = args.tz.as_deref();
    let (timeline, header) = match args.policy {
        PolicyKind::Auto => {
            let mut policy = AutoPolicy::default();
            if let Some(seed) = args.seed {
                policy.seed = seed;
            }
            let t = simulate_auto(&policy, &scenario, tz, args.days)
                .await
                .map_err(|e| e.to_string())?;
            (t, describe_auto(&policy))
        }
        PolicyKind::Daily => {
            let policy = DailyPolicy::default();
            let t = simulate_daily(&policy, &scenario, tz, args.days).map_err(|e| e.to_string())?;
            (t, describe_daily(&policy))
        }
    };
    if args.json {
        let doc = serde_json::to_string_pretty(&timeline).map_err(|e| e.to_string())?;
        println!("{doc}");
    } else {
        print!(
            "{}",
            render(&timeline, &header, scenario.description.as_deref())
        );
    }
    Ok(())
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn hours(d: Duration) -> String {
    format!("{}h{:02}", d.num_hours(), d.num_minutes() % 60)
}

fn describe_auto(p: &AutoPolicy) -> String {
    format!(
        "auto policy: active {}-{} local, spacing exponential mean {} (min {}, max {}) of active time, \
         at most {} runs and {:.0} MB a day, {:.0} MB a month, battery >= {} % unless charging, cellular only",
        hm(p.active_start),
        hm(p.active_end),
        hours(p.mean_interval),
        hours(p.min_interval),
        hours(p.max_interval),
        p.max_per_day,
        p.daily_budget_bytes as f64 / 1e6,
        p.monthly_budget_bytes as f64 / 1e6,
        p.min_battery_percent
    )
}

fn describe_daily(p: &DailyPolicy) -> String {
    let slots: Vec<String> = p.reminder_slots.iter().map(|t| hm(*t)).collect();
    format!(
        "daily policy: {} valid cellular measurements a local day, reminders at {}",
        p.target,
        slots.join(", ")
    )
}

/// The timeline as text: one line per entry, then a line per day.
fn render(t: &Timeline, header: &str, description: Option<&str>) -> String {
    let mut out = format!("{header}\ntime zone at start: {}\n", t.time_zone);
    if let Some(d) = description {
        out.push_str(&format!("scenario: {d}\n"));
    }
    out.push('\n');
    for e in &t.entries {
        let next = match (&e.next_check_local, e.kind) {
            (Some(n), _) => format!("  -> next {}", &n[..n.len().min(16)]),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{}  {:<7} {:<20} {}{}\n",
            e.local,
            e.kind.label(),
            e.code,
            e.message,
            next
        ));
    }
    out.push('\n');
    for d in &t.days {
        if t.policy == "auto" {
            out.push_str(&format!(
                "{}: {} runs ({} valid), {:.1} MB of mobile data (daily budget {:.1} MB)\n",
                d.date,
                d.runs,
                d.valid,
                d.cellular_bytes as f64 / 1e6,
                AutoPolicy::default().daily_budget_bytes as f64 / 1e6
            ));
        } else {
            out.push_str(&format!(
                "{}: {} reminders, {} measurements ({} valid)\n",
                d.date, d.reminders, d.runs, d.valid
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_scenarios_parse() -> Result<(), String> {
        for text in [DEFAULT_AUTO_SCENARIO, DEFAULT_DAILY_SCENARIO] {
            let s = Scenario::from_json(text).map_err(|e| e.to_string())?;
            assert!(s.description.is_some());
        }
        Ok(())
    }

    #[test]
    fn default_daily_timeline_reminds_three_times_and_stops_at_the_target() -> Result<(), String> {
        let scenario = Scenario::from_json(DEFAULT_DAILY_SCENARIO).map_err(|e| e.to_string())?;
        let t = simulate_daily(
            &DailyPolicy::default(),
            &scenario,
            Some("Asia/Ho_Chi_Minh"),
            2,
        )
        .map_err(|e| e.to_string())?;
        let text = render(&t, "h", None);
        // Three slots a day, each either a reminder or a quiet slot.
        let slots = text.matches("REMIND").count() + text.matches("quiet").count();
        assert_eq!(slots, 6, "{text}");
        assert!(text.contains("target met"), "{text}");
        Ok(())
    }

    #[tokio::test]
    async fn default_auto_day_runs_inside_hours_within_budget() -> Result<(), String> {
        let scenario = Scenario::from_json(DEFAULT_AUTO_SCENARIO).map_err(|e| e.to_string())?;
        let policy = AutoPolicy::default();
        let t = simulate_auto(&policy, &scenario, None, 1)
            .await
            .map_err(|e| e.to_string())?;
        let runs: Vec<_> = t
            .entries
            .iter()
            .filter(|e| e.kind.label() == "RUN")
            .collect();
        assert!(runs.len() >= 2);
        assert!(
            runs.iter()
                .all(|e| ("08:00"..="20:59").contains(&&e.local[11..16]))
        );
        assert!(t.days[0].cellular_bytes <= policy.daily_budget_bytes);
        Ok(())
    }
}
