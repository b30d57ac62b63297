//! How progress reaches the person at the terminal: bars and a summary for humans,
//! nothing but the result document for `--json`.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use ispeed_core::measure::{Phase, ProgressEvent, ProgressListener};
use ispeed_core::{MeasureConfig, MeasurementResult};

/// Progress bars on stderr, one per phase.
pub struct Human {
    config: MeasureConfig,
    bar: Mutex<Option<ProgressBar>>,
}

impl Human {
    /// Bars sized for `config`'s budgets.
    pub fn new(config: &MeasureConfig) -> Self {
        Self {
            config: config.clone(),
            bar: Mutex::new(None),
        }
    }

    fn new_bar(&self, phase: Phase) -> ProgressBar {
        let len = match phase {
            Phase::Latency => u64::from(self.config.latency_samples),
            Phase::Download => self.config.download.max_duration.as_millis() as u64,
            Phase::Upload => self.config.upload.max_duration.as_millis() as u64,
        };
        let bar = ProgressBar::new(len);
        let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(phase.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

impl ProgressListener for Human {
    fn on_event(&self, event: &ProgressEvent) {
        let mut slot = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::PhaseStarted { phase } => {
                if let Some(old) = slot.take() {
                    old.finish();
                }
                *slot = Some(self.new_bar(*phase));
            }
            ProgressEvent::Rtt {
                phase: Phase::Latency,
                rtt_ms,
            } => {
                if let Some(bar) = slot.as_ref() {
                    bar.inc(1);
                    bar.set_message(format!("{rtt_ms:.1} ms"));
                }
            }
            ProgressEvent::Rtt { .. } => {}
            ProgressEvent::Interval {
                elapsed_ms,
                mbps,
                estimate_mbps,
                bytes,
                ..
            } => {
                if let Some(bar) = slot.as_ref() {
                    bar.set_position(*elapsed_ms);
                    let est = estimate_mbps
                        .map_or(String::from("ramping up"), |e| format!("{e:.1} Mbit/s"));
                    bar.set_message(format!(
                        "{est} (now {mbps:.1}) {:.1} MB",
                        *bytes as f64 / 1e6
                    ));
                }
            }
            ProgressEvent::PhaseFinished { phase, value } => {
                if let Some(bar) = slot.take() {
                    bar.set_position(bar.length().unwrap_or(0));
                    let unit = if *phase == Phase::Latency {
                        "ms"
                    } else {
                        "Mbit/s"
                    };
                    bar.finish_with_message(format!("{value:.1} {unit}"));
                }
            }
        }
    }
}

impl Drop for Human {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.abandon();
        }
    }
}

/// The readable summary printed after a measurement.
pub fn summary(r: &MeasurementResult) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("Result {}", r.id));
    line(format!(
        "  server    {} ({})",
        r.server.url, r.server.protocol
    ));
    line(format!(
        "  network   {}",
        crate::platform::describe(&r.network)
    ));
    crate::platform::summary_lines(r)
        .into_iter()
        .for_each(&mut line);
    if let Some(l) = &r.latency {
        line(format!(
            "  latency   {:.1} ms median (min {:.1}, p90 {:.1}, jitter {:.1}; {} samples)",
            l.median_ms, l.min_ms, l.p90_ms, l.jitter_ms, l.samples
        ));
    }
    for (name, t) in [("download", &r.download), ("upload", &r.upload)] {
        if let Some(t) = t {
            let loaded = t
                .loaded_latency_ms
                .map_or(String::new(), |l| format!(", {l:.0} ms under load"));
            line(format!(
                "  {name:<9} {:.2} Mbit/s ({:.1} MB in {:.1} s, {} streams, {:?}{loaded})",
                t.mbps,
                t.bytes as f64 / 1e6,
                t.duration_ms as f64 / 1000.0,
                t.streams,
                t.stop_reason,
            ));
        }
    }
    if !r.valid {
        line(format!(
            "  INVALID   {}",
            r.invalid_reason.as_deref().unwrap_or("no reason given")
        ));
    }
    out
}
