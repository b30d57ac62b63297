//! Settings of this installation, kept in the store's `settings` table: the random
//! install id and the campaign area ([`crate::participant`]).
//!
//! Each setting is one row, its value JSON, so a setting added later needs no
//! migration. The install id is drawn the first time anyone asks for it, inside the
//! write transaction that stores it: two processes asking at once get the same id.
//! Every method is a plain call on [`Store`], so the FFI facade forwards each in one
//! line.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::Store;
use crate::error::Result;
use crate::participant::{Area, MeasureMode, Participant};
use crate::result::MeasurementResult;

/// Key of the install id.
const INSTALL_ID: &str = "install_id";

/// Key of the campaign area.
pub(super) const AREA: &str = "area";

/// What [`Store::set_area_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaSetting {
    /// No area was set; this one is now.
    Stored,
    /// The same area was already set; nothing changed.
    Unchanged,
    /// Another area was already set and was kept.
    Kept(Area),
}

pub(super) fn get<T: DeserializeOwned>(
    tx: &rusqlite::Connection,
    key: &str,
) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = tx
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}

pub(super) fn put<T: Serialize>(
    tx: &Transaction<'_>,
    key: &str,
    value: &T,
) -> rusqlite::Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, text],
    )?;
    Ok(())
}

impl Store {
    /// The random id of this installation, drawn (uuid v4) and stored on first use.
    /// It identifies an install to the collector's counts, never a device or person:
    /// a new install, or a new database, is a new id.
    pub fn install_id(&self) -> Result<Uuid> {
        self.write(|tx| match get::<Uuid>(tx, INSTALL_ID)? {
            Some(id) => Ok(id),
            None => {
                let id = Uuid::new_v4();
                put(tx, INSTALL_ID, &id)?;
                Ok(id)
            }
        })
    }

    /// A setting stored under `key` by [`Store::put_setting`], if any.
    pub(crate) fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.read(|c| get(c, key))
    }

    /// Stores `value` under `key`, replacing what was there, in one transaction.
    pub(crate) fn put_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.write(|tx| put(tx, key, value))
    }

    /// Stores `value` under `key` unless a value is there already; whether it did.
    pub(crate) fn put_setting_once<T: Serialize>(&self, key: &str, value: &T) -> Result<bool> {
        self.write(|tx| {
            let exists: Option<String> = tx
                .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_some() {
                return Ok(false);
            }
            put(tx, key, value).map(|()| true)
        })
    }

    /// The campaign area chosen, if any. An area chosen as free text (before areas
    /// were codes) is matched to a commune code once, where the match is unique
    /// ([`super::area_code`]).
    pub fn area(&self) -> Result<Option<Area>> {
        self.area_with_code()
    }

    /// Sets (or replaces) the campaign area, after checking it (a commune code fills
    /// its official names, [`crate::areas::with_official_names`]). Samples already
    /// stored keep the area they were measured with.
    pub fn set_area(&self, area: Area) -> Result<()> {
        let area = crate::areas::with_official_names(area)?.validated()?;
        self.write(|tx| put(tx, AREA, &area))
    }

    /// Sets the campaign area unless one is set already: a participant chooses it once,
    /// and a later, different choice does not silently move their samples.
    pub fn set_area_once(&self, area: Area) -> Result<AreaSetting> {
        let area = crate::areas::with_official_names(area)?.validated()?;
        self.write(|tx| match get::<Area>(tx, AREA)? {
            None => put(tx, AREA, &area).map(|()| AreaSetting::Stored),
            Some(old) if old == area => Ok(AreaSetting::Unchanged),
            Some(old) => Ok(AreaSetting::Kept(old)),
        })
    }

    /// Forgets the campaign area.
    pub fn clear_area(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM settings WHERE key = ?1", [AREA])
                .map(|_| ())
        })
    }

    /// The `participant` object of this installation's result documents.
    pub fn participant(&self) -> Result<Participant> {
        Ok(Participant {
            install_id: self.install_id()?,
            area: self.area()?,
        })
    }

    /// Marks a finished measurement with this installation's participant and the
    /// `mode` it was started in, before it is stored and sent.
    pub fn stamp(&self, result: &mut MeasurementResult, mode: MeasureMode) -> Result<()> {
        result.participant = Some(self.participant()?);
        result.mode = Some(mode);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::network::Transport;
    use crate::store::testing::{TempDir, result};

    #[test]
    fn the_install_id_is_drawn_once_and_survives_reopening() -> Result<()> {
        let dir = TempDir::new("settings-id");
        let path = dir.file("a.db");
        let id = Store::open(&path)?.install_id()?;
        assert_eq!(id.get_version_num(), 4);
        let store = Store::open(&path)?;
        assert_eq!(store.install_id()?, id);
        assert_eq!(store.install_id()?, id);
        // Another database is another install.
        assert_ne!(Store::open(dir.file("b.db"))?.install_id()?, id);
        Ok(())
    }

    #[test]
    fn two_processes_asking_at_once_share_one_id() -> Result<()> {
        let dir = TempDir::new("settings-race");
        let path = dir.file("a.db");
        Store::open(&path)?;
        let ids: Vec<Uuid> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| Store::open(&path).and_then(|st| st.install_id())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect::<Result<_>>()
        })?;
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        Ok(())
    }

    #[test]
    fn the_area_is_set_once_unless_replaced() -> Result<()> {
        let dir = TempDir::new("settings-area");
        let store = Store::open(dir.file("a.db"))?;
        assert_eq!(store.area()?, None);
        let first = Area::parse("Hà Nội/Ba Vì/Tản Lĩnh/Thôn 3")?;
        let other = Area::parse("Hà Nội/Ba Vì/Ba Trại")?;
        assert_eq!(store.set_area_once(first.clone())?, AreaSetting::Stored);
        assert_eq!(store.set_area_once(first.clone())?, AreaSetting::Unchanged);
        assert_eq!(
            store.set_area_once(other.clone())?,
            AreaSetting::Kept(first.clone())
        );
        assert_eq!(store.area()?, Some(first));
        store.set_area(other.clone())?;
        assert_eq!(store.area()?, Some(other));
        store.clear_area()?;
        assert_eq!(store.area()?, None);
        let bad = Area {
            district: Some("Ba Vì".to_owned()),
            ..Area::default()
        };
        assert_eq!(
            store.set_area(bad).map_err(|e| e.code()),
            Err("invalid_area")
        );
        Ok(())
    }

    #[test]
    fn a_stamped_document_carries_participant_and_mode_through_the_store() -> Result<()> {
        let dir = TempDir::new("settings-stamp");
        let store = Store::open(dir.file("a.db"))?;
        store.set_area(Area::parse("province=Hà Nội,commune=Tản Lĩnh")?)?;
        let mut r = result(
            "2026-05-04T02:00:00Z",
            Transport::Cellular,
            40.0,
            10.0,
            30.0,
        );
        store.stamp(&mut r, MeasureMode::Auto)?;
        store.save_result(&r)?;
        let back = store.result(r.id)?.expect("stored document");
        let p = back.participant.expect("participant");
        assert_eq!(p.install_id, store.install_id()?);
        assert_eq!(p.area.and_then(|a| a.commune).as_deref(), Some("Tản Lĩnh"));
        assert_eq!(back.mode, Some(MeasureMode::Auto));
        let json = serde_json::to_value(&r).map_err(|e| Error::Config(e.to_string()))?;
        assert_eq!(json["mode"], "auto");
        assert_eq!(json["participant"]["area"]["province"], "Hà Nội");
        assert_eq!(json["schema"], "ispeed.result/1");
        Ok(())
    }
}
