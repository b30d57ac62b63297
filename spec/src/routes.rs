//! HTTP routes of the collector, as absolute paths. Clients join them to a base URL
//! without the leading `/` (a collector may live under a path prefix).

/// `POST`: one result document in, one [`crate::upload::Confirmation`] out.
pub const RESULTS: &str = "/v1/results";

/// `GET ?date=YYYY-MM-DD&area=...`: one day's [`crate::campaign::Progress`] as JSON.
pub const CAMPAIGN_PROGRESS: &str = "/v1/campaign/progress";

/// `GET ?date=YYYY-MM-DD&area=...`: the same count as a page for phones.
pub const CAMPAIGN_PAGE: &str = "/campaign";

/// `GET ?area=CODE&period=YYYY-MM[&operator=MCC-MNC]`: [`crate::stats::Stats`] as JSON.
pub const STATS: &str = "/v1/stats";

/// `GET`: the quality statistics as a page for officials and the public.
pub const STATS_PAGE: &str = "/stats";

/// `GET /v1/opendata/YYYY-MM.csv`: one row per counted sample of a month
/// (`docs/opendata.md`). The route captures `YYYY-MM.csv` as `{file}`.
pub const OPENDATA: &str = "/v1/opendata/{file}";

/// A route relative to a base URL: `/v1/results` becomes `v1/results`.
pub fn relative(route: &str) -> &str {
    route.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_absolute_and_relative_drops_the_slash() {
        for r in [
            RESULTS,
            CAMPAIGN_PROGRESS,
            CAMPAIGN_PAGE,
            STATS,
            STATS_PAGE,
            OPENDATA,
        ] {
            assert!(r.starts_with('/'));
            assert_eq!(format!("/{}", relative(r)), r);
        }
    }
}
