//! Bringing a site under a config: [`export`] writes the config of a live
//! site; [`import_csv`] adds the users of a spreadsheet to a config.

pub mod export;
pub mod import_csv;
