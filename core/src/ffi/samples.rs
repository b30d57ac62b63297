//! The stored samples, as the apps read and send them: history, per-day statistics,
//! export, and the flush of pending uploads to the collector.

use std::path::Path;
use std::sync::Arc;

use super::Engine;
use super::error::IspeedError;
use super::runtime;
use super::types::{Measurement, RejectedSample, UploadReport};
use crate::store::{DaySummary, ExportFormat};

#[uniffi::export(async_runtime = "tokio")]
impl Engine {
    /// The `limit` most recent stored measurements, newest first.
    pub fn history(&self, limit: u32) -> Result<Vec<Measurement>, IspeedError> {
        let store = &self.session().store();
        store
            .recent(limit)?
            .into_iter()
            .filter_map(|row| store.result(row.id).transpose())
            .map(|r| Measurement::try_from(&r?))
            .collect()
    }

    /// One summary per local day (the platform's time zone) of the last `days` days
    /// that has samples or failed attempts, oldest first; the date as `YYYY-MM-DD`.
    pub fn daily_summaries(&self, days: u32) -> Result<Vec<DaySummary>, IspeedError> {
        let tz = self.session().time_zone()?;
        let to = self.session().now();
        let from = to - chrono::Duration::days(i64::from(days));
        Ok(self.session().store().daily_summaries(&tz, from, to)?)
    }

    /// Writes every stored sample to the file `path` (CSV with a header row, or one
    /// result document per line), replacing it only once complete. Returns the
    /// number of samples written.
    pub fn export(&self, format: ExportFormat, path: String) -> Result<u32, IspeedError> {
        let written = self
            .session()
            .store()
            .export_to_file(format, Path::new(&path))?;
        Ok(u32::try_from(written).unwrap_or(u32::MAX))
    }

    /// Sends every pending sample to the collector (the settings', else the profile's),
    /// oldest first, now (whatever the backoff between automatic runs),
    /// retrying with backoff; a sample is marked sent only once the collector has
    /// confirmed it. Fails (with nothing lost) when no collector is set, or when the
    /// collector could not be reached: a background job then retries later.
    pub async fn flush_uploads(&self) -> Result<UploadReport, IspeedError> {
        let session = Arc::clone(self.session());
        if session.uploader()?.is_none() {
            return Err(IspeedError::from(crate::Error::Config(
                "no collector is set: set the collector URL in the settings".to_owned(),
            )));
        }
        let summary = runtime::run(async move { session.upload(true).await }).await?;
        if let Some(error) = summary.error {
            return Err(error.into());
        }
        Ok(UploadReport {
            sent: summary.sent.iter().map(ToString::to_string).collect(),
            rejected: summary
                .rejected
                .into_iter()
                .map(|(id, reason)| RejectedSample {
                    id: id.to_string(),
                    reason,
                })
                .collect(),
            not_counted: summary
                .judged_rejected
                .into_iter()
                .map(|(id, reason)| RejectedSample {
                    id: id.to_string(),
                    reason: format!("{}: {}", reason.as_str(), reason.meaning()),
                })
                .collect(),
            remaining: u32::try_from(summary.remaining).unwrap_or(u32::MAX),
        })
    }
}
