//! The campaign options of `measure` and `demo`: `--area SPEC` (stored in the
//! settings the first time) and `--collector URL` (the session uploads to it right
//! after measuring).

use clap::Args;
use ispeed_core::store::{AreaSetting, Store};

/// Campaign participation on a measuring command.
#[derive(Debug, Clone, Default, Args)]
pub struct ParticipationArgs {
    /// Campaign area of this install, stored the first time and sent with every
    /// sample: an official commune code (5755; find it with `ispeed campaign area
    /// --search`), key=value pairs ("code=5755,hamlet=Thôn 3", "org=THPT Ba Vì",
    /// "province=Hà Nội,commune=Tản Lĩnh"), or `province/district/commune[/hamlet]`.
    #[arg(long, value_name = "SPEC")]
    pub area: Option<String>,
    /// Send the samples not yet confirmed to this collector right after measuring
    /// (POST {URL}/v1/results).
    #[arg(long, value_name = "URL")]
    pub collector: Option<String>,
}

impl ParticipationArgs {
    /// Stores `--area` in the settings unless an area is set already. Runs before
    /// measuring, so a mistyped area costs no mobile data.
    pub fn apply_area(&self, store: &Store) -> Result<(), String> {
        let Some(spec) = &self.area else {
            return Ok(());
        };
        let area = ispeed_core::areas::parse_area(spec).map_err(|e| e.to_string())?;
        match store.set_area_once(area).map_err(|e| e.to_string())? {
            AreaSetting::Stored => {
                let area = store.area().map_err(|e| e.to_string())?;
                eprintln!(
                    "campaign area set to {}",
                    area.map(|a| a.to_string()).unwrap_or_default()
                );
                Ok(())
            }
            AreaSetting::Unchanged => Ok(()),
            AreaSetting::Kept(old) => Err(format!(
                "this install's campaign area is already \"{old}\"; \
                 change it with `ispeed campaign area --set SPEC`, or leave out --area"
            )),
        }
    }
}
